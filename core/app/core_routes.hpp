// The endpoints the core itself serves: liveness, readiness and the two metrics views.
#pragma once

#include <memory>
#include <vector>

#include "parley/sdk/registration.hpp"

namespace parley::core {

class Router;
class MetricsRegistry;
class PluginHost;

std::vector<std::shared_ptr<sdk::Revoker>> addCoreRoutes(Router& router,
                                                         const MetricsRegistry& metrics,
                                                         const PluginHost& plugins);

}  // namespace parley::core
