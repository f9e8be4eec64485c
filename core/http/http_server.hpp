// The HTTP front: Poco's HTTPServer with an explicitly sized pool and limits, dispatching every
// request through the Router with bearer auth and JSON errors.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace Poco {
class Logger;
namespace Net {
class HTTPServerRequest;
class HTTPServerResponse;
}  // namespace Net
}  // namespace Poco

namespace parley::core {

class Router;
class BearerAuth;

struct HttpSettings {
  std::string host = "127.0.0.1";
  int port = 8080;       // 0 picks a free port; port() tells which
  int threads = 32;      // handler threads; keep-alive connections hold one each
  int max_queued = 256;  // accepted connections waiting for a thread; past it: 503
  std::int64_t max_body_bytes = 1 << 20;
  int read_timeout_ms = 10000;      // per read: a silent client frees its thread after this
  int request_deadline_ms = 30000;  // for a whole request body
  int keepalive_timeout_ms = 5000;
  int max_keepalive_requests = 10000;
};

class HttpServer {
 public:
  HttpServer(const HttpSettings& settings, const Router& router, const BearerAuth& auth,
             Poco::Logger& log);
  ~HttpServer();

  // Requests for `path` go to `handler` instead of the router (the websocket upgrade). Before
  // start().
  using UpgradeHandler =
      std::function<void(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&)>;
  void setUpgrade(std::string path, UpgradeHandler handler);

  void start();  // binds and listens; throws Poco::Exception (e.g. address in use)
  std::uint16_t port() const;
  // Stops accepting, lets in-flight requests finish within `deadline`, then closes the rest.
  // Returns whether everything finished in time.
  bool stop(std::chrono::milliseconds deadline);

  struct Impl;  // defined in http_server.cpp, where Poco's handler classes reach it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::core
