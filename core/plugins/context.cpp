#include "core/plugins/context.hpp"

#include <Poco/Logger.h>

#include <algorithm>

#include "core/http/router.hpp"
#include "core/metrics/registry.hpp"
#include "core/net/loop_group.hpp"
#include "core/net/scope.hpp"
#include "core/runtime/access_registry.hpp"
#include "core/runtime/event_bus.hpp"
#include "core/runtime/services.hpp"
#include "core/runtime/worker_pool.hpp"
#include "core/upstream/upstream_client.hpp"
#include "core/ws/ws_server.hpp"
#include "parley/sdk/errors.hpp"

namespace parley::core {

namespace {

class LoggerFacade final : public sdk::Logger {
 public:
  explicit LoggerFacade(const std::string& id) : log_(Poco::Logger::get("plugin." + id)) {}
  void log(sdk::LogLevel level, std::string_view message) override {
    switch (level) {
      case sdk::LogLevel::kDebug: log_.debug(std::string(message)); break;
      case sdk::LogLevel::kInformation: log_.information(std::string(message)); break;
      case sdk::LogLevel::kWarning: log_.warning(std::string(message)); break;
      case sdk::LogLevel::kError: log_.error(std::string(message)); break;
    }
  }
  bool enabled(sdk::LogLevel level) const override {
    switch (level) {
      case sdk::LogLevel::kDebug: return log_.debug();
      case sdk::LogLevel::kInformation: return log_.information();
      case sdk::LogLevel::kWarning: return log_.warning();
      case sdk::LogLevel::kError: return log_.error();
    }
    return true;
  }

 private:
  Poco::Logger& log_;
};

class MetricsFacade final : public sdk::MetricsRegistry {
 public:
  MetricsFacade(PluginContext& ctx, core::MetricsRegistry& reg) : ctx_(ctx), reg_(reg) {}
  sdk::Registration add(const std::string& name, const std::string& help,
                        std::shared_ptr<sdk::Counter> counter) override {
    return ctx_.track(reg_.addCounter(ctx_.pluginId(), name, help, std::move(counter)));
  }
  sdk::Registration add(const std::string& name, const std::string& help,
                        std::shared_ptr<sdk::Gauge> gauge) override {
    return ctx_.track(reg_.addGauge(ctx_.pluginId(), name, help, std::move(gauge)));
  }
  sdk::Registration add(const sdk::AverageSpec& spec,
                        std::shared_ptr<sdk::Histogram> average) override {
    return ctx_.track(reg_.addAverage(ctx_.pluginId(), spec, std::move(average)));
  }
  sdk::Registration add(const sdk::CategorySpec& spec,
                        std::shared_ptr<sdk::CategoryCounter> counter) override {
    return ctx_.track(reg_.addCategories(ctx_.pluginId(), spec, std::move(counter)));
  }
  sdk::Registration add(const sdk::LabeledSpec& spec,
                        std::shared_ptr<sdk::CategoryCounter> counter) override {
    return ctx_.track(reg_.addLabeled(ctx_.pluginId(), spec, std::move(counter)));
  }
  sdk::Registration addComputed(const std::string& name, const std::string& help,
                                std::function<std::int64_t()> read) override {
    return ctx_.track(reg_.addComputed(ctx_.pluginId(), name, help, std::move(read)));
  }

 private:
  PluginContext& ctx_;
  core::MetricsRegistry& reg_;
};

class RoutesFacade final : public sdk::HttpRoutes {
 public:
  RoutesFacade(PluginContext& ctx, Router& router) : ctx_(ctx), router_(router) {}
  sdk::Registration add(const std::string& method, const std::string& pattern, sdk::AuthPolicy auth,
                        sdk::Handler handler) override {
    return ctx_.track(router_.add(ctx_.pluginId(), method, pattern, auth, std::move(handler)));
  }
  sdk::Registration add(const sdk::RouteSpec& spec, sdk::Handler handler) override {
    return ctx_.track(router_.add(ctx_.pluginId(), spec.method, spec.pattern, spec.auth,
                                  std::move(handler), spec.where, spec.verifier));
  }

 private:
  PluginContext& ctx_;
  Router& router_;
};

class EventsFacade final : public sdk::EventBus {
 public:
  EventsFacade(PluginContext& ctx, core::EventBus& bus) : ctx_(ctx), bus_(bus) {}
  sdk::Registration subscribe(const std::string& topic,
                              std::function<void(const sdk::Event&)> handler) override {
    return ctx_.track(bus_.subscribe(ctx_.pluginId(), topic, std::move(handler)));
  }
  void publish(const sdk::Event& event) override { bus_.publish(event); }

 private:
  PluginContext& ctx_;
  core::EventBus& bus_;
};

// SDK 1.1's timers, on a scope of the plugin's own: one loop runs them, so they need no lock
// among themselves, and cancelling frees the callback at once.
class TimersFacade final : public sdk::Timers {
 public:
  explicit TimersFacade(PluginContext& ctx) : ctx_(ctx) {}
  sdk::Registration after(std::chrono::milliseconds delay, std::function<void()> task) override {
    return schedule(delay, {}, std::move(task));
  }
  sdk::Registration every(std::chrono::milliseconds period, std::function<void()> task) override {
    if (period.count() <= 0) throw std::invalid_argument("a timer period must be positive");
    return schedule(period, period, std::move(task));
  }

