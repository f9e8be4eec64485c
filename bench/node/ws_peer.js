// The Node `ws` peer for bench/ws_*.sh, listening on 127.0.0.1 only.
//   node ws_peer.js PORT            idle sessions; {"type":"ping"} answered with a pong;
//                                   {"type":"flood","frames":N,"bytes":B} broadcasts N frames of B
//                                   bytes to every session, by ws's best path for a broadcast (each
//                                   frame encoded once; a client's frames of one tick coalesced into
//                                   one write by cork/uncork), bounded by each client's buffer.
'use strict';
const { WebSocketServer, Sender } = require('ws');

const port = Number(process.argv[2] || 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, clientTracking: true });
wss.on('listening', () => console.log(`listening on http://127.0.0.1:${wss.address().port}`));

const HIGH_WATER = 256 * 1024;

// Queues one encoded frame for a client; every frame queued in this tick leaves in one write
// (cork now, uncork once the tick's work is done).
function queue(client, frame) {
  const socket = client._socket;
  if (!client.corked) {
    client.corked = true;
    socket.cork();
    setImmediate(() => { client.corked = false; socket.uncork(); });
  }
  socket.write(frame);
}

// Broadcasts `frames` frames one at a time, like an application would, up to 64 per tick and
// only while every client has less than HIGH_WATER bytes buffered.
function flood(frames, bytes) {
  const payload = Buffer.from(JSON.stringify({ type: 'bench', pad: 'x'.repeat(Math.max(0, bytes - 26)) }));
  const frame = Buffer.concat(Sender.frame(payload, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false }));
  const clients = [...wss.clients];
  let sent = 0;
  function pump() {
    let deepest = 0;
    for (const c of clients) deepest = Math.max(deepest, c._socket.writableLength);
    if (deepest <= HIGH_WATER) {
      const batch = Math.min(64, frames - sent);
      for (let i = 0; i < batch; i++) for (const c of clients) queue(c, frame);
      sent += batch;
    }
    if (sent < frames) setImmediate(pump);
  }
  pump();
}

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (msg.type === 'ping') ws.send('{"type":"pong"}');
    else if (msg.type === 'flood') flood(msg.frames, msg.bytes);
  });
});
process.on('SIGTERM', () => process.exit(0));
