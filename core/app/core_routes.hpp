// What the core itself serves and counts: liveness, readiness, the two metrics views, and the
// instruments of what it owns (websocket sessions and their disconnects, upstream connections).
#pragma once

#include <memory>
#include <vector>

#include "parley/sdk/registration.hpp"

namespace parley::core {

class Router;
class MetricsRegistry;
class PluginHost;
class UpstreamClient;
namespace ws {
class WsServer;
}

std::vector<std::shared_ptr<sdk::Revoker>> addCoreRoutes(Router& router,
                                                         const MetricsRegistry& metrics,
                                                         const PluginHost& plugins);

std::vector<std::shared_ptr<sdk::Revoker>> addCoreMetrics(MetricsRegistry& metrics,
                                                          const ws::WsServer& websockets,
                                                          UpstreamClient& upstreams);

}  // namespace parley::core
