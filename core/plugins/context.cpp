#include "core/plugins/context.hpp"

#include <Poco/Logger.h>

#include <algorithm>

#include "core/http/router.hpp"
#include "core/metrics/registry.hpp"
#include "core/runtime/event_bus.hpp"
#include "core/runtime/services.hpp"
#include "core/runtime/timers.hpp"
#include "core/ws/ws_server.hpp"

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

class TimersFacade final : public sdk::Timers {
 public:
  TimersFacade(PluginContext& ctx, TimerService& timers) : ctx_(ctx), timers_(timers) {}
  sdk::Registration after(std::chrono::milliseconds delay, std::function<void()> task) override {
    return ctx_.track(timers_.schedule(ctx_.pluginId(), delay, {}, std::move(task)));
  }
  sdk::Registration every(std::chrono::milliseconds period, std::function<void()> task) override {
    if (period.count() <= 0) throw std::invalid_argument("a timer period must be positive");
    return ctx_.track(timers_.schedule(ctx_.pluginId(), period, period, std::move(task)));
  }

 private:
  PluginContext& ctx_;
  TimerService& timers_;
};

class ServicesFacade final : public sdk::Services {
 public:
  ServicesFacade(PluginContext& ctx, ServiceRegistry& reg) : ctx_(ctx), reg_(reg) {}
  sdk::Registration provide(const std::string& name, std::shared_ptr<void> service) override {
    return ctx_.track(reg_.provide(ctx_.pluginId(), name, std::move(service)));
  }
  std::shared_ptr<void> findRaw(const std::string& name) const override { return reg_.find(name); }

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
  sdk::Registration onBinary(BinaryHandler handler, sdk::RunOn where) override {
    return ctx_.track(server_.onBinary(ctx_.pluginId(), std::move(handler), where));
  }
  sdk::Registration onOpen(OpenHandler handler) override {
    return ctx_.track(server_.onOpen(ctx_.pluginId(), std::move(handler)));
  }
  sdk::Registration onClose(CloseHandler handler) override {
    return ctx_.track(server_.onClose(ctx_.pluginId(), std::move(handler)));
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

}  // namespace

struct PluginContext::Facades {
  LoggerFacade logger;
  MetricsFacade metrics;
  RoutesFacade routes;
  EventsFacade events;
  TimersFacade timers;
  ServicesFacade services;
  WebSocketsFacade websockets;
};

PluginContext::PluginContext(std::string plugin_id, sdk::PluginConfig config,
                             const CoreServices& core)
    : id_(std::move(plugin_id)), config_(std::move(config)) {
  facades_.reset(new Facades{LoggerFacade(id_), MetricsFacade(*this, core.metrics),
                             RoutesFacade(*this, core.router), EventsFacade(*this, core.events),
                             TimersFacade(*this, core.timers), ServicesFacade(*this, core.services),
                             WebSocketsFacade(*this, core.websockets)});
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
  {
    std::lock_guard lock(mutex_);
    all.swap(revokers_);
  }
  for (auto it = all.rbegin(); it != all.rend(); ++it) (*it)->revoke();
}

}  // namespace parley::core
