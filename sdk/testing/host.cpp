// The test host: one plugin, a fake Context, everything on the test's thread.
#include "parley/sdk/testing/host.hpp"

#include <algorithm>
#include <deque>
#include <stdexcept>

#include "parley/sdk/errors.hpp"
#include "parley/sdk/json.hpp"

namespace parley::sdk::testing {

using Clock = TestHost::Clock;

// ---- Scopes on the manual clock --------------------------------------------------------------

namespace {

class Cancel final : public detail::Cancellable {
 public:
  explicit Cancel(std::function<void()> fn) : fn_(std::move(fn)) {}
  void cancel() noexcept override {
    if (auto fn = std::move(fn_)) fn();
    fn_ = nullptr;
  }

 private:
  std::function<void()> fn_;
};

Registration revoker(std::function<void()> undo) {
  return Registration(std::make_shared<Revoker>(std::move(undo)));
}

}  // namespace

struct Timer {
  Clock::time_point due;
  std::uint64_t seq;
  std::chrono::milliseconds period;
  std::shared_ptr<std::function<void()>> fn;  // null once cancelled
};

class ManualScope final : public Scope, public std::enable_shared_from_this<ManualScope> {
 public:
  explicit ManualScope(std::weak_ptr<HostState> host) : host_(std::move(host)) {}
  void post(std::function<void()> task) override;
  sdk::Timer after(std::chrono::milliseconds delay, std::function<void()> task) override {
    return timer(delay, {}, std::move(task));
  }
  sdk::Timer every(std::chrono::milliseconds period, std::function<void()> task) override {
    if (period.count() <= 0) throw std::invalid_argument("a timer period must be positive");
    return timer(period, period, std::move(task));
  }
  bool offload(std::function<void()> work, std::function<void()> done) override;
  std::shared_ptr<Watch> watch(int, std::uint32_t, std::function<void(std::uint32_t)>) override {
    throw std::logic_error("file descriptor watches are not available in the test host");
  }
  bool here() const override { return true; }
  bool closed() const override { return closed_; }
  Clock::time_point now() const override;
  void close() {
    closed_ = true;
    for (auto& t : timers_)
      if (auto live = t.lock()) live->fn.reset();
    timers_.clear();
  }

 private:
  sdk::Timer timer(std::chrono::milliseconds delay, std::chrono::milliseconds period,
                   std::function<void()> task);
  std::weak_ptr<HostState> host_;
  bool closed_ = false;
  std::vector<std::weak_ptr<Timer>> timers_;
};

// ---- The host's state -------------------------------------------------------------------------

struct Handler {
  enum class Kind { kRaw, kJson, kAttach } kind = Kind::kRaw;
  std::string owner;
  WebSockets::MessageHandler raw;
  WebSockets::JsonHandler json;
};

struct Instrument {
  std::shared_ptr<Counter> counter;
  std::shared_ptr<Gauge> gauge;
  std::shared_ptr<Histogram> average;
  std::shared_ptr<CategoryCounter> categories;
  std::function<std::int64_t()> computed;
  int part = -1;  // for a category's own name
};

struct Route {
  std::string method;
  std::vector<std::string> segments;
  AuthPolicy auth;
  std::string verifier;
  sdk::Handler handler;
};

struct HostState : std::enable_shared_from_this<HostState> {
  Plugin& plugin;
  Descriptor descriptor;
  std::map<std::string, std::string> config_values;
  std::unique_ptr<Context> context;
  bool started = false;

  Clock::time_point now = Clock::time_point(std::chrono::hours(24));
  std::deque<std::function<void()>> tasks;
  std::vector<std::shared_ptr<Timer>> timers;
  std::uint64_t next_seq = 0;
  std::shared_ptr<ManualScope> plugin_scope;
  std::vector<std::shared_ptr<ManualScope>> scopes;

  std::map<std::string, std::shared_ptr<Handler>> by_type;
  std::vector<std::pair<std::string, WebSockets::BinaryHandler>> binary;
  std::vector<WebSockets::OpenHandler> opens;
  std::vector<WebSockets::CloseHandler> closes;
  struct Attach {
    SessionHandlerSpec spec;
    WebSockets::HandlerFactory factory;
  };
  std::vector<Attach> attaches;
  std::vector<std::shared_ptr<FakeSession>> sessions;

