// One websocket session to /ws/voice that comes back by itself: after an unexpected close it
// reconnects with exponential backoff and jitter (0.5 s doubling to 30 s), to the same room.
// Closes that mean "do not come back" (a revoked or expired share link, the turn limit, our own
// leave()) end it for good.
const FINAL_CLOSE_CODES = new Map([
  [4401, "the share link has expired"],
  [4403, "the share link was revoked"],
]);

// A credential rides in a subprotocol, never in the URL (which proxies and servers log).
const TCHARS = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

export class Connection {
  // params: query parameters of the upgrade (room_id, participant, ...); credential: {token} or
  // {share}. on: {event(msg), state(state, detail)}.
  constructor(params, credential, on) {
    this.params = { ...params };
    this.protocols = ["parley.v1"];
    for (const [name, value] of Object.entries(credential)) {
      if (TCHARS.test(value)) this.protocols.push(`parley.auth.${name}.${value}`);
      else this.params[name] = value; // not a valid subprotocol: the query it has to be
    }
    this.on = on;
    this.attempt = 0;
    this.everOpened = false;
    this.socket = null;
    this.timer = null;
    this.closedForGood = false;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams(Object.entries(this.params).filter(([, v]) => v !== ""));
    const socket = new WebSocket(`${scheme}//${location.host}/ws/voice?${query}`, this.protocols);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    this.on.state(this.attempt ? "reconnecting" : "connecting");
    socket.onopen = () => {
      this.attempt = 0;
      this.everOpened = true;
      this.on.state("open");
    };
    socket.onmessage = (e) => {
      if (typeof e.data !== "string") return;
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      if (msg.type === "ping") this.send({ type: "pong" });
      if (msg.type === "room_assigned" && msg.room_id) this.params.room_id = msg.room_id;
      this.on.event(msg);
    };
    socket.onclose = (e) => this.closed(socket, e);
  }

  closed(socket, e) {
    if (socket !== this.socket || this.closedForGood) return;
    const final = FINAL_CLOSE_CODES.get(e.code);
    if (final || e.reason === "max_turns_reached") {
      this.closedForGood = true;
      return this.on.state("closed", final || "the interview reached its turn limit");
    }
    const delay = Math.min(30000, 500 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    const why = this.everOpened
      ? `connection lost (${e.code})`
      : "cannot connect: is the server up, and the token valid?";
    this.on.state("waiting", `${why}; retrying in ${(delay / 1000).toFixed(1)} s`);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  get open() {
    return this.socket && this.socket.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (!this.open) return false;
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
    return true;
  }

  sendBinary(bytes) {
    if (!this.open || this.socket.bufferedAmount > 1 << 20) return false;  // audio waits for no one
    this.socket.send(bytes);
    return true;
  }

  leave() {
    this.closedForGood = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000, "leaving");
    this.on.state("closed", "you left the room");
  }
}
