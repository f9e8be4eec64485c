// The websocket client: the opening handshake (RFC 6455 4.1), masked frames out, unmasked frames
// in, ping/pong and the close handshake, over a ClientStream.
#include <openssl/rand.h>

#include "core/net/scope.hpp"
#include "core/upstream/entry.hpp"
#include "core/upstream/response_parser.hpp"
#include "core/upstream/upstream_client.hpp"
#include "core/ws/frame.hpp"
#include "core/ws/handshake.hpp"

namespace parley::core {

namespace {

using Kind = sdk::UpstreamResult::Kind;
using ws::Opcode;
constexpr auto kCloseGrace = std::chrono::seconds(2);
constexpr std::size_t kMaxRefusalBody = 4096;

bool safeHeader(const std::string& s) {
  return s.find_first_of("\r\n") == std::string::npos && s.find('\0') == std::string::npos;
}

class WsUpstream final : public ClientStream::Listener,
                         public std::enable_shared_from_this<WsUpstream> {
 public:
  WsUpstream(UpstreamClient& client, net::LoopScope& scope, Endpoint endpoint,
             sdk::WebSocketRequest request, sdk::WebSocketCallbacks callbacks)
      : client_(client),
        scope_(scope.shared_from_this()),
        endpoint_(std::move(endpoint)),
        request_(std::move(request)),
        callbacks_(std::move(callbacks)),
        key_(ws::newKey()),
        frames_(request_.max_message_bytes, ws::FrameParser::Role::kClient),
        drain_threshold_(request_.max_send_queue_bytes / 2) {}

  void start() {
    std::weak_ptr<WsUpstream> weak = weak_from_this();
    close_id_ = scope_->atClose([weak] {
      if (auto self = weak.lock()) self->drop();
    });
    stream_ = client_.stream(*scope_, endpoint_, request_.timeouts, weak);
    stream_->start();
  }

  // The plugin's handle, on the scope thread.
  bool send(Opcode opcode, std::string_view payload) {
    if (state_ != State::kOpen) return false;
    std::uint8_t mask[4];
    RAND_bytes(mask, sizeof mask);
    const std::string frame = ws::encodeFrame(opcode, payload, mask);
    if (stream_->pending() + frame.size() > request_.max_send_queue_bytes) return false;
    stream_->write(frame);
    if (stream_->pending() >= drain_threshold_) above_threshold_ = true;
    return true;
  }
  std::size_t queued() const { return stream_ ? stream_->pending() : 0; }
  void drainThreshold(std::size_t bytes) { drain_threshold_ = bytes; }
  bool open() const { return state_ == State::kOpen; }
  void pause() {
    if (stream_) stream_->pauseReading();
  }
  void resume() {
    if (stream_) stream_->resumeReading();
  }

  void close(int code, std::string_view reason) {
    if (state_ != State::kOpen) {
      if (state_ != State::kClosing && state_ != State::kDone)
        finish(result(Kind::kOk, "closed before the handshake completed", code));
      return;
    }
    std::uint8_t mask[4];
    RAND_bytes(mask, sizeof mask);
    stream_->write(ws::encodeClose(static_cast<std::uint16_t>(code), reason, mask));
    state_ = State::kClosing;
    std::weak_ptr<WsUpstream> weak = weak_from_this();
    close_timer_ =
        scope_->after(std::chrono::duration_cast<std::chrono::milliseconds>(kCloseGrace), [weak] {
          if (auto self = weak.lock())
            self->finish(self->result(Kind::kTimeout, "the peer did not answer the close", 0));
        });
  }

  // The handle was dropped, or the scope closed: the socket closes now, nothing is called again.
  void drop() {
    callbacks_.drop();
    close_timer_.cancel();
    if (stream_) stream_->close();
    if (close_id_) scope_->forget(close_id_);
    close_id_ = 0;
    if (state_ == State::kOpen || state_ == State::kClosing) client_.instruments().open->sub(1);
    state_ = State::kDone;
  }

  // ClientStream::Listener
  void onConnected() override {
    std::string req =
        "GET " + endpoint_.target + " HTTP/1.1\r\nHost: " + endpoint_.hostHeader() +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key_ +
        "\r\nSec-WebSocket-Version: 13\r\n";
    if (!request_.subprotocols.empty()) {
      req += "Sec-WebSocket-Protocol: ";
      for (std::size_t i = 0; i < request_.subprotocols.size(); ++i)
        req += (i ? ", " : "") + request_.subprotocols[i];
      req += "\r\n";
    }
    for (const auto& [name, value] : request_.headers)
      if (safeHeader(name) && safeHeader(value)) req += name + ": " + value + "\r\n";
    req += "\r\n";
    state_ = State::kHandshake;
    stream_->write(req);
    stream_->awaitFirstByte();
  }

  void onData(std::string_view bytes) override {
    auto keep = shared_from_this();
    in_.append(bytes);
    if (state_ == State::kHandshake && !handshakeDone()) return;
    std::vector<ws::Message> messages;
    const std::size_t used =
        frames_.parse(reinterpret_cast<const std::uint8_t*>(in_.data()), in_.size(), messages);
    in_.erase(0, used);
    for (auto& m : messages) {
      if (state_ == State::kDone) return;
      message(m);
    }
    if (frames_.failed() && state_ != State::kDone) {
      std::uint8_t mask[4];
      RAND_bytes(mask, sizeof mask);
      stream_->write(ws::encodeClose(frames_.failureCode(), frames_.failureReason(), mask));
      finish(result(Kind::kProtocol, "bad frame from the peer: " + frames_.failureReason(), 0));
    }
  }

  void onDrained() override {
    if (!above_threshold_ || state_ != State::kOpen) return;
    above_threshold_ = false;
    callbacks_.call([](sdk::WebSocketCallbacks& cb) {
      if (cb.on_drain) cb.on_drain();
    });
  }

  void onEnd(const sdk::UpstreamResult& why) override {
    auto keep = shared_from_this();
    if (why.kind == Kind::kClosed && state_ == State::kHandshake && response_.headDone())
      return finish(refusal());  // a refusal delimited by the end of the connection
    sdk::UpstreamResult r = why;
    if (r.kind == Kind::kClosed) r.message += " without a close handshake";
    finish(r);
  }

 private:
  enum class State { kConnecting, kHandshake, kOpen, kClosing, kDone };

  sdk::UpstreamResult result(Kind kind, std::string message, int status) const {
    sdk::UpstreamResult r;
    r.kind = kind;
    r.message = std::move(message);
    r.status = status;
    return r;
  }

  sdk::UpstreamResult refusal() const {
    sdk::UpstreamResult r = result(
        Kind::kStatus,
        "the websocket handshake was answered with HTTP " + std::to_string(response_.head().status),
        response_.head().status);
    r.headers = response_.head().headers;
    r.body = refusal_body_;
    return r;
  }

  // Parses the handshake's answer; true once it is a valid 101 (the rest of in_ is frames).
  bool handshakeDone() {
    const std::size_t used = response_.feed(in_.data(), in_.size());
    in_.erase(0, used);
    if (!response_.error().empty()) {
      finish(
          result(Kind::kProtocol, "the handshake's answer is not HTTP: " + response_.error(), 0));
      return false;
    }
    if (!response_.headDone()) return false;
    const auto& head = response_.head();
    if (head.status != 101) {
      if (!response_.done()) return false;  // wait for the refusal's body
      finish(refusal());
      return false;
    }
    if (!ws::headerHasToken(head.header("upgrade"), "websocket") ||
        !ws::headerHasToken(head.header("connection"), "upgrade") ||
        head.header("sec-websocket-accept") != ws::acceptKey(key_)) {
      finish(result(Kind::kProtocol, "the handshake's answer is not a valid websocket upgrade", 0));
      return false;
    }
    const std::string& subprotocol = head.header("sec-websocket-protocol");
    state_ = State::kOpen;
    client_.instruments().connects->inc(0);
    client_.instruments().open->add(1);
    const sdk::Fields headers = head.headers;
    callbacks_.call([&](sdk::WebSocketCallbacks& cb) {
      if (cb.on_open) cb.on_open(headers, subprotocol);
    });
    return state_ == State::kOpen || state_ == State::kClosing;
  }

  void message(ws::Message& m) {
    switch (m.opcode) {
      case Opcode::kText:
        return callbacks_.call([&](sdk::WebSocketCallbacks& cb) {
          if (cb.on_text) cb.on_text(m.payload);
        });
      case Opcode::kBinary:
        return callbacks_.call([&](sdk::WebSocketCallbacks& cb) {
          if (cb.on_binary) cb.on_binary(m.payload);
        });
      case Opcode::kPing: {
        std::uint8_t mask[4];
        RAND_bytes(mask, sizeof mask);
        stream_->write(ws::encodeFrame(Opcode::kPong, m.payload, mask));
        return;
      }
      case Opcode::kClose: {
        if (state_ == State::kOpen) {  // the peer closes: answer with its code
          std::uint8_t mask[4];
          RAND_bytes(mask, sizeof mask);
          stream_->write(ws::encodeClose(
              m.close_code == ws::close_code::kNoStatus ? ws::close_code::kNormal : m.close_code,
              "", mask));
        }
        sdk::UpstreamResult r = result(Kind::kOk, "closed by the peer", m.close_code);
        r.reason = m.payload;
        return finish(r);
      }
      default: return;
    }
  }

  void finish(const sdk::UpstreamResult& r) {
    if (state_ == State::kDone) return;
    const bool was_open = state_ == State::kOpen || state_ == State::kClosing;
    state_ = State::kDone;
    close_timer_.cancel();
    if (was_open) client_.instruments().open->sub(1);
    if (r.kind == Kind::kStatus || r.kind == Kind::kProtocol)
      client_.instruments().failures->inc(static_cast<std::size_t>(r.kind) - 1);
    // Written frames (our close's answer) go first: the socket closes after this callback.
    auto keep = shared_from_this();
    callbacks_.call([&](sdk::WebSocketCallbacks& cb) {
      if (cb.on_close) cb.on_close(r);
    });
    if (stream_) stream_->close();
    if (close_id_) scope_->forget(close_id_);
    close_id_ = 0;
  }

  UpstreamClient& client_;
  std::shared_ptr<net::LoopScope> scope_;
  Endpoint endpoint_;
  sdk::WebSocketRequest request_;
  CallbackSlot<sdk::WebSocketCallbacks> callbacks_;
  std::string key_;
  std::shared_ptr<ClientStream> stream_;
  ResponseParser response_{kMaxRefusalBody, false, [this](std::string_view piece) {
                             if (refusal_body_.size() < kMaxRefusalBody)
                               refusal_body_.append(piece);
                           }};
  std::string refusal_body_;
  ws::FrameParser frames_;
  std::string in_;
  State state_ = State::kConnecting;
  std::size_t drain_threshold_;
  bool above_threshold_ = false;
  sdk::Timer close_timer_;
  std::uint64_t close_id_ = 0;
};

class WsHandle final : public sdk::WebSocketClient {
 public:
  explicit WsHandle(std::shared_ptr<WsUpstream> up, net::EventLoop& loop)
      : up_(std::move(up)), loop_(loop) {}
  ~WsHandle() override {
    if (loop_.inLoopThread())
      up_->drop();
    else
      loop_.post([up = up_] { up->drop(); });
  }
  bool sendText(std::string_view text) override { return up_->send(Opcode::kText, text); }
  bool sendBinary(std::string_view bytes) override { return up_->send(Opcode::kBinary, bytes); }
  std::size_t queuedBytes() const override { return up_->queued(); }
  void drainThreshold(std::size_t bytes) override { up_->drainThreshold(bytes); }
  void close(int code, std::string_view reason) override { up_->close(code, reason); }
  bool open() const override { return up_->open(); }
  void pauseReading() override { up_->pause(); }
  void resumeReading() override { up_->resume(); }

