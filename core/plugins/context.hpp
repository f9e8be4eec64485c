// The Context one plugin sees. Everything it registers goes through here, is tagged with the
// plugin's id (for duplicate and error messages) and is revoked by revokeAll() when it stops; the
// scopes it made are closed then too.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "parley/sdk/context.hpp"

namespace parley::core {

class MetricsRegistry;
class Router;
class EventBus;
class ServiceRegistry;
class AccessRegistry;
class WorkerPool;
class UpstreamClient;
namespace net {
class LoopGroup;
class LoopScope;
}  // namespace net
namespace ws {
class WsServer;
}

// What the core lends to every plugin context.
struct CoreServices {
  MetricsRegistry& metrics;
  Router& router;
  EventBus& events;
  ServiceRegistry& services;
  ws::WsServer& websockets;
  net::LoopGroup& loops;
  WorkerPool& workers;
  AccessRegistry& access;
  UpstreamClient& upstreams;
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
  sdk::Scopes& scopes() override;
  sdk::Upstreams& upstreams() override;
  sdk::Access& access() override;

  // Turns a core revoker into the plugin's handle, remembering it for revokeAll().
  sdk::Registration track(std::shared_ptr<sdk::Revoker> revoker);
  // A scope of the plugin's own, closed by revokeAll().
  std::shared_ptr<net::LoopScope> newScope();
  // Revokes every registration, newest first, and closes the plugin's scopes (waiting for their
  // callbacks): afterwards nothing of the plugin runs.
  void revokeAll();

 private:
  struct Facades;
  std::string id_;
  sdk::PluginConfig config_;
  CoreServices core_;
  std::unique_ptr<Facades> facades_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<sdk::Revoker>> revokers_;
  std::size_t prune_at_ = 64;
  std::vector<std::weak_ptr<net::LoopScope>> scopes_;
};

}  // namespace parley::core
