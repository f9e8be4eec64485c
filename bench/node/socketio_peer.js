// The Socket.IO 4 peer for bench/fanout.sh: a server on 127.0.0.1 with @socket.io/redis-adapter,
// relaying a client's 'room_event' to its room on every instance (the sender's instance included,
// as parleyd's rooms do).
//   node socketio_peer.js REDIS_PORT
'use strict';
const http = require('http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');

async function main() {
  const redisUrl = `redis://127.0.0.1:${process.argv[2]}`;
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const server = http.createServer();
  const io = new Server(server, { adapter: createAdapter(pub, sub), transports: ['websocket'] });
  io.on('connection', (socket) => {
    socket.on('join', (room, ack) => { socket.join(room); if (ack) ack(); });
    socket.on('room_event', (event) => io.to(event.room).emit('room_event', event));
  });
  server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
  process.on('SIGTERM', () => process.exit(0));
}
main();
