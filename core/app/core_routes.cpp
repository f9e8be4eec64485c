#include "core/app/core_routes.hpp"

#include <Poco/Timestamp.h>

#include "core/http/router.hpp"
#include "core/metrics/registry.hpp"
#include "core/plugins/host.hpp"
#include "core/upstream/upstream_client.hpp"
#include "core/ws/ws_server.hpp"
#include "parley/sdk/json.hpp"

namespace parley::core {

std::vector<std::shared_ptr<sdk::Revoker>> addCoreRoutes(Router& router,
                                                         const MetricsRegistry& metrics,
                                                         const PluginHost& plugins) {
  using sdk::AuthPolicy;
  using sdk::Request;
  using sdk::Response;
  std::vector<std::shared_ptr<sdk::Revoker>> routes;

  // All on the event loop: none of them blocks (a plugin's health() must not).
  constexpr auto kLoop = sdk::RunOn::kLoop;
  routes.push_back(router.add(
      "core", "GET", "/healthz", AuthPolicy::kPublic,
      [](const Request&) { return Response::json(200, "{\"status\":\"ok\"}"); }, kLoop));

  routes.push_back(router.add(
      "core", "GET", "/readyz", AuthPolicy::kPublic,
      [&plugins](const Request&) {
        bool ready = true;
        std::string list;
        for (const auto& st : plugins.status()) {
          // A skipped optional plugin does not make the instance unready; it is reported.
          const bool ok = st.failed || (st.running && st.health.ready);
          ready = ready && ok;
          list += list.empty() ? "{\"id\":" : ",{\"id\":";
          sdk::appendJsonString(list, st.id);
          list += ",\"state\":";
          sdk::appendJsonString(list, st.failed ? "skipped" : st.running ? "running" : "stopped");
          list += ",\"ready\":";
          list += ok ? "true" : "false";
          const std::string& detail = st.failed ? st.failure : st.health.detail;
          if (!detail.empty()) {
            list += ",\"detail\":";
            sdk::appendJsonString(list, detail);
          }
          list += '}';
        }
        Response r = Response::json(ready ? 200 : 503, std::string("{\"status\":\"") +
                                                           (ready ? "ready" : "not_ready") +
                                                           "\",\"plugins\":[" + list + "]}");
        if (!ready) r.headers.emplace_back("Retry-After", "1");
        return r;
      },
      kLoop));

  routes.push_back(router.add(
      "core", "GET", "/api/system/metrics", AuthPolicy::kBearer,
      [&metrics](const Request&) {
        Response r;
        r.body.reserve(2048);
        const double now = static_cast<double>(Poco::Timestamp().epochMicroseconds()) / 1e6;
        metrics.writeJson(r.body, now);
        return r;
      },
      kLoop));

  routes.push_back(router.add(
      "core", "GET", "/metrics", AuthPolicy::kBearer,
      [&metrics](const Request&) {
        Response r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body.reserve(8192);
        metrics.writePrometheus(r.body);
        return r;
      },
      kLoop));
  return routes;
}

std::vector<std::shared_ptr<sdk::Revoker>> addCoreMetrics(MetricsRegistry& metrics,
                                                          const ws::WsServer& websockets,
                                                          UpstreamClient& upstreams) {
  std::vector<std::shared_ptr<sdk::Revoker>> regs;
  regs.push_back(metrics.addGauge("core", "ws_connections_active", "Open websocket connections.",
                                  websockets.connectionsGauge()));
  sdk::CategorySpec disconnects{"ws_disconnects_total", {}, "Websocket disconnects, by reason."};
  for (std::size_t r = 0; r <= static_cast<std::size_t>(sdk::DisconnectReason::kOther); ++r)
    disconnects.names.push_back(std::string("ws_disconnect_") +
                                sdk::reasonName(static_cast<sdk::DisconnectReason>(r)));
  regs.push_back(metrics.addCategories("core", disconnects, websockets.disconnects()));

  UpstreamInstruments& up = upstreams.instruments();
  regs.push_back(metrics.addLabeled(
      "core",
      sdk::LabeledSpec{"upstream_connects", "protocol", UpstreamClient::protocolNames(),
                       "Outbound connections established (TCP, TLS and handshake done)."},
      up.connects));
  regs.push_back(metrics.addLabeled(
      "core",
      sdk::LabeledSpec{"upstream_failures", "reason", UpstreamClient::failureNames(),
                       "Outbound connections that failed, by why."},
      up.failures));
  regs.push_back(
      metrics.addGauge("core", "upstream_open", "Outbound connections open now.", up.open));
  regs.push_back(metrics.addAverage(
      "core",
      sdk::AverageSpec{"avg_upstream_tls_handshake_ms", "upstream_tls_handshake_total_ms",
                       "upstream_tls_handshake_samples", "Outbound TLS handshake duration.", 2},
      up.tls_handshake_ms));
  return regs;
}

}  // namespace parley::core