 private:
  sdk::Registration schedule(std::chrono::milliseconds delay, std::chrono::milliseconds period,
                             std::function<void()> task) {
    std::shared_ptr<net::LoopScope> scope;
    {
      std::lock_guard lock(mutex_);
      if (!scope_ || scope_->closed()) scope_ = ctx_.newScope();
      scope = scope_;
    }
    // A gate, so that revoking from any thread returns only once the callback is not running.
    struct Shared {
      CallGate gate;
      sdk::Timer timer;
    };
    auto shared = std::make_shared<Shared>();
    auto fire = [shared, task = std::move(task)] {
      if (CallGate::Pass pass(shared->gate); pass) task();
    };
    scope->post([scope, shared, delay, period, fire = std::move(fire)]() mutable {
      shared->timer = period.count() > 0 ? scope->every(period, std::move(fire))
                                         : scope->after(delay, std::move(fire));
    });
    return ctx_.track(std::make_shared<sdk::Revoker>([shared, scope] {
      shared->gate.close();
      scope->post([shared] { shared->timer.cancel(); });
    }));
  }

  PluginContext& ctx_;
  std::mutex mutex_;
  std::shared_ptr<net::LoopScope> scope_;
};

class ServicesFacade final : public sdk::Services {
 public:
  ServicesFacade(PluginContext& ctx, ServiceRegistry& reg) : ctx_(ctx), reg_(reg) {}
  sdk::Registration provide(const std::string& name, std::shared_ptr<void> service) override {
    return ctx_.track(reg_.provide(ctx_.pluginId(), name, std::move(service), ""));
  }
  std::shared_ptr<void> findRaw(const std::string& name) const override {
    return reg_.find(name, "");
  }
  sdk::Registration provideTyped(const std::string& name, std::shared_ptr<void> service,
                                 const char* type_name) override {
    return ctx_.track(reg_.provide(ctx_.pluginId(), name, std::move(service), type_name));
  }
  std::shared_ptr<void> findTyped(const std::string& name, const char* type_name) const override {
    return reg_.find(name, type_name);
  }

 private:
  PluginContext& ctx_;
  ServiceRegistry& reg_;
};

class WebSocketsFacade final : public sdk::WebSockets {
 public:
  WebSocketsFacade(PluginContext& ctx, ws::WsServer& server) : ctx_(ctx), server_(server) {}
  sdk::Registration onMessage(const std::string& type, MessageHandler handler,
                              sdk::RunOn where) override {
    return ctx_.track(server_.onMessage(ctx_.pluginId(), type, std::move(handler), where));
  }
  sdk::Registration onJson(const std::string& type, JsonHandler handler,
                           sdk::RunOn where) override {
    return ctx_.track(server_.onJson(ctx_.pluginId(), type, std::move(handler), where));
  }
  sdk::Registration onBinary(BinaryHandler handler, sdk::RunOn where) override {
    return ctx_.track(server_.onBinary(ctx_.pluginId(), std::move(handler), where));
  }
  sdk::Registration onOpen(OpenHandler handler) override {
    return ctx_.track(server_.onOpen(ctx_.pluginId(), std::move(handler)));
  }
  sdk::Registration onClose(CloseHandler handler) override {
    return ctx_.track(server_.onClose(ctx_.pluginId(), std::move(handler)));
  }
  sdk::Registration attach(sdk::SessionHandlerSpec spec, HandlerFactory factory) override {
    return ctx_.track(server_.attach(ctx_.pluginId(), std::move(spec), std::move(factory)));
  }
  sdk::EncodedFrame encodeText(std::string_view json) override { return server_.encodeText(json); }
  void broadcast(const std::vector<sdk::SessionPtr>& to, const sdk::EncodedFrame& frame) override {
    server_.broadcast(to, frame);
  }
  sdk::SessionPtr find(const std::string& session_id) const override {
    return server_.find(session_id);
  }

 private:
  PluginContext& ctx_;
  ws::WsServer& server_;
};

class ScopesFacade final : public sdk::Scopes {
 public:
  explicit ScopesFacade(PluginContext& ctx) : ctx_(ctx) {}
  std::shared_ptr<sdk::Scope> create() override {
    // The plugin's pointer closes the scope when its last copy goes.
    std::shared_ptr<net::LoopScope> scope = ctx_.newScope();
    return std::shared_ptr<sdk::Scope>(scope.get(), [scope](sdk::Scope*) mutable {
      if (scope->here())
        scope->close();
      else
        scope->post([scope] { scope->close(); });
      scope.reset();
    });
  }

