// Lets a registration be revoked while other threads may be calling into it: once close() returns,
// no call is running and none will start, so the plugin behind it may be destroyed. The core uses
// the SDK's own gate, the one plugins use for the hooks they offer.
#pragma once

#include "parley/sdk/hooks.hpp"

namespace parley::core {

using CallGate = sdk::Gate;

}  // namespace parley::core
