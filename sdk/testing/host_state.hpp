// What the test host's parts share (host.cpp: the Context and TestHost; session.cpp: FakeSession;
// upstreams.cpp: the scripted peers): the host's state, its scopes on the manual clock, and the
// fakes' insides. Private to the testing library.
#pragma once

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "parley/sdk/testing/host.hpp"

namespace parley::sdk::testing {

using Clock = TestHost::Clock;

// ---- Scopes on the manual clock --------------------------------------------------------------

// ---- Scopes on the manual clock --------------------------------------------------------------

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

inline Registration revoker(std::function<void()> undo) {
  return Registration(std::make_shared<Revoker>(std::move(undo)));
}

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

// ---- The fakes' insides -----------------------------------------------------------------------

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

struct ScriptedHttp::Impl {
  HttpRequest request;
  HttpCallbacks callbacks;
  std::shared_ptr<Scope> scope;
  bool cancelled = false, ended = false, paused = false;
  int status = 0;
  bool live() const { return !cancelled && !ended && !scope->closed(); }
};

// The plugin's end of a scripted upstream (upstreams.cpp).
std::unique_ptr<WebSocketClient> openScriptedWebSocket(HostState& host, Scope& scope,
                                                       WebSocketRequest request,
                                                       WebSocketCallbacks callbacks);
std::unique_ptr<HttpExchange> openScriptedHttp(HostState& host, Scope& scope, HttpRequest request,
                                               HttpCallbacks callbacks);

}  // namespace parley::sdk::testing
