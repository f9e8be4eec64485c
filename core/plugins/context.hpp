// The Context one plugin sees. Everything it registers goes through here, is tagged with the
// plugin's id (for duplicate and error messages) and is revoked by revokeAll() when it stops.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "parley/sdk/context.hpp"

namespace Poco {
class Logger;
}

namespace parley::core {

class MetricsRegistry;
class Router;
class EventBus;
class TimerService;
class ServiceRegistry;
namespace ws {
class WsServer;
}

// What the core lends to every plugin context.
struct CoreServices {
  MetricsRegistry& metrics;
  Router& router;
  EventBus& events;
  TimerService& timers;
  ServiceRegistry& services;
  ws::WsServer& websockets;
};

class PluginContext final : public sdk::Context {
 public:
  PluginContext(std::string plugin_id, sdk::PluginConfig config, const CoreServices& core);
  ~PluginContext() override;

  const std::string& pluginId() const override { return id_; }
  sdk::Logger& log() override;
  const sdk::PluginConfig& config() const override { return config_; }
  sdk::MetricsRegistry& metrics() override;
  sdk::HttpRoutes& http() override;
  sdk::EventBus& events() override;
  sdk::Timers& timers() override;
  sdk::Services& services() override;
  sdk::WebSockets& websockets() override;

  // Turns a core revoker into the plugin's handle, remembering it for revokeAll().
  sdk::Registration track(std::shared_ptr<sdk::Revoker> revoker);
  void revokeAll();

 private:
  struct Facades;
  std::string id_;
  sdk::PluginConfig config_;
  std::unique_ptr<Facades> facades_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<sdk::Revoker>> revokers_;
  std::size_t prune_at_ = 64;
};

}  // namespace parley::core
