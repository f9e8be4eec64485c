// The Node client of parleyd for bench/fanout.sh: the same measurement as socketio_client.js, with
// the same runtime and a plain websocket client (`ws`), so that both servers are timed by the same
// kind of client. A member on instance A sends 200-byte room events at RATE/s; a member of the same
// room on instance B times their arrival. Prints the same line as bench/ws_load.cpp's relay mode.
//   node parleyd_client.js PORT_A PORT_B PATH RATE SECONDS
'use strict';
const WebSocket = require('ws');
const { paceSends, latencies } = require('./paced');

const [portA, portB, path, rateArg, secondsArg] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const total = rate * seconds;

function connect(port) {
  return new Promise((resolve, reject) => {
    const s = new WebSocket(`ws://127.0.0.1:${port}${path}`, ['parley.v1'], { perMessageDeflate: false });
    s.on('open', () => resolve(s));
    s.on('error', reject);
  });
}

async function main() {
  const [a, b] = await Promise.all([connect(portA), connect(portB)]);
  await new Promise((r) => setTimeout(r, 500));  // both joined, B subscribed
  const arrived = latencies(total, seconds);
  const pad = 'x'.repeat(150);
  let sent = [];
  a.on('message', () => {});  // A's own events come back (local members); read and drop them
  b.on('message', (data) => {
    const e = JSON.parse(data);
    if (e.type === 'room_event') arrived(sent[e.seq]);
  });
  sent = paceSends(total, rate, (seq) => a.send(JSON.stringify({ type: 'room_event', seq, pad })));
}
main().catch((e) => { console.error(`parleyd_client: ${e.message}`); process.exit(1); });
