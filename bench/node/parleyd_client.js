// The Node client of parleyd for bench/fanout.sh: the same measurement as socketio_client.js, with
// the same runtime and a plain websocket client (`ws`), so that both servers are timed by the same
// kind of client. A member on instance A sends 200-byte room events at RATE/s; a member of the same
// room on instance B times their arrival. Prints the same line as bench/ws_load.cpp's relay mode.
//   node parleyd_client.js PORT_A PORT_B PATH RATE SECONDS
'use strict';
const WebSocket = require('ws');

const [portA, portB, path, rateArg, secondsArg] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const total = rate * seconds;
const sent = new Array(total);
const rtts = [];

function connect(port) {
  return new Promise((resolve, reject) => {
    const s = new WebSocket(`ws://127.0.0.1:${port}${path}`, ['parley.v1'], { perMessageDeflate: false });
    s.on('open', () => resolve(s));
    s.on('error', reject);
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
  await new Promise((r) => setTimeout(r, 500));  // both joined, B subscribed
  a.on('message', () => {});  // A's own events come back (local members); read and drop them
  b.on('message', (data) => {
    const e = JSON.parse(data);
    if (e.type !== 'room_event') return;
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
      a.send(JSON.stringify({ type: 'room_event', seq: i, pad }));
      i += 1;
      next += intervalNs;
    }
    if (i < total) setImmediate(tick);
  })();
  setTimeout(report, (seconds + 5) * 1000);
}
main().catch((e) => { console.error(`parleyd_client: ${e.message}`); process.exit(1); });
