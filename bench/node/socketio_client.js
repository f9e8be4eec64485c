// The Socket.IO client side of bench/fanout.sh: a member on instance A emits 200-byte room
// events at RATE/s; a member of the same room on instance B times their arrival. Prints the same
// line as bench/ws_load.cpp's relay mode.
//   node socketio_client.js PORT_A PORT_B RATE SECONDS
'use strict';
const { io } = require('socket.io-client');

const [portA, portB, rate, seconds] = process.argv.slice(2).map(Number);
const room = 'bench-room';
const total = rate * seconds;
const sent = new Array(total);
const rtts = [];

function connect(port) {
  return new Promise((resolve) => {
    const s = io(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
    s.on('connect', () => s.emit('join', room, () => resolve(s)));
  });
}

function report() {
  rtts.sort((x, y) => x - y);
  const pct = (q) => (rtts.length ? rtts[Math.floor(q * (rtts.length - 1))] : 0);
  console.log(`samples ${rtts.length} p50 ${pct(0.5).toFixed(1)} p90 ${pct(0.9).toFixed(1)} ` +
              `p99 ${pct(0.99).toFixed(1)} p999 ${pct(0.999).toFixed(1)} ` +
              `max ${(rtts[rtts.length - 1] || 0).toFixed(1)} lost ${total - rtts.length}`);
  process.exit(0);
}

async function main() {
  const [a, b] = await Promise.all([connect(portA), connect(portB)]);
  await new Promise((r) => setTimeout(r, 500));
  b.on('room_event', (e) => {
    rtts.push(Number(process.hrtime.bigint() - sent[e.seq]) / 1000);
    if (rtts.length === total) report();
  });
  const pad = 'x'.repeat(150);
  let i = 0;
  const intervalNs = BigInt(Math.round(1e9 / rate));
  let next = process.hrtime.bigint();
  (function tick() {
    const now = process.hrtime.bigint();
    while (i < total && now >= next) {
      sent[i] = process.hrtime.bigint();
      a.emit('room_event', { room, seq: i, pad });
      i += 1;
      next += intervalNs;
    }
    if (i < total) setImmediate(tick);
  })();
  setTimeout(report, (seconds + 5) * 1000);
}
main();