 private:
  PluginContext& ctx_;
};

net::LoopScope& coreScope(sdk::Scope& scope) {
  auto* loop_scope = dynamic_cast<net::LoopScope*>(&scope);
  if (!loop_scope)
    throw std::invalid_argument(
        "an upstream needs a scope made by parleyd (a session's, or "
        "Context::scopes())");
  return *loop_scope;
}

class UpstreamsFacade final : public sdk::Upstreams {
 public:
  explicit UpstreamsFacade(UpstreamClient& client) : client_(client) {}
  std::unique_ptr<sdk::WebSocketClient> webSocket(sdk::Scope& scope, sdk::WebSocketRequest request,
                                                  sdk::WebSocketCallbacks callbacks) override {
    return client_.webSocket(coreScope(scope), std::move(request), std::move(callbacks));
  }
  std::unique_ptr<sdk::HttpExchange> http(sdk::Scope& scope, sdk::HttpRequest request,
                                          sdk::HttpCallbacks callbacks) override {
    return client_.http(coreScope(scope), std::move(request), std::move(callbacks));
  }

 private:
  UpstreamClient& client_;
};

class AccessFacade final : public sdk::Access {
 public:
  AccessFacade(PluginContext& ctx, AccessRegistry& registry) : ctx_(ctx), registry_(registry) {}
  sdk::Registration addVerifier(const std::string& param, Verifier verify) override {
    return ctx_.track(registry_.addVerifier(ctx_.pluginId(), param, std::move(verify)));
  }
  sdk::Registration addAdmissionCheck(AdmissionCheck check) override {
    return ctx_.track(registry_.addAdmissionCheck(ctx_.pluginId(), std::move(check)));
  }

 private:
  PluginContext& ctx_;
  AccessRegistry& registry_;
};

}  // namespace

struct PluginContext::Facades {
  LoggerFacade logger;
  MetricsFacade metrics;
  RoutesFacade routes;
  EventsFacade events;
  TimersFacade timers;
  ServicesFacade services;
  WebSocketsFacade websockets;
  ScopesFacade scopes;
  UpstreamsFacade upstreams;
  AccessFacade access;
};

PluginContext::PluginContext(std::string plugin_id, sdk::PluginConfig config,
                             const CoreServices& core)
    : id_(std::move(plugin_id)), config_(std::move(config)), core_(core) {
  facades_.reset(new Facades{LoggerFacade(id_), MetricsFacade(*this, core.metrics),
                             RoutesFacade(*this, core.router), EventsFacade(*this, core.events),
                             TimersFacade(*this), ServicesFacade(*this, core.services),
                             WebSocketsFacade(*this, core.websockets), ScopesFacade(*this),
                             UpstreamsFacade(core.upstreams), AccessFacade(*this, core.access)});
}

PluginContext::~PluginContext() {
  revokeAll();
}

sdk::Logger& PluginContext::log() {
  return facades_->logger;
}
sdk::MetricsRegistry& PluginContext::metrics() {
  return facades_->metrics;
}
sdk::HttpRoutes& PluginContext::http() {
  return facades_->routes;
}
sdk::EventBus& PluginContext::events() {
  return facades_->events;
}
sdk::Timers& PluginContext::timers() {
  return facades_->timers;
}
sdk::Services& PluginContext::services() {
  return facades_->services;
}
sdk::WebSockets& PluginContext::websockets() {
  return facades_->websockets;
}
sdk::Scopes& PluginContext::scopes() {
  return facades_->scopes;
}
sdk::Upstreams& PluginContext::upstreams() {
  return facades_->upstreams;
}
sdk::Access& PluginContext::access() {
  return facades_->access;
}

std::shared_ptr<net::LoopScope> PluginContext::newScope() {
  auto scope = std::make_shared<net::LoopScope>(core_.loops.next(), core_.workers, id_);
  std::lock_guard lock(mutex_);
  scopes_.erase(
      std::remove_if(scopes_.begin(), scopes_.end(), [](const auto& w) { return w.expired(); }),
      scopes_.end());
  scopes_.push_back(scope);
  return scope;
}

sdk::Registration PluginContext::track(std::shared_ptr<sdk::Revoker> revoker) {
  std::lock_guard lock(mutex_);
  // Drop handles already revoked by their owner, so a plugin that churns registrations
  // (a timer per request) does not grow this list without bound.
  if (revokers_.size() >= prune_at_) {
    revokers_.erase(std::remove_if(revokers_.begin(), revokers_.end(),
                                   [](const auto& r) { return r->revoked(); }),
                    revokers_.end());
    prune_at_ = std::max<std::size_t>(64, 2 * revokers_.size());
  }
  revokers_.push_back(revoker);
  return sdk::Registration(std::move(revoker));
}

void PluginContext::revokeAll() {
  std::vector<std::shared_ptr<sdk::Revoker>> all;
  std::vector<std::weak_ptr<net::LoopScope>> scopes;
  {
    std::lock_guard lock(mutex_);
    all.swap(revokers_);
    scopes.swap(scopes_);
  }
  for (auto it = all.rbegin(); it != all.rend(); ++it) (*it)->revoke();
  for (auto& weak : scopes)
    if (auto scope = weak.lock()) scope->closeAndWait();
}

}  // namespace parley::core
