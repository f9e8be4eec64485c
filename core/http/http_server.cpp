#include "core/http/http_server.hpp"

#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/String.h>
#include <Poco/ThreadPool.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "core/http/bearer_auth.hpp"
#include "core/http/router.hpp"
#include "core/http/url.hpp"
#include "parley/sdk/errors.hpp"
#include "parley/sdk/json.hpp"

namespace parley::core {

using Poco::Net::HTTPRequestHandler;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

namespace {

void send(HTTPServerResponse& resp, const sdk::Response& r) {
  resp.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
  resp.setContentType(r.content_type);
  for (const auto& [name, value] : r.headers) resp.set(name, value);
  resp.sendBuffer(r.body.data(), r.body.size());
}

void sendError(HTTPServerResponse& resp, int status, std::string_view code,
               std::string_view message) {
  send(resp, sdk::Response::error(status, code, message));
}

// Refuses connections with a 503 once the accept queue is full, instead of Poco's silent close.
class OverloadFilter : public Poco::Net::TCPServerConnectionFilter {
 public:
  explicit OverloadFilter(int max_queued) : max_queued_(max_queued) {}
  void attach(const Poco::Net::TCPServer* server) { server_ = server; }

  bool accept(const Poco::Net::StreamSocket& socket) override {
    if (!server_ || server_->queuedConnections() < max_queued_) return true;
    static const std::string kBody =
        sdk::jsonError("overloaded", "the server is at its connection limit; retry shortly");
    static const std::string kResponse =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
        "Connection: close\r\nContent-Length: " +
        std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
    try {
      Poco::Net::StreamSocket s(socket);
      s.setSendTimeout(Poco::Timespan(0, 100000));
      s.sendBytes(kResponse.data(), static_cast<int>(kResponse.size()));
      s.shutdownSend();
    } catch (const Poco::Exception&) {
      // The client is gone already; nothing to tell.
    }
    return false;
  }

 private:
  int max_queued_;
  const Poco::Net::TCPServer* server_ = nullptr;
};

}  // namespace

struct HttpServer::Impl {
  HttpSettings settings;
  const Router& router;
  const BearerAuth& auth;
  Poco::Logger& log;
  Poco::ThreadPool pool;
  Poco::AutoPtr<OverloadFilter> filter;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  std::uint16_t bound_port = 0;
  std::atomic<int> in_flight{0};
  std::string upgrade_path;
  HttpServer::UpgradeHandler upgrade;
  std::atomic<bool> draining{false};

  Impl(const HttpSettings& s, const Router& r, const BearerAuth& a, Poco::Logger& l)
      : settings(s),
        router(r),
        auth(a),
        log(l),
        pool("http", std::min(2, s.threads), s.threads, 60),
        filter(new OverloadFilter(s.max_queued)) {}

  void handle(HTTPServerRequest& req, HTTPServerResponse& resp);
  bool authorize(const Router::Route& route, const HTTPServerRequest& req, HTTPServerResponse& resp,
                 sdk::Principal& principal) const;
  bool readBody(HTTPServerRequest& req, HTTPServerResponse& resp, std::string& body) const;
};

namespace {

class Dispatch : public HTTPRequestHandler {
 public:
  explicit Dispatch(HttpServer::Impl& impl) : impl_(impl) {}
  void handleRequest(HTTPServerRequest& req, HTTPServerResponse& resp) override;

 private:
  HttpServer::Impl& impl_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(HttpServer::Impl& impl) : impl_(impl) {}
  HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new Dispatch(impl_);
  }

 private:
  HttpServer::Impl& impl_;
};

}  // namespace
}  // namespace parley::core

