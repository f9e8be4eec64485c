#include "core/upstream/upstream_client.hpp"

#include "core/net/scope.hpp"

namespace parley::core {

UpstreamClient::UpstreamClient(const UpstreamSettings& settings, WorkerPool& workers)
    : resolver_(workers, settings.dns_cache), tls_(settings.tls_ca_file) {
  instruments_.connects = std::make_shared<sdk::CategoryCounter>(protocolNames().size());
  instruments_.failures = std::make_shared<sdk::CategoryCounter>(failureNames().size());
  instruments_.open = std::make_shared<sdk::Gauge>();
  instruments_.tls_handshake_ms =
      std::make_shared<sdk::Histogram>(sdk::Histogram::millisecondBuckets());
}

const std::vector<std::string>& UpstreamClient::protocolNames() {
  static const std::vector<std::string> names = {"websocket", "http"};
  return names;
}

const std::vector<std::string>& UpstreamClient::failureNames() {
  // UpstreamResult::Kind after kOk, in order.
  static const std::vector<std::string> names = {"resolve", "connect",  "tls",   "timeout",
                                                 "status",  "protocol", "closed"};
  return names;
}

std::shared_ptr<ClientStream> UpstreamClient::stream(
    net::LoopScope& scope, Endpoint endpoint, const sdk::UpstreamTimeouts& timeouts,
    std::weak_ptr<ClientStream::Listener> listener) {
  return std::make_shared<ClientStream>(scope.loop(), resolver_, tls_, instruments_,
                                        std::move(endpoint), timeouts, std::move(listener));
}

}  // namespace parley::core