  std::map<std::string, Instrument> metrics;
  std::vector<Route> routes;
  std::map<std::string, std::vector<std::shared_ptr<std::function<void(const Event&)>>>>
      subscribers;
  std::vector<Event> published;
  std::map<std::string, std::pair<std::shared_ptr<void>, std::string>> services;
  std::map<std::string, Access::Verifier> verifiers;
  std::vector<Access::AdmissionCheck> checks;
  std::vector<std::shared_ptr<ScriptedWebSocket::Impl>> web_sockets;
  std::vector<std::shared_ptr<ScriptedHttp::Impl>> http_requests;
  std::vector<std::string> logs;

  explicit HostState(Plugin& p) : plugin(p) {}

  std::shared_ptr<ManualScope> newScope() {
    auto scope = std::make_shared<ManualScope>(weak_from_this());
    scopes.push_back(scope);
    return scope;
  }

  void runTasks() {
    while (!tasks.empty()) {
      auto task = std::move(tasks.front());
      tasks.pop_front();
      task();
    }
  }
  // The earliest live timer due by `until`, if any.
  std::shared_ptr<Timer> nextDue(Clock::time_point until) {
    std::shared_ptr<Timer> best;
    for (const auto& t : timers)
      if (t->fn && t->due <= until &&
          (!best || t->due < best->due || (t->due == best->due && t->seq < best->seq)))
        best = t;
    return best;
  }
  void fire(const std::shared_ptr<Timer>& t) {
    auto fn = t->fn;
    if (t->period.count() > 0)
      t->due += t->period;
    else
      t->fn.reset();
    (*fn)();
    timers.erase(std::remove_if(timers.begin(), timers.end(), [](auto& x) { return !x->fn; }),
                 timers.end());
  }
};

void ManualScope::post(std::function<void()> task) {
  auto host = host_.lock();
  if (!host || closed_) return;
  std::weak_ptr<ManualScope> weak = weak_from_this();
  host->tasks.push_back([weak, task = std::move(task)] {
    if (auto self = weak.lock(); self && !self->closed_) task();
  });
}

sdk::Timer ManualScope::timer(std::chrono::milliseconds delay, std::chrono::milliseconds period,
                              std::function<void()> task) {
  auto host = host_.lock();
  if (!host || closed_) return {};
  auto t = std::make_shared<Timer>();
  t->due = host->now + delay;
  t->seq = host->next_seq++;
  t->period = period;
  t->fn = std::make_shared<std::function<void()>>(std::move(task));
  host->timers.push_back(t);
  timers_.push_back(t);
  std::weak_ptr<Timer> weak = t;
  return sdk::Timer(std::make_shared<Cancel>([weak] {
    if (auto live = weak.lock()) live->fn.reset();  // the closure goes now
  }));
}

bool ManualScope::offload(std::function<void()> work, std::function<void()> done) {
  if (closed_) return false;
  work();  // in place: deterministic
  post(std::move(done));
  return true;
}

Clock::time_point ManualScope::now() const {
  auto host = host_.lock();
  return host ? host->now : Clock::time_point{};
}

// ---- Sessions ---------------------------------------------------------------------------------

struct FakeSession::Impl {
  std::weak_ptr<HostState> host;
  SessionInfo info;
  json::Value claims;
  std::vector<std::string> frames;
  int pauses = 0;
  std::optional<DisconnectReason> closed;
  int close_code = 0;
  std::string close_text;
  std::shared_ptr<ManualScope> scope;
  std::vector<std::pair<std::string, std::unique_ptr<SessionHandler>>> handlers;
  std::weak_ptr<FakeSession> self;
};

FakeSession::FakeSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FakeSession::~FakeSession() = default;

const SessionInfo& FakeSession::info() const {
  return impl_->info;
}
bool FakeSession::open() const {
  return !impl_->closed;
}
void FakeSession::send(std::string json) {
  if (!impl_->closed) impl_->frames.push_back(std::move(json));
}
void FakeSession::send(const EncodedFrame& frame) {
  // Frames from encodeText() are the JSON text itself in the test host.
  if (frame) send(*frame);
}
std::size_t FakeSession::queuedBytes() const {
  return 0;
}
void FakeSession::stop(DisconnectReason reason) {
  close(reason, 1000, "");
}
void FakeSession::close(DisconnectReason reason, int code, const std::string& text) {
  if (impl_->closed) return;
  impl_->close_code = code;
  impl_->close_text = text.substr(0, 123);
  disconnect(reason);
}
int FakeSession::closeCode() const {
  return impl_->close_code;
}
const std::string& FakeSession::closeText() const {
  return impl_->close_text;
}
Scope& FakeSession::scope() {
  return *impl_->scope;
}
void FakeSession::pauseReading() {
  ++impl_->pauses;
}
void FakeSession::resumeReading() {
  if (impl_->pauses > 0) --impl_->pauses;
}
const json::Value& FakeSession::claims() const {
  return impl_->claims;
}
SessionHandler* FakeSession::attached(const std::string& plugin_id) const {
  for (const auto& [owner, h] : impl_->handlers)
    if (owner == plugin_id) return h.get();
  return nullptr;
}
const std::vector<std::string>& FakeSession::frames() const {
  return impl_->frames;
}
std::vector<json::Value> FakeSession::sent(std::string_view type) const {
  std::vector<json::Value> out;
  for (const auto& f : impl_->frames) {
    json::Value v;
    if (json::parse(f, v) && (type.empty() || v["type"].asString() == type))
      out.push_back(std::move(v));
  }
  return out;
}
void FakeSession::clearSent() {
  impl_->frames.clear();
}
bool FakeSession::paused() const {
  return impl_->pauses > 0;
}
std::optional<DisconnectReason> FakeSession::closedWith() const {
  return impl_->closed;
}

void FakeSession::receive(const std::string& text) {
  auto host = impl_->host.lock();
  if (!host || impl_->closed) return;
  auto self = impl_->self.lock();
  json::Value message;
  if (!json::parse(text, message) || !message.isObject())
    return send(errorEvent("invalid_json", "a text message must be a JSON object", info().id));
  if (!message["type"].isString())
    return send(errorEvent("unknown_type", "a message needs a string \"type\"", info().id));
  const std::string type(message["type"].asString());
  if (type == "ping") {
    json::Writer w;
    w.beginObject().field("type", "pong").field("session_id", info().id).field("ts", 0);
    return send(w.endObject().take());
  }
  if (type == "pong") return;
  if (type == "stop") return disconnect(DisconnectReason::kStopCommand);
  auto it = host->by_type.find(type);
  if (it == host->by_type.end())
    return send(
        errorEvent("unknown_type", "no handler for message type '" + type + "'", info().id));
  const Handler& h = *it->second;
  if (h.kind == Handler::Kind::kAttach) {
    SessionHandler* handler = attached(h.owner);
    if (!handler)
      return send(
          errorEvent("unsupported", "'" + type + "' is not handled in this session", info().id));
    handler->onMessage(type, message);
  } else if (h.kind == Handler::Kind::kJson) {
    h.json(self, message);
  } else {
    h.raw(self, text);
  }
  host->runTasks();
}

void FakeSession::receiveBinary(std::string_view bytes) {
  auto host = impl_->host.lock();
  if (!host || impl_->closed) return;
  auto self = impl_->self.lock();
  for (const auto& [owner, fn] : host->binary) {
    if (fn) {
      fn(self, bytes);
    } else if (SessionHandler* h = attached(owner)) {
      h->onBinary(bytes);
    }
  }
  host->runTasks();
}

void FakeSession::disconnect(DisconnectReason reason) {
  if (impl_->closed) return;
  impl_->closed = reason;
  auto self = impl_->self.lock();
  auto& handlers = impl_->handlers;
  for (auto it = handlers.rbegin(); it != handlers.rend(); ++it) it->second->onClose(reason);
  while (!handlers.empty()) handlers.pop_back();
  if (auto host = impl_->host.lock())
    for (const auto& fn : host->closes) fn(self, reason);
  impl_->scope->close();
}

// ---- Scripted upstream peers ------------------------------------------------------------------

struct ScriptedWebSocket::Impl {
  WebSocketRequest request;
  WebSocketCallbacks callbacks;
  std::shared_ptr<Scope> scope;
  std::vector<std::string> texts;
  std::size_t binary_bytes = 0, binary_frames = 0;
  bool client_closed = false, dropped = false, open = false, ended = false, paused = false;
  int close_code = 0;
  std::size_t queued = 0;

