// The Socket.IO client side of bench/fanout.sh: a member on instance A emits 200-byte room
// events at RATE/s; a member of the same room on instance B times their arrival. Prints the same
// line as bench/ws_load.cpp's relay mode.
//   node socketio_client.js PORT_A PORT_B RATE SECONDS
'use strict';
const { io } = require('socket.io-client');
const { paceSends, latencies } = require('./paced');

const [portA, portB, rate, seconds] = process.argv.slice(2).map(Number);
const room = 'bench-room';
const total = rate * seconds;

function connect(port) {
  return new Promise((resolve) => {
    const s = io(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
    s.on('connect', () => s.emit('join', room, () => resolve(s)));
  });
}

async function main() {
  const [a, b] = await Promise.all([connect(portA), connect(portB)]);
  await new Promise((r) => setTimeout(r, 500));
  const arrived = latencies(total, seconds);
  const pad = 'x'.repeat(150);
  let sent = [];
  b.on('room_event', (e) => arrived(sent[e.seq]));
  sent = paceSends(total, rate, (seq) => a.emit('room_event', { room, seq, pad }));
}
main();