 private:
  std::shared_ptr<WsUpstream> up_;
  net::EventLoop& loop_;
};

// A handle that never connects: the request was unusable (its reason reaches on_close, unless the
// handle is dropped first).
class FailedWs final : public sdk::WebSocketClient {
 public:
  std::shared_ptr<bool> live = std::make_shared<bool>(true);
  ~FailedWs() override { *live = false; }
  bool sendText(std::string_view) override { return false; }
  bool sendBinary(std::string_view) override { return false; }
  std::size_t queuedBytes() const override { return 0; }
  void drainThreshold(std::size_t) override {}
  void close(int, std::string_view) override {}
  bool open() const override { return false; }
  void pauseReading() override {}
  void resumeReading() override {}
};

}  // namespace

std::unique_ptr<sdk::WebSocketClient> UpstreamClient::webSocket(net::LoopScope& scope,
                                                                sdk::WebSocketRequest request,
                                                                sdk::WebSocketCallbacks callbacks) {
  std::string error;
  std::optional<Endpoint> endpoint = parseEndpoint(request.url, error);
  if (endpoint && endpoint->scheme != "ws" && endpoint->scheme != "wss")
    error = "a websocket URL is ws:// or wss://", endpoint.reset();
  if (!endpoint) {
    auto failed = std::make_unique<FailedWs>();
    reportRefusal(scope, failed->live, std::move(callbacks.on_close), error);
    return failed;
  }
  auto up = std::make_shared<WsUpstream>(*this, scope, std::move(*endpoint), std::move(request),
                                         std::move(callbacks));
  auto handle = std::make_unique<WsHandle>(up, scope.loop());
  startOnScope(scope, up);
  return handle;
}

}  // namespace parley::core