  bool live() const { return !dropped && !ended && !scope->closed(); }
  void end(const UpstreamResult& r) {
    if (!live()) return;
    ended = true;
    open = false;
    if (auto cb = callbacks.on_close) cb(r);
  }
};

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

struct ScriptedHttp::Impl {
  HttpRequest request;
  HttpCallbacks callbacks;
  std::shared_ptr<Scope> scope;
  bool cancelled = false, ended = false, paused = false;
  int status = 0;
  bool live() const { return !cancelled && !ended && !scope->closed(); }
};

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

// ---- The Context ------------------------------------------------------------------------------

namespace {

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    parts.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

class TestContext final : public Context,
                          Logger,
                          MetricsRegistry,
                          HttpRoutes,
                          EventBus,
                          Timers,
                          Services,
                          WebSockets,
                          Scopes,
                          Upstreams,
                          Access {
 public:
  TestContext(HostState& host, PluginConfig config) : host_(host), config_(std::move(config)) {}

  const std::string& pluginId() const override { return host_.descriptor.id; }
  sdk::Logger& log() override { return *this; }
  const PluginConfig& config() const override { return config_; }
  sdk::MetricsRegistry& metrics() override { return *this; }
  sdk::HttpRoutes& http() override { return *this; }
  sdk::EventBus& events() override { return *this; }
  sdk::Timers& timers() override { return *this; }
  sdk::Services& services() override { return *this; }
  sdk::WebSockets& websockets() override { return *this; }
  sdk::Scopes& scopes() override { return *this; }
  sdk::Upstreams& upstreams() override { return *this; }
  sdk::Access& access() override { return *this; }

  // Logger
  void log(LogLevel level, std::string_view message) override {
    static const char* const kNames[] = {"debug", "information", "warning", "error"};
    host_.logs.push_back(std::string(kNames[static_cast<int>(level)]) + ": " +
                         std::string(message));
  }
  bool enabled(LogLevel) const override { return true; }

  // MetricsRegistry
  Registration metric(const std::string& name, Instrument inst) {
    if (host_.metrics.count(name))
      throw RegistrationError("metric '" + name + "' is already registered");
    host_.metrics[name] = std::move(inst);
    return revoker([h = host_.weak_from_this(), name] {
      if (auto host = h.lock()) host->metrics.erase(name);
    });
  }
  Registration add(const std::string& name, const std::string&,
                   std::shared_ptr<Counter> c) override {
    return metric(name, Instrument{c, {}, {}, {}, {}, -1});
  }
  Registration add(const std::string& name, const std::string&, std::shared_ptr<Gauge> g) override {
    return metric(name, Instrument{{}, g, {}, {}, {}, -1});
  }
  Registration add(const AverageSpec& spec, std::shared_ptr<Histogram> a) override {
    return metric(spec.name, Instrument{{}, {}, a, {}, {}, -1});
  }
  Registration add(const CategorySpec& spec, std::shared_ptr<CategoryCounter> c) override {
    std::vector<Registration> regs;
    regs.push_back(metric(spec.total_name, Instrument{{}, {}, {}, c, {}, -1}));
    for (std::size_t i = 0; i < spec.names.size(); ++i)
      regs.push_back(metric(spec.names[i], Instrument{{}, {}, {}, c, {}, static_cast<int>(i)}));
    auto shared = std::make_shared<std::vector<Registration>>(std::move(regs));
    return revoker([shared] { shared->clear(); });
  }
  Registration add(const LabeledSpec& spec, std::shared_ptr<CategoryCounter> c) override {
    return metric(spec.name, Instrument{{}, {}, {}, c, {}, -1});
  }
  Registration addComputed(const std::string& name, const std::string&,
                           std::function<std::int64_t()> read) override {
    return metric(name, Instrument{{}, {}, {}, {}, std::move(read), -1});
  }

  // HttpRoutes
  Registration add(const std::string& method, const std::string& pattern, AuthPolicy auth,
                   sdk::Handler handler) override {
    RouteSpec spec;
    spec.method = method;
    spec.pattern = pattern;
    spec.auth = auth;
    return add(spec, std::move(handler));
  }
  Registration add(const RouteSpec& spec, sdk::Handler handler) override {
    host_.routes.push_back(
        {spec.method, split(spec.pattern), spec.auth, spec.verifier, std::move(handler)});
    return {};
  }

  // EventBus
  Registration subscribe(const std::string& topic,
                         std::function<void(const Event&)> handler) override {
    auto fn = std::make_shared<std::function<void(const Event&)>>(std::move(handler));
    host_.subscribers[topic].push_back(fn);
    return revoker([fn] { *fn = nullptr; });
  }
  void publish(const Event& event) override {
    host_.published.push_back(event);
    auto subs = host_.subscribers[event.topic];
    for (const auto& fn : subs)
      if (*fn) (*fn)(event);
  }

  // Timers: on the plugin's own scope.
  Registration after(std::chrono::milliseconds delay, std::function<void()> task) override {
    auto timer = std::make_shared<sdk::Timer>(host_.plugin_scope->after(delay, std::move(task)));
    return revoker([timer] { timer->cancel(); });
  }
  Registration every(std::chrono::milliseconds period, std::function<void()> task) override {
    auto timer = std::make_shared<sdk::Timer>(host_.plugin_scope->every(period, std::move(task)));
    return revoker([timer] { timer->cancel(); });
  }

  // Services
  Registration provide(const std::string& name, std::shared_ptr<void> service) override {
    return provideTyped(name, std::move(service), "");
  }
  std::shared_ptr<void> findRaw(const std::string& name) const override {
    return findTyped(name, "");
  }
  Registration provideTyped(const std::string& name, std::shared_ptr<void> service,
                            const char* type) override {
    if (host_.services.count(name))
      throw RegistrationError("service '" + name + "' is already offered");
    host_.services[name] = {std::move(service), type};
    return revoker([h = host_.weak_from_this(), name] {
      if (auto host = h.lock()) host->services.erase(name);
    });
  }
  std::shared_ptr<void> findTyped(const std::string& name, const char* type) const override {
    auto it = host_.services.find(name);
    if (it == host_.services.end()) return nullptr;
    if (*type && !it->second.second.empty() && it->second.second != type)
      throw RegistrationError("service '" + name + "' is a " + it->second.second + ", not a " +
                              type);
    return it->second.first;
  }

  // WebSockets
  Registration claim(const std::string& type, std::shared_ptr<Handler> h) {
    if (type == "ping" || type == "pong" || type == "stop" || host_.by_type.count(type))
      throw RegistrationError("message type '" + type + "' is already handled");
    host_.by_type[type] = std::move(h);
    return revoker([h = host_.weak_from_this(), type] {
      if (auto host = h.lock()) host->by_type.erase(type);
    });
  }
  Registration onMessage(const std::string& type, MessageHandler handler, RunOn) override {
    auto h = std::make_shared<Handler>();
    h->owner = pluginId();
    h->raw = std::move(handler);
    return claim(type, h);
  }
  Registration onJson(const std::string& type, JsonHandler handler, RunOn) override {
    auto h = std::make_shared<Handler>();
    h->kind = Handler::Kind::kJson;
    h->owner = pluginId();
    h->json = std::move(handler);
    return claim(type, h);
  }
  Registration onBinary(BinaryHandler handler, RunOn) override {
    host_.binary.emplace_back(pluginId(), std::move(handler));
    return {};
  }
  Registration onOpen(OpenHandler handler) override {
    host_.opens.push_back(std::move(handler));
    return {};
  }
  Registration onClose(CloseHandler handler) override {
    host_.closes.push_back(std::move(handler));
    return {};
  }
  Registration attach(SessionHandlerSpec spec, HandlerFactory factory) override {
    auto h = std::make_shared<Handler>();
    h->kind = Handler::Kind::kAttach;
    h->owner = pluginId();
    auto regs = std::make_shared<std::vector<Registration>>();
    for (const auto& type : spec.messages) regs->push_back(claim(type, h));
    if (spec.binary) host_.binary.emplace_back(pluginId(), nullptr);
    host_.attaches.push_back({std::move(spec), std::move(factory)});
    return revoker([regs] { regs->clear(); });
  }
  EncodedFrame encodeText(std::string_view json) override {
    return std::make_shared<const std::string>(json);
  }
  void broadcast(const std::vector<SessionPtr>& to, const EncodedFrame& frame) override {
    for (const auto& s : to)
      if (s) s->send(frame);
  }
  SessionPtr find(const std::string& session_id) const override {
    for (const auto& s : host_.sessions)
      if (s->info().id == session_id && s->open()) return s;
    return nullptr;
  }

  // Scopes
  std::shared_ptr<Scope> create() override {
    auto scope = host_.newScope();
    return std::shared_ptr<Scope>(scope.get(), [scope](Scope*) { scope->close(); });
  }

  // Upstreams
  std::unique_ptr<WebSocketClient> webSocket(Scope& scope, WebSocketRequest request,
                                             WebSocketCallbacks callbacks) override {
    auto peer = std::make_shared<ScriptedWebSocket::Impl>();
    peer->request = std::move(request);
    peer->callbacks = std::move(callbacks);
    peer->scope = std::shared_ptr<Scope>(&scope, [](Scope*) {});
    host_.web_sockets.push_back(peer);
    return std::make_unique<FakeWebSocketClient>(peer);
  }
  std::unique_ptr<HttpExchange> http(Scope& scope, HttpRequest request,
                                     HttpCallbacks callbacks) override {
    auto peer = std::make_shared<ScriptedHttp::Impl>();
    peer->request = std::move(request);
    peer->callbacks = std::move(callbacks);
    peer->scope = std::shared_ptr<Scope>(&scope, [](Scope*) {});
    host_.http_requests.push_back(peer);
    return std::make_unique<FakeHttpExchange>(peer);
  }

  // Access
  Registration addVerifier(const std::string& param, Verifier verify) override {
    host_.verifiers[param] = std::move(verify);
    return {};
  }
  Registration addAdmissionCheck(AdmissionCheck check) override {
    host_.checks.push_back(std::move(check));
    return {};
  }

 private:
  HostState& host_;
  PluginConfig config_;
};

}  // namespace

// ---- TestHost ---------------------------------------------------------------------------------

TestHost::TestHost(Plugin& plugin, std::map<std::string, std::string> config)
    : state_(std::make_shared<HostState>(plugin)) {
  state_->descriptor = plugin.describe();
  state_->config_values = std::move(config);
  state_->plugin_scope = state_->newScope();
}

TestHost::~TestHost() {
  stop();
}

void TestHost::start() {
  PluginConfig config(state_->descriptor.id, state_->descriptor.config, state_->config_values);
  state_->plugin.configure(config);
  state_->context = std::make_unique<TestContext>(*state_, config);
  state_->plugin.start(*state_->context);
  state_->started = true;
  run();
}

void TestHost::stop() {
  if (!state_->started) return;
  state_->started = false;
  for (auto& s : state_->sessions) s->disconnect(DisconnectReason::kOther);
  for (auto& scope : state_->scopes) scope->close();
  state_->plugin.stop();
}

void TestHost::run() {
  state_->runTasks();
  while (auto t = state_->nextDue(state_->now)) {
    state_->fire(t);
    state_->runTasks();
  }
}

void TestHost::advance(std::chrono::milliseconds by) {
  const Clock::time_point until = state_->now + by;
  run();
  while (auto t = state_->nextDue(until)) {
    state_->now = std::max(state_->now, t->due);
    state_->fire(t);
    state_->runTasks();
  }
  state_->now = until;
  run();
}

Clock::time_point TestHost::now() const {
  return state_->now;
}

FakeSession& TestHost::connect(const Fields& query, const std::string& user, json::Value claims) {
  auto impl = std::make_unique<FakeSession::Impl>();
  impl->host = state_;
  impl->info.id = "session-" + std::to_string(state_->sessions.size() + 1);
  impl->info.user = user;
  for (const auto& field : query)
    if (field.first != "token" && field.first != "access_token") impl->info.query.push_back(field);
  impl->info.participant = impl->info.param("participant", "candidate");
  impl->claims = std::move(claims);
  impl->scope = state_->newScope();
  auto session = std::shared_ptr<FakeSession>(new FakeSession(std::move(impl)));
  session->impl_->self = session;
  state_->sessions.push_back(session);
  for (const auto& fn : state_->opens) fn(session);
  for (const auto& a : state_->attaches)
    if (auto handler = a.factory(session))
      session->impl_->handlers.emplace_back(state_->descriptor.id, std::move(handler));
  run();
  return *session;
}

std::int64_t TestHost::value(const std::string& name) const {
  const Instrument& i = state_->metrics.at(name);
  if (i.counter) return static_cast<std::int64_t>(i.counter->value());
  if (i.gauge) return i.gauge->value();
  if (i.computed) return i.computed();
  if (i.categories) {
    auto snap = i.categories->snapshot();
    return static_cast<std::int64_t>(i.part < 0 ? snap.total
                                                : snap.counts[static_cast<std::size_t>(i.part)]);
  }
  throw std::out_of_range("metric '" + name + "' is not a counter or gauge");
}

std::uint64_t TestHost::category(const std::string& name, std::size_t index) const {
  return state_->metrics.at(name).categories->snapshot().counts.at(index);
}

Histogram::Snapshot TestHost::average(const std::string& name) const {
  return state_->metrics.at(name).average->snapshot();
}

void TestHost::publish(const Event& event) {
  publish(std::vector<Event>{event});
}

void TestHost::publish(const std::vector<Event>& events) {
  for (const auto& e : events) state_->context->events().publish(e);
  run();
}

std::vector<Event> TestHost::published(const std::string& topic) const {
  std::vector<Event> out;
  for (const auto& e : state_->published)
    if (e.topic == topic) out.push_back(e);
  return out;
}

void TestHost::offerRaw(const std::string& name, std::shared_ptr<void> service, const char* type) {
  state_->services[name] = {std::move(service), type};
}

std::vector<ScriptedWebSocket> TestHost::webSockets() const {
  std::vector<ScriptedWebSocket> out;
  for (const auto& impl : state_->web_sockets) out.emplace_back(impl);
  return out;
}

std::vector<ScriptedHttp> TestHost::httpRequests() const {
  std::vector<ScriptedHttp> out;
  for (const auto& impl : state_->http_requests) out.emplace_back(impl);
  return out;
}

Response TestHost::request(const std::string& method, const std::string& target,
                           const std::string& body, Principal principal) {
  const auto qmark = target.find('?');
  const std::string path = target.substr(0, qmark);
  Request req;
  req.method = method;
  req.path = path;
  req.body = body;
  req.principal = std::move(principal);
  if (qmark != std::string::npos) {
    std::string query = target.substr(qmark + 1);
    std::size_t pos = 0;
    while (pos <= query.size()) {
      auto amp = query.find('&', pos);
      if (amp == std::string::npos) amp = query.size();
      const std::string pair = query.substr(pos, amp - pos);
      const auto eq = pair.find('=');
      if (!pair.empty())
        req.query.emplace_back(pair.substr(0, eq),
                               eq == std::string::npos ? std::string() : pair.substr(eq + 1));
      pos = amp + 1;
    }
  }
  const auto parts = split(path);
  for (const auto& r : state_->routes) {
    if (r.method != method || r.segments.size() != parts.size()) continue;
    Fields params;
    bool ok = true;
    for (std::size_t i = 0; i < parts.size() && ok; ++i) {
      const std::string& seg = r.segments[i];
      if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}')
        params.emplace_back(seg.substr(1, seg.size() - 2), parts[i]);
      else
        ok = seg == parts[i];
    }
    if (!ok) continue;
    req.path_params = std::move(params);
    if (!r.verifier.empty()) {
      auto it = state_->verifiers.find(r.verifier);
      const Fields headers;
      Grant g = it == state_->verifiers.end() ? Grant::refuse(503, "unavailable", "no verifier")
                                              : it->second(Credentials{path, req.query, headers});
      if (!g.ok) return Response::error(g.status, g.code, g.message);
      req.principal = {g.subject, false};
    }
    try {
      Response response = r.handler(req);
      run();
      return response;
    } catch (const HttpError& e) {
      return Response::error(e.status(), e.code(), e.what());
    } catch (const std::exception& e) {
      return Response::error(500, "internal_error", e.what());
    }
  }
  return Response::error(404, "not_found", "no such endpoint: " + path);
}

Grant TestHost::verify(const std::string& param, const Fields& query) {
  auto it = state_->verifiers.find(param);
  if (it == state_->verifiers.end()) return Grant::refuse(503, "unavailable", "no verifier");
  const Fields headers;
  return it->second(Credentials{"/ws/voice", query, headers});  // as a websocket upgrade
}

Grant TestHost::admit(const Fields& query, const std::string& participant,
                      const json::Value& claims, bool is_operator) {
  const Fields headers;
  const Credentials request{"/ws/voice", query, headers};
  const Admission admission{request, "tester", is_operator, participant, claims};
  for (const auto& check : state_->checks) {
    Grant g = check(admission);
    if (!g.ok) return g;
  }
  return Grant::allow("tester");
}

const std::vector<std::string>& TestHost::logs() const {
  return state_->logs;
}

}  // namespace parley::sdk::testing
