// The test host's upstreams: each connection a plugin opens is a scripted peer the test plays.
#include "host_state.hpp"

namespace parley::sdk::testing {

const WebSocketRequest& ScriptedWebSocket::request() const {
  return impl_->request;
}
void ScriptedWebSocket::accept(const Fields& headers, const std::string& subprotocol) {
  if (!impl_->live()) return;
  impl_->open = true;
  if (auto cb = impl_->callbacks.on_open) cb(headers, subprotocol);
}
void ScriptedWebSocket::refuse(int status, const std::string& body) {
  UpstreamResult r;
  r.kind = UpstreamResult::Kind::kStatus;
  r.status = status;
  r.body = body;
  r.message = "the websocket handshake was answered with HTTP " + std::to_string(status);
  impl_->end(r);
}
void ScriptedWebSocket::fail(UpstreamResult::Kind kind, const std::string& message) {
  UpstreamResult r;
  r.kind = kind;
  r.message = message;
  impl_->end(r);
}
void ScriptedWebSocket::sendText(const std::string& text) {
  if (!impl_->live() || !impl_->open) return;
  if (auto cb = impl_->callbacks.on_text) cb(text);
}
void ScriptedWebSocket::sendBinary(const std::string& bytes) {
  if (!impl_->live() || !impl_->open) return;
  if (auto cb = impl_->callbacks.on_binary) cb(bytes);
}
void ScriptedWebSocket::close(int code, const std::string& reason) {
  UpstreamResult r;
  r.kind = UpstreamResult::Kind::kOk;
  r.status = code;
  r.reason = reason;
  r.message = "closed by the peer";
  impl_->end(r);
}
const std::vector<std::string>& ScriptedWebSocket::textsReceived() const {
  return impl_->texts;
}
std::size_t ScriptedWebSocket::binaryBytesReceived() const {
  return impl_->binary_bytes;
}
std::size_t ScriptedWebSocket::binaryFramesReceived() const {
  return impl_->binary_frames;
}
bool ScriptedWebSocket::clientClosed() const {
  return impl_->client_closed;
}
int ScriptedWebSocket::clientCloseCode() const {
  return impl_->close_code;
}
bool ScriptedWebSocket::dropped() const {
  return impl_->dropped;
}
bool ScriptedWebSocket::readingPaused() const {
  return impl_->paused;
}
void ScriptedWebSocket::setQueuedBytes(std::size_t bytes) {
  impl_->queued = bytes;
}
void ScriptedWebSocket::drained() {
  impl_->queued = 0;
  if (impl_->live())
    if (auto cb = impl_->callbacks.on_drain) cb();
}

namespace {
class FakeWebSocketClient final : public WebSocketClient {
 public:
  explicit FakeWebSocketClient(std::shared_ptr<ScriptedWebSocket::Impl> peer)
      : peer_(std::move(peer)) {}
  ~FakeWebSocketClient() override {
    peer_->dropped = true;
    peer_->callbacks = {};
  }
  bool sendText(std::string_view text) override {
    if (!peer_->open || peer_->ended || peer_->client_closed) return false;
    peer_->texts.emplace_back(text);
    return true;
  }
  bool sendBinary(std::string_view bytes) override {
    if (!peer_->open || peer_->ended || peer_->client_closed) return false;
    peer_->binary_bytes += bytes.size();
    ++peer_->binary_frames;
    return true;
  }
  std::size_t queuedBytes() const override { return peer_->queued; }
  void drainThreshold(std::size_t) override {}
  void close(int code, std::string_view) override {
    peer_->client_closed = true;
    peer_->close_code = code;
  }
  bool open() const override { return peer_->open && !peer_->ended; }
  void pauseReading() override { peer_->paused = true; }
  void resumeReading() override { peer_->paused = false; }

 private:
  std::shared_ptr<ScriptedWebSocket::Impl> peer_;
};
}  // namespace

const HttpRequest& ScriptedHttp::request() const {
  return impl_->request;
}
void ScriptedHttp::respond(int status, const Fields& headers) {
  impl_->status = status;
  if (impl_->live())
    if (auto cb = impl_->callbacks.on_head) cb(status, headers);
}
void ScriptedHttp::body(const std::string& piece) {
  if (impl_->live())
    if (auto cb = impl_->callbacks.on_body) cb(piece);
}
void ScriptedHttp::finish() {
  if (!impl_->live()) return;
  impl_->ended = true;
  UpstreamResult r;
  r.status = impl_->status;
  r.message = "complete";
  if (auto cb = impl_->callbacks.on_done) cb(r);
}
void ScriptedHttp::fail(UpstreamResult::Kind kind, const std::string& message) {
  if (!impl_->live()) return;
  impl_->ended = true;
  UpstreamResult r;
  r.kind = kind;
  r.message = message;
  r.status = impl_->status;
  if (auto cb = impl_->callbacks.on_done) cb(r);
}
bool ScriptedHttp::cancelled() const {
  return impl_->cancelled;
}
bool ScriptedHttp::readingPaused() const {
  return impl_->paused;
}

namespace {
class FakeHttpExchange final : public HttpExchange {
 public:
  explicit FakeHttpExchange(std::shared_ptr<ScriptedHttp::Impl> peer) : peer_(std::move(peer)) {}
  ~FakeHttpExchange() override {
    peer_->cancelled = !peer_->ended;
    peer_->callbacks = {};
  }
  void pauseReading() override { peer_->paused = true; }
  void resumeReading() override { peer_->paused = false; }

 private:
  std::shared_ptr<ScriptedHttp::Impl> peer_;
};
}  // namespace

std::unique_ptr<WebSocketClient> openScriptedWebSocket(HostState& host, Scope& scope,
                                                       WebSocketRequest request,
                                                       WebSocketCallbacks callbacks) {
  auto peer = std::make_shared<ScriptedWebSocket::Impl>();
  peer->request = std::move(request);
  peer->callbacks = std::move(callbacks);
  peer->scope = std::shared_ptr<Scope>(&scope, [](Scope*) {});
  host.web_sockets.push_back(peer);
  return std::make_unique<FakeWebSocketClient>(peer);
}

std::unique_ptr<HttpExchange> openScriptedHttp(HostState& host, Scope& scope, HttpRequest request,
                                               HttpCallbacks callbacks) {
  auto peer = std::make_shared<ScriptedHttp::Impl>();
  peer->request = std::move(request);
  peer->callbacks = std::move(callbacks);
  peer->scope = std::shared_ptr<Scope>(&scope, [](Scope*) {});
  host.http_requests.push_back(peer);
  return std::make_unique<FakeHttpExchange>(peer);
}

}  // namespace parley::sdk::testing
