// What every upstream protocol's entry point does around its own connection: report a URL refused
// before any connection like any other failure, and start the upstream on its scope's thread.
#pragma once

#include <memory>
#include <string>

#include "core/net/scope.hpp"
#include "parley/sdk/upstreams.hpp"

namespace parley::core {

// Calls `done` with a connect failure saying `message`: on the scope, after the caller has its
// handle (never from inside the call that asked), and only while that handle lives (`live`).
template <class Done>
void reportRefusal(net::LoopScope& scope, std::shared_ptr<bool> live, Done done,
                   std::string message) {
  scope.post([live = std::move(live), done = std::move(done), message = std::move(message)] {
    sdk::UpstreamResult r;
    r.kind = sdk::UpstreamResult::Kind::kConnect;
    r.message = message;
    if (*live && done) done(r);
  });
}

template <class Upstream>
void startOnScope(net::LoopScope& scope, const std::shared_ptr<Upstream>& up) {
  if (scope.here())
    up->start();
  else
    scope.post([up] { up->start(); });
}

}  // namespace parley::core
