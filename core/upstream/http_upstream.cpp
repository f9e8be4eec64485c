// One HTTP/1.1 request whose response streams in: the head first, then the body as it arrives
// (de-chunked), then how it ended. One request per connection (Connection: close).
#include "core/net/scope.hpp"
#include "core/upstream/entry.hpp"
#include "core/upstream/response_parser.hpp"
#include "core/upstream/upstream_client.hpp"

namespace parley::core {

namespace {

using Kind = sdk::UpstreamResult::Kind;

bool coreHeader(std::string name) {
  for (char& c : name)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return name == "host" || name == "content-length" || name == "connection" ||
         name == "transfer-encoding";
}

bool safe(const std::string& s) {
  return s.find_first_of("\r\n") == std::string::npos && s.find('\0') == std::string::npos;
}

class HttpUpstream final : public ClientStream::Listener,
                           public std::enable_shared_from_this<HttpUpstream> {
 public:
  HttpUpstream(UpstreamClient& client, net::LoopScope& scope, Endpoint endpoint,
               sdk::HttpRequest request, sdk::HttpCallbacks callbacks)
      : client_(client),
        scope_(scope.shared_from_this()),
        endpoint_(std::move(endpoint)),
        request_(std::move(request)),
        callbacks_(std::move(callbacks)),
        parser_(request_.max_body_bytes, request_.method == "HEAD",
                [this](std::string_view piece) { body(piece); }) {}

  void start() {
    std::weak_ptr<HttpUpstream> weak = weak_from_this();
    close_id_ = scope_->atClose([weak] {
      if (auto self = weak.lock()) self->drop();
    });
    stream_ = client_.stream(*scope_, endpoint_, request_.timeouts, weak);
    stream_->start();
  }

  void pause() {
    if (stream_) stream_->pauseReading();
  }
  void resume() {
    if (stream_) stream_->resumeReading();
  }

  void drop() {
    callbacks_.drop();
    if (stream_) stream_->close();
    if (close_id_) scope_->forget(close_id_);
    close_id_ = 0;
    if (connected_ && !done_) client_.instruments().open->sub(1);
    done_ = true;
  }

  void onConnected() override {
    connected_ = true;
    client_.instruments().connects->inc(1);
    client_.instruments().open->add(1);
    std::string req = request_.method + " " + endpoint_.target +
                      " HTTP/1.1\r\nHost: " + endpoint_.hostHeader() + "\r\nConnection: close\r\n";
    if (!request_.body.empty() || request_.method == "POST" || request_.method == "PUT")
      req += "Content-Length: " + std::to_string(request_.body.size()) + "\r\n";
    for (const auto& [name, value] : request_.headers)
      if (!coreHeader(name) && safe(name) && safe(value)) req += name + ": " + value + "\r\n";
    req += "\r\n";
    req += request_.body;
    stream_->write(req);
    stream_->awaitFirstByte();
  }

  void onData(std::string_view bytes) override {
    auto keep = shared_from_this();
    in_.append(bytes);
    const std::size_t used = parser_.feed(in_.data(), in_.size());
    in_.erase(0, used);
    if (!parser_.error().empty())
      return finish(result(Kind::kProtocol, "the response is not valid HTTP: " + parser_.error()));
    head();
    if (parser_.done()) finish(result(Kind::kOk, "complete"));
  }

  void onEnd(const sdk::UpstreamResult& why) override {
    auto keep = shared_from_this();
    if (why.kind == Kind::kClosed && parser_.headDone() && parser_.eof()) {
      head();
      return finish(result(Kind::kOk, "complete"));
    }
    sdk::UpstreamResult r = why;
    if (r.kind == Kind::kClosed && parser_.headDone()) r.message += " before the body ended";
    finish(r);
  }

 private:
  sdk::UpstreamResult result(Kind kind, std::string message) const {
    sdk::UpstreamResult r;
    r.kind = kind;
    r.message = std::move(message);
    r.status = parser_.head().status;
    return r;
  }

  // The head, once, before any of the body.
  void head() {
    if (head_sent_ || !parser_.headDone() || done_) return;
    head_sent_ = true;
    callbacks_.call([&](sdk::HttpCallbacks& cb) {
      if (cb.on_head) cb.on_head(parser_.head().status, parser_.head().headers);
    });
  }

  void body(std::string_view piece) {
    head();
    callbacks_.call([&](sdk::HttpCallbacks& cb) {
      if (cb.on_body) cb.on_body(piece);
    });
  }

  void finish(const sdk::UpstreamResult& r) {
    if (done_) return;
    done_ = true;
    if (connected_) client_.instruments().open->sub(1);
    if (r.kind == Kind::kProtocol)
      client_.instruments().failures->inc(static_cast<std::size_t>(r.kind) - 1);
    auto keep = shared_from_this();
    if (stream_) stream_->close();
    callbacks_.call([&](sdk::HttpCallbacks& cb) {
      if (cb.on_done) cb.on_done(r);
    });
    if (close_id_) scope_->forget(close_id_);
    close_id_ = 0;
  }

  UpstreamClient& client_;
  std::shared_ptr<net::LoopScope> scope_;
  Endpoint endpoint_;
  sdk::HttpRequest request_;
  CallbackSlot<sdk::HttpCallbacks> callbacks_;
  ResponseParser parser_;
  std::shared_ptr<ClientStream> stream_;
  std::string in_;
  bool connected_ = false;
  bool head_sent_ = false;
  bool done_ = false;
  std::uint64_t close_id_ = 0;
};

class HttpHandle final : public sdk::HttpExchange {
 public:
  HttpHandle(std::shared_ptr<HttpUpstream> up, net::EventLoop& loop)
      : up_(std::move(up)), loop_(loop) {}
  ~HttpHandle() override {
    *live = false;
    if (!up_) return;
    if (loop_.inLoopThread())
      up_->drop();
    else
      loop_.post([up = up_] { up->drop(); });
  }
  void pauseReading() override {
    if (up_) up_->pause();
  }
  void resumeReading() override {
    if (up_) up_->resume();
  }
  std::shared_ptr<bool> live = std::make_shared<bool>(true);

 private:
  std::shared_ptr<HttpUpstream> up_;
  net::EventLoop& loop_;
};

}  // namespace

std::unique_ptr<sdk::HttpExchange> UpstreamClient::http(net::LoopScope& scope,
                                                        sdk::HttpRequest request,
                                                        sdk::HttpCallbacks callbacks) {
  std::string error;
  std::optional<Endpoint> endpoint = parseEndpoint(request.url, error);
  if (endpoint && endpoint->scheme != "http" && endpoint->scheme != "https")
    error = "an HTTP URL is http:// or https://", endpoint.reset();
  if (!endpoint) {
    auto failed = std::make_unique<HttpHandle>(nullptr, scope.loop());
    reportRefusal(scope, failed->live, std::move(callbacks.on_done), error);
    return failed;
  }
  auto up = std::make_shared<HttpUpstream>(*this, scope, std::move(*endpoint), std::move(request),
                                           std::move(callbacks));
  auto handle = std::make_unique<HttpHandle>(up, scope.loop());
  startOnScope(scope, up);
  return handle;
}

}  // namespace parley::core
