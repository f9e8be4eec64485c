// What the HTTP server's connections share with it (private to core/http): settings and limits,
// the router, auth and worker pool, the counters, and each loop's connections. The server's own
// code is in http_server.cpp, a connection's in http_connection.hpp.
#pragma once

#include <Poco/Logger.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/http/http_server.hpp"
#include "core/http/request_parser.hpp"
#include "core/net/event_loop.hpp"

namespace parley::core {

namespace http_detail {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadChunk = 16 * 1024;
// Responses a client has not read yet: past this, no further request is parsed until it reads.
constexpr std::size_t kMaxPendingOutput = 256 * 1024;

// Counts and logs, at most once per interval, something that may happen in bursts (a slowloris
// attack closes thousands of connections): the log says how many, never once each.
class BurstLog {
 public:
  BurstLog(Poco::Logger& log, std::string what) : log_(log), what_(std::move(what)) {}
  void count() {
    const auto n = pending_.fetch_add(1, std::memory_order_relaxed) + 1;
    const auto now = Clock::now().time_since_epoch().count();
    auto last = last_.load(std::memory_order_relaxed);
    if (now - last < std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(10)).count())
      return;
    if (!last_.compare_exchange_strong(last, now)) return;
    pending_.fetch_sub(n, std::memory_order_relaxed);
    log_.warning(what_ + " (" + std::to_string(n) + " since the last such line)");
  }

 private:
  Poco::Logger& log_;
  std::string what_;
  std::atomic<std::uint64_t> pending_{0};
  std::atomic<Clock::rep> last_{
      Clock::time_point().time_since_epoch().count() -
      std::chrono::duration_cast<Clock::duration>(std::chrono::hours(1)).count()};
};

class HttpConnection;

}  // namespace http_detail

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  HttpSettings settings;
  net::LoopGroup& loops;
  WorkerPool& workers;
  const Router& router;
  const BearerAuth& auth;
  const AccessRegistry& access;
  Poco::Logger& log;
  RequestLimits limits;
  std::string upgrade_path;
  UpgradeHandler* upgrade = nullptr;
  int listen_fd = -1;
  std::uint16_t bound_port = 0;
  std::atomic<int> connections{0};
  std::atomic<bool> accepting{false};
  std::atomic<bool> draining{false};
  http_detail::BurstLog slow_heads;
  http_detail::BurstLog refused_at_limit;

  // One per loop, touched only by its loop: the connections it serves, and its share of the
  // listening socket.
  struct PerLoop final : net::IoHandler {
    Impl* impl = nullptr;
    net::EventLoop* loop = nullptr;
    bool listening = false;
    std::unordered_set<std::shared_ptr<http_detail::HttpConnection>> live;
    void onIo(std::uint32_t) override { impl->acceptSome(*this); }
  };
  std::vector<std::unique_ptr<PerLoop>> per_loop;

  Impl(const HttpSettings& s, net::LoopGroup& l, WorkerPool& w, const Router& r,
       const BearerAuth& a, const AccessRegistry& ac, Poco::Logger& lg)
      : settings(s),
        loops(l),
        workers(w),
        router(r),
        auth(a),
        access(ac),
        log(lg),
        slow_heads(lg,
                   "closed connections whose request head did not arrive within "
                   "http.header_timeout_ms (slow clients, or a slowloris attack)"),
        refused_at_limit(lg, "refused connections past http.max_connections with 503") {
    limits.max_header_bytes = s.max_header_bytes;
    limits.max_headers = s.max_headers;
    limits.max_body_bytes = static_cast<std::uint64_t>(s.max_body_bytes);
  }

  void acceptSome(PerLoop& here);
  void adopt(PerLoop& slot, int fd, std::string remote);
  PerLoop& slotOf(const net::EventLoop& loop) {
    for (auto& p : per_loop)
      if (p->loop == &loop) return *p;
    throw std::logic_error("a connection of no loop");
  }
};

}  // namespace parley::core