namespace parley::core {

void Dispatch::handleRequest(HTTPServerRequest& req, HTTPServerResponse& resp) {
  struct InFlight {
    std::atomic<int>& n;
    explicit InFlight(std::atomic<int>& c) : n(c) { ++n; }
    ~InFlight() { --n; }
  } in_flight(impl_.in_flight);
  try {
    impl_.handle(req, resp);
  } catch (const std::exception& e) {
    impl_.log.error("%s %s: %s", req.getMethod(), req.getURI(), std::string(e.what()));
    if (!resp.sent()) sendError(resp, 500, "internal_error", "the server failed to answer");
  }
}

bool HttpServer::Impl::authorize(const Router::Route& route, const HTTPServerRequest& req,
                                 HTTPServerResponse& resp, sdk::Principal& principal) const {
  if (route.auth == sdk::AuthPolicy::kPublic) return true;
  static const std::string kNone;
  AuthResult result = auth.authenticateHeader(req.get("Authorization", kNone));
  if (!result.ok) {
    // RFC 6750: no error attribute when no credentials were offered at all.
    std::string challenge = "Bearer realm=\"parley\"";
    if (result.code != "missing_token") challenge += ", error=\"invalid_token\"";
    resp.set("WWW-Authenticate", challenge);
    sendError(resp, 401, result.code, result.message);
    return false;
  }
  if (route.auth == sdk::AuthPolicy::kOperator && !result.is_operator) {
    sendError(resp, 403, "forbidden", "this endpoint needs an operator token");
    return false;
  }
  principal.subject = std::move(result.subject);
  principal.is_operator = result.is_operator;
  return true;
}

bool HttpServer::Impl::readBody(HTTPServerRequest& req, HTTPServerResponse& resp,
                                std::string& body) const {
  const bool chunked = req.getChunkedTransferEncoding();
  if (!chunked && !req.hasContentLength()) return true;  // nothing announced, nothing to read
  const auto limit = settings.max_body_bytes;
  auto tooLarge = [&] {
    resp.setKeepAlive(false);  // the rest of the body is never read
    sendError(resp, 413, "payload_too_large",
              "the request body exceeds " + std::to_string(limit) + " bytes");
    return false;
  };
  if (!chunked && req.getContentLength64() > limit) return tooLarge();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(settings.request_deadline_ms);
  std::istream& in = req.stream();
  char buf[16384];
  while (in.read(buf, sizeof buf), in.gcount() > 0) {
    body.append(buf, static_cast<std::size_t>(in.gcount()));
    if (static_cast<std::int64_t>(body.size()) > limit) return tooLarge();
    if (std::chrono::steady_clock::now() > deadline) {
      resp.setKeepAlive(false);
      sendError(resp, 408, "request_timeout", "the request body took too long to arrive");
      return false;
    }
  }
  if (in.bad()) {
    resp.setKeepAlive(false);
    sendError(resp, 400, "bad_request", "the request body could not be read");
    return false;
  }
  return true;
}

void HttpServer::Impl::handle(HTTPServerRequest& req, HTTPServerResponse& resp) {
  // Under load, close kept-alive connections so that queued clients get a thread too; while
  // draining, so that the connection ends with this request.
  if (draining || (server && server->queuedConnections() > 0)) resp.setKeepAlive(false);

  const std::string& uri = req.getURI();
  const auto qmark = uri.find('?');
  std::string path;
  if (!percentDecode(std::string_view(uri).substr(0, qmark), path, false) || path.empty() ||
      path[0] != '/')
    return sendError(resp, 400, "bad_request", "the request path is not a valid URL path");

  if (upgrade && path == upgrade_path) return upgrade(req, resp);

  Router::Match m = router.match(req.getMethod(), path);
  if (m.outcome == Router::Outcome::kNotFound)
    return sendError(resp, 404, "not_found", "no such endpoint: " + path);
  if (m.outcome == Router::Outcome::kMethodNotAllowed) {
    resp.set("Allow", m.allow);
    return sendError(resp, 405, "method_not_allowed",
                     req.getMethod() + " is not allowed here; allowed: " + m.allow);
  }

  sdk::Request request;
  if (!authorize(*m.route, req, resp, request.principal)) return;
  if (!readBody(req, resp, request.body)) return;
  if (qmark != std::string::npos &&
      !parseQuery(std::string_view(uri).substr(qmark + 1), request.query))
    return sendError(resp, 400, "bad_request", "the query string is not valid URL encoding");

  request.method = req.getMethod();
  request.path = std::move(path);
  request.path_params = std::move(m.params);
  request.remote_address = req.clientAddress().host().toString();
  request.headers.reserve(req.size());
  for (const auto& [name, value] : req) request.headers.emplace_back(Poco::toLower(name), value);

  CallGate::Pass pass(m.route->gate);
  if (!pass) return sendError(resp, 404, "not_found", "no such endpoint: " + request.path);
  try {
    send(resp, m.route->handler(request));
  } catch (const sdk::HttpError& e) {
    if (!resp.sent()) sendError(resp, e.status(), e.code(), e.what());
  } catch (const std::exception& e) {
    log.error("[%s] %s %s failed: %s", m.route->owner, request.method, request.path,
              std::string(e.what()));
    if (!resp.sent()) sendError(resp, 500, "internal_error", "the handler failed");
  }
}

HttpServer::HttpServer(const HttpSettings& settings, const Router& router, const BearerAuth& auth,
                       Poco::Logger& log)
    : impl_(std::make_unique<Impl>(settings, router, auth, log)) {}

HttpServer::~HttpServer() {
  if (impl_->server) stop(std::chrono::milliseconds(0));
}

void HttpServer::setUpgrade(std::string path, UpgradeHandler handler) {
  impl_->upgrade_path = std::move(path);
  impl_->upgrade = std::move(handler);
}

void HttpServer::start() {
  const HttpSettings& s = impl_->settings;
  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress(s.host, static_cast<Poco::UInt16>(s.port)), true);
  socket.listen(1024);
  impl_->bound_port = socket.address().port();

  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(s.threads);
  // Poco's own limit silently drops; the filter answers 503 just before it is reached.
  params->setMaxQueued(s.max_queued + 1);
  params->setTimeout(Poco::Timespan(static_cast<long>(s.read_timeout_ms) * 1000));
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(static_cast<long>(s.keepalive_timeout_ms) * 1000));
  params->setMaxKeepAliveRequests(s.max_keepalive_requests);
  params->setServerName("parleyd");

  impl_->server =
      std::make_unique<Poco::Net::HTTPServer>(new Factory(*impl_), impl_->pool, socket, params);
  impl_->filter->attach(impl_->server.get());
  impl_->server->setConnectionFilter(impl_->filter);
  impl_->server->start();
}

std::uint16_t HttpServer::port() const {
  return impl_->bound_port;
}

bool HttpServer::stop(std::chrono::milliseconds deadline) {
  auto& server = impl_->server;
  if (!server) return true;
  // Stop accepting, and let requests in progress finish (their connections close after them).
  // Poco's stopAll(false) would wait for them with no deadline, so the wait is ours.
  impl_->draining = true;
  server->stop();
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (impl_->in_flight > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const bool clean = impl_->in_flight == 0;
  server->stopAll(true);  // closes idle kept-alive connections, and aborts stragglers
  // A handler still running keeps its thread until it returns; joinAll waits for it, since the
  // plugin behind it must not be stopped under it.
  impl_->pool.joinAll();
  server.reset();
  return clean;
}

}  // namespace parley::core
