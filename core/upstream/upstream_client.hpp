// The core behind Context::upstreams(): websocket and streamed-HTTP clients on the event loops,
// one ClientStream each, sharing a resolver, a TLS context and the parley_upstream_* metrics.
#pragma once

#include <memory>
#include <string>

#include "core/net/tls.hpp"
#include "core/upstream/client_stream.hpp"
#include "core/upstream/resolver.hpp"
#include "parley/sdk/upstreams.hpp"

namespace parley::core {

class WorkerPool;
namespace net {
class LoopScope;
}

struct UpstreamSettings {
  std::string tls_ca_file;  // a private CA trusted beside the system's
  std::chrono::seconds dns_cache{60};
};

class UpstreamClient {
 public:
  UpstreamClient(const UpstreamSettings& settings, WorkerPool& workers);

  std::unique_ptr<sdk::WebSocketClient> webSocket(net::LoopScope& scope,
                                                  sdk::WebSocketRequest request,
                                                  sdk::WebSocketCallbacks callbacks);
  std::unique_ptr<sdk::HttpExchange> http(net::LoopScope& scope, sdk::HttpRequest request,
                                          sdk::HttpCallbacks callbacks);

  UpstreamInstruments& instruments() { return instruments_; }
  // For the metrics registry: the label values of the instruments' categories.
  static const std::vector<std::string>& protocolNames();  // websocket, http
  static const std::vector<std::string>& failureNames();   // resolve, connect, tls, ...

  // What the protocols share.
  std::shared_ptr<ClientStream> stream(net::LoopScope& scope, Endpoint endpoint,
                                       const sdk::UpstreamTimeouts& timeouts,
                                       std::weak_ptr<ClientStream::Listener> listener);

 private:
  Resolver resolver_;
  net::TlsContext tls_;
  UpstreamInstruments instruments_;
};

// Runs plugin callbacks so that the plugin may destroy its handle from inside one: the callbacks
// are freed once no call of them is running any more.
template <class Callbacks>
class CallbackSlot {
 public:
  explicit CallbackSlot(Callbacks callbacks) : callbacks_(std::move(callbacks)) {}
  // Calls `f(callbacks)` unless the handle was dropped.
  template <class F>
  void call(F&& f) {
    if (dropped_) return;
    ++depth_;
    f(callbacks_);
    if (--depth_ == 0 && dropped_) callbacks_ = {};
  }
  void drop() {
    dropped_ = true;
    if (depth_ == 0) callbacks_ = {};
  }
  bool dropped() const { return dropped_; }

 private:
  Callbacks callbacks_;
  int depth_ = 0;
  bool dropped_ = false;
};

}  // namespace parley::core
