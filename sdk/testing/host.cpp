// The test host: one plugin, a fake Context, everything on the test's thread. Its sessions are in
// session.cpp, its scripted upstream peers in upstreams.cpp.
#include "host_state.hpp"
#include "parley/sdk/errors.hpp"
#include "parley/sdk/json.hpp"

namespace parley::sdk::testing {

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
    return openScriptedWebSocket(host_, scope, std::move(request), std::move(callbacks));
  }
  std::unique_ptr<HttpExchange> http(Scope& scope, HttpRequest request,
                                     HttpCallbacks callbacks) override {
    return openScriptedHttp(host_, scope, std::move(request), std::move(callbacks));
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
