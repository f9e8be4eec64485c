// HTTP/1.1 on the event loops: one listening socket watched by every loop, each accepted
// connection served by one loop from then on (no thread per connection), requests parsed
// incrementally and strictly, limits enforced by the loop's timers however the bytes trickle in.
// Handlers run on the loop when they never block, or on the worker pool; the loop writes the
// response either way, in request order. GET on the websocket path upgrades in place.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "core/http/request_parser.hpp"
#include "parley/sdk/http.hpp"

namespace Poco {
class Logger;
}

namespace parley::core {

class Router;
class BearerAuth;
class AccessRegistry;
class WorkerPool;
namespace net {
class EventLoop;
class LoopGroup;
}  // namespace net

struct HttpSettings {
  std::string host = "127.0.0.1";
  int port = 8080;              // 0 picks a free port; port() tells which
  int max_connections = 10000;  // HTTP connections (upgraded ones count as websockets)
  std::size_t max_header_bytes = 16384;
  std::size_t max_headers = 100;
  std::int64_t max_body_bytes = 1 << 20;
  int header_timeout_ms = 10000;    // a request head must arrive whole within this
  int request_deadline_ms = 30000;  // and its body within this after the head
  int keepalive_timeout_ms = 5000;  // an idle kept-alive connection is closed after this
  int max_keepalive_requests = 10000;
};

// A websocket upgrade request, as the websocket server sees it.
struct UpgradeRequest {
  const RequestHead& head;
  std::string path;   // decoded
  std::string query;  // raw, after '?'
  std::string remote_address;
};

// What the websocket server decided: a refusal to send (the connection then closes), or an
// admission whose socket it takes over.
class UpgradeHandler {
 public:
  virtual ~UpgradeHandler() = default;
  struct Admission;
  using Decision = std::variant<sdk::Response, std::shared_ptr<Admission>>;
  // The plugin whose credential verifier decides this upgrade, or empty: then admit() runs on
  // the worker pool (a verifier may read its store), else on the loop.
  virtual std::string verifierOwner(const UpgradeRequest& request) const = 0;
  virtual Decision admit(const UpgradeRequest& request) = 0;
  // Takes the socket (already unwatched) with the bytes read past the request head.
  virtual void adopt(std::shared_ptr<Admission> admission, int fd, net::EventLoop& loop,
                     std::string early_bytes) = 0;
};

class HttpServer {
 public:
  using ErrorSink = std::function<void(const std::string& owner, const std::string& what)>;

  HttpServer(const HttpSettings& settings, net::LoopGroup& loops, WorkerPool& workers,
             const Router& router, const BearerAuth& auth, const AccessRegistry& access,
             Poco::Logger& log);
  ~HttpServer();

  // Requests for `path` go to `handler` (the websocket upgrade). Before start().
  void setUpgrade(std::string path, UpgradeHandler* handler);

  void start();  // binds and listens; throws std::runtime_error (address in use, ...)
  std::uint16_t port() const;

  // Shutdown, in this order: stop accepting; close idle connections and let the others end after
  // their current response; whatever is left at the deadline is closed by abortAll().
  void stopAccepting();
  void drain();
  void abortAll();
  int connections() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace parley::core
