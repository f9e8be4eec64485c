// One HTTP/1.1 connection on its event loop: reads and parses requests in order (keep-alive and
// pipelining), routes and authorizes each at its head, runs its handler on the loop or the worker
// pool, writes responses in order, enforces the head, body and keep-alive deadlines, and hands a
// websocket upgrade over to the websocket server. Included by http_server.cpp only.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <optional>

#include "core/http/bearer_auth.hpp"
#include "core/http/response.hpp"
#include "core/http/router.hpp"
#include "core/http/server_state.hpp"
#include "core/http/url.hpp"
#include "core/net/socket.hpp"
#include "core/runtime/access_registry.hpp"
#include "core/runtime/worker_pool.hpp"
#include "parley/sdk/errors.hpp"

namespace parley::core::http_detail {

using net::EventLoop;
using Impl = HttpServer::Impl;

class HttpConnection final : public net::IoHandler,
                             public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(std::shared_ptr<Impl> server, EventLoop& loop, int fd, std::string remote)
      : server_(std::move(server)),
        loop_(loop),
        fd_(fd),
        remote_(std::move(remote)),
        parser_(std::make_unique<RequestParser>(server_->limits)) {}
  ~HttpConnection() override { net::closeFd(fd_); }

  void begin() {
    if (!loop_.watch(fd_, EPOLLIN | EPOLLRDHUP, this)) return finish();
    watched_ = true;
    // A connection that never sends a whole head is closed after the head timeout, bytes or not.
    setDeadline(loop_.now() + headTimeout());
  }

  void onIo(std::uint32_t events) override {
    if (closed_) return;
    // Both directions shut (or reset): nobody to answer, whatever is running.
    if (events & (EPOLLHUP | EPOLLERR) && phase_ == Phase::kHandling) return finish();
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readable();
    if (!closed_ && (events & EPOLLOUT)) flush();
  }

  void onFlush() override {
    flush_scheduled_ = false;
    flush();
  }

  // Shutdown: an idle connection closes now; a busy one after its current response.
  void drain() {
    if (closed_) return;
    draining_ = true;
    if (phase_ == Phase::kIdle && !parser_->started() && out_.size() == out_off_) finish();
  }

  void abort() { finish(); }

 private:
  enum class Phase {
    kIdle,      // reading the next request head (or waiting for its first byte)
    kBody,      // the head was accepted; reading the body
    kHandling,  // a handler runs on the worker pool
    kClosing,   // the last response is queued; close once it is written
  };

  std::chrono::milliseconds headTimeout() const {
    return std::chrono::milliseconds(server_->settings.header_timeout_ms);
  }

  // One timer per connection, re-armed lazily: moving the deadline later costs nothing, so a
  // deadline per request (100k requests a second) never touches the timer heap.
  void setDeadline(Clock::time_point when) {
    deadline_ = when;
    if (timer_ && timer_due_ <= when) return;
    if (timer_) loop_.cancel(timer_);
    timer_due_ = when;
    std::weak_ptr<HttpConnection> weak = shared_from_this();
    timer_ = loop_.at(when, [weak] {
      if (auto self = weak.lock()) self->deadlineReached();
    });
  }
  void clearDeadline() { deadline_ = Clock::time_point::max(); }

  void deadlineReached() {
    timer_ = 0;
    if (closed_ || deadline_ == Clock::time_point::max()) return;
    if (loop_.now() < deadline_) return setDeadline(deadline_);
    switch (phase_) {
      case Phase::kIdle:
        if (!parser_->started()) return finish();  // an idle kept-alive connection, or silent
        server_->slow_heads.count();
        return fail(408, "request_timeout", "the request head did not arrive in time");
      case Phase::kBody:
        return fail(408, "request_timeout", "the request body did not arrive in time");
      case Phase::kHandling: return;  // the handler's time is the shutdown deadline's business
      case Phase::kClosing: return finish();  // the client does not read its last response
    }
  }

  void readable() {
    char buf[kReadChunk];
    while (!closed_) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        in_.append(buf, static_cast<std::size_t>(n));
        if (static_cast<std::size_t>(n) < sizeof buf) break;
        if (in_.size() - in_off_ > 4 * kReadChunk) break;  // parse before reading more
        continue;
      }
      if (n == 0) {
        peer_done_ = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return finish();
      break;
    }
    process();
    if (peer_done_ && !closed_ && phase_ != Phase::kHandling) {
      // The client will send nothing more: answer what it asked, then close.
      if (out_.size() == out_off_) return finish();
      phase_ = Phase::kClosing;
    }
    updateInterest();
  }

  // Parses and answers complete requests from what has been read, in order, until one needs
  // more bytes or a worker.
  void process() {
    while (!closed_ && (phase_ == Phase::kIdle || phase_ == Phase::kBody) &&
           out_.size() - out_off_ < kMaxPendingOutput) {
      const std::size_t before = in_off_;
      const bool was_started = parser_->started();
      in_off_ += parser_->feed(in_.data() + in_off_, in_.size() - in_off_);
      if (!was_started && parser_->started() && phase_ == Phase::kIdle)
        setDeadline(loop_.now() + headTimeout());  // the head's clock starts at its first byte
      switch (parser_->state()) {
        case RequestParser::State::kNeedMore:
          if (in_off_ == before) return compact();
          continue;
        case RequestParser::State::kError:
          return fail(parser_->errorStatus(), parser_->errorCode(), parser_->errorMessage());
        case RequestParser::State::kHead:
          if (phase_ == Phase::kBody) {
            if (in_off_ == before) return compact();
            continue;
          }
          headArrived();
          continue;
        case RequestParser::State::kDone:
          if (phase_ == Phase::kIdle && !headArrived()) continue;
          dispatch();
          continue;
      }
    }
  }

  void compact() {
    if (in_off_ == in_.size()) {
      in_.clear();
      in_off_ = 0;
    } else if (in_off_ > in_.size() / 2) {
      in_.erase(0, in_off_);
      in_off_ = 0;
    }
  }

  // The head is complete: route and authorize now, before any body is read. False when that
  // already answered the request (an error, or the websocket upgrade).
  bool headArrived() {
    const RequestHead& head = parser_->head();
    const std::string& target = head.target;
    const auto qmark = target.find('?');
    const std::string_view raw_path = std::string_view(target).substr(0, qmark);
    head_only_ = head.method == "HEAD";
    match_ = server_->router.match(head_only_ ? "GET" : head.method, raw_path);
    query_ = qmark == std::string::npos ? std::string() : target.substr(qmark + 1);

    principal_.subject.clear();  // who asked before on this connection is not who asks now
    principal_.is_operator = false;
    if (match_.outcome == Router::Outcome::kBadPath)
      return refuseEarly(
          sdk::Response::error(400, "bad_request", "the request path is not a valid URL path"));
    query_fields_.clear();
    if (!query_.empty() && !parseQuery(query_, query_fields_))
      return refuseEarly(
          sdk::Response::error(400, "bad_request", "the query string is not valid URL encoding"));
    if (server_->upgrade && match_.path == server_->upgrade_path) {
      upgradeToWebSocket();
      return false;
    }
    if (match_.outcome == Router::Outcome::kNotFound)
      return refuseEarly(
          sdk::Response::error(404, "not_found", "no such endpoint: " + match_.path));
    if (match_.outcome == Router::Outcome::kMethodNotAllowed) {
      sdk::Response r =
          sdk::Response::error(405, "method_not_allowed",
                               head.method + " is not allowed here; allowed: " + match_.allow);
      r.headers.emplace_back("Allow", match_.allow);
      return refuseEarly(std::move(r));
    }
    if (auto refusal = authorize()) return refuseEarly(std::move(*refusal));
    if (parser_->state() == RequestParser::State::kHead) {  // a body follows
      if (head.expect_continue) {
        out_ += "HTTP/1.1 100 Continue\r\n\r\n";
        scheduleFlush();
      }
      parser_->readBody();
      phase_ = Phase::kBody;
      setDeadline(loop_.now() + std::chrono::milliseconds(server_->settings.request_deadline_ms));
    }
    return true;
  }

  // Answers before the body: the connection keeps going only if there is no body to skip.
  bool refuseEarly(sdk::Response response) {
    const bool body_follows = parser_->state() == RequestParser::State::kHead;
    respond(response, body_follows);
    return false;
  }

  std::optional<sdk::Response> authorize() {
    const Router::Route& route = *match_.route;
    // A plugin's credential (a share token) decides, on the worker pool, before the handler.
    if (!route.verifier.empty()) return std::nullopt;
    if (route.auth == sdk::AuthPolicy::kPublic) return std::nullopt;
    AuthResult result = server_->auth.authenticateHeader(parser_->head().header("authorization"));
    if (!result.ok) {
      // RFC 6750: no error attribute when no credentials were offered at all.
      std::string challenge = "Bearer realm=\"parley\"";
      if (result.code != "missing_token") challenge += ", error=\"invalid_token\"";
      sdk::Response r = sdk::Response::error(401, result.code, result.message);
      r.headers.emplace_back("WWW-Authenticate", challenge);
      return r;
    }
    if (route.auth == sdk::AuthPolicy::kOperator && !result.is_operator)
      return sdk::Response::error(403, "forbidden", "this endpoint needs an operator token");
    principal_.subject = std::move(result.subject);
    principal_.is_operator = result.is_operator;
    return std::nullopt;
  }

  void dispatch() {
    auto route = match_.route;
    clearDeadline();
    if (route->where == sdk::RunOn::kLoop && route->verifier.empty()) {
      // The connection's own Request, assigned field by field: its strings and vectors keep their
      // capacity, so a keep-alive connection's requests reach their handler without allocating.
      fill(loop_request_);
      return respond(call(*route, loop_request_), false);
    }
    auto request = std::make_shared<sdk::Request>();
    fill(*request);

    phase_ = Phase::kHandling;
    std::weak_ptr<HttpConnection> weak = shared_from_this();
    EventLoop* loop = &loop_;
    const AccessRegistry* access = &server_->access;
    const bool queued = server_->workers.submit(route->owner, [route, request, weak, loop, access] {
      std::optional<sdk::Response> refusal = verify(*access, *route, *request);
      auto response =
          std::make_shared<sdk::Response>(refusal ? std::move(*refusal) : call(*route, *request));
      loop->post([weak, response] {
        if (auto self = weak.lock()) self->handled(std::move(*response));
      });
    });
    if (!queued) {
      sdk::Response busy =
          sdk::Response::error(503, "overloaded", "every worker is busy; retry shortly");
      busy.headers.emplace_back("Retry-After", "1");
      phase_ = Phase::kIdle;
      respond(std::move(busy), false);
    }
  }

  void handled(sdk::Response response) {
    if (closed_) return;
    phase_ = Phase::kIdle;
    respond(std::move(response), false);
    process();  // pipelined requests waited for this one
    if (peer_done_ && !closed_ && phase_ != Phase::kHandling) {
      if (out_.size() == out_off_) return finish();
      phase_ = Phase::kClosing;
    }
    updateInterest();
  }

  void fill(sdk::Request& request) {
    request.method = parser_->head().method;
    request.path = match_.path;
    request.path_params = match_.params;
    request.headers = parser_->head().headers;
    request.body.swap(parser_->body());
    request.principal = principal_;
    request.remote_address = remote_;
    request.query = query_fields_;
  }

  // A route's verifier, on the worker pool: its grant becomes the request's principal.
  static std::optional<sdk::Response> verify(const AccessRegistry& access,
                                             const Router::Route& route, sdk::Request& request) {
    if (route.verifier.empty()) return std::nullopt;
    const sdk::Credentials credentials{request.path, request.query, request.headers};
    sdk::Grant grant = access.verifyWith(route.verifier, credentials);
    if (!grant.ok) return sdk::Response::error(grant.status, grant.code, grant.message);
    request.principal.subject = std::move(grant.subject);
    request.principal.is_operator = false;
    return std::nullopt;
  }

  // Runs a handler; an exception of any kind becomes a JSON error and is logged with its plugin.
  static sdk::Response call(Router::Route& route, const sdk::Request& request) {
    CallGate::Pass pass(route.gate);
    if (!pass) return sdk::Response::error(404, "not_found", "no such endpoint: " + request.path);
    try {
      return route.handler(request);
    } catch (const sdk::HttpError& e) {
      return sdk::Response::error(e.status(), e.code(), e.what());
    } catch (const std::exception& e) {
      Poco::Logger::get("parleyd").error("[%s] %s %s failed: %s", route.owner, request.method,
                                         request.path, std::string(e.what()));
    } catch (...) {
      Poco::Logger::get("parleyd").error("[%s] %s %s failed: a non-standard exception", route.owner,
                                         request.method, request.path);
    }
    return sdk::Response::error(500, "internal_error", "the handler failed");
  }

  // Queues the response to the current request. `close` ends the connection after it; so do the
  // request's own wishes, the keep-alive limit and a draining server.
  void respond(const sdk::Response& response, bool close) {
    const RequestHead& head = parser_->head();
    ++served_;
    close = close || !head.keep_alive || draining_ || peer_done_ ||
            served_ >= server_->settings.max_keepalive_requests;
    ConnectionHeader connection = ConnectionHeader::kNone;
    if (close)
      connection = ConnectionHeader::kClose;
    else if (head.version == 10)
      connection = ConnectionHeader::kKeepAlive;
    appendResponse(out_, response, head_only_, connection);
    scheduleFlush();
    if (close) {
      phase_ = Phase::kClosing;
      setDeadline(loop_.now() + std::chrono::milliseconds(server_->settings.keepalive_timeout_ms));
      return;
    }
    parser_->reset();
    match_ = {};
    head_only_ = false;
    phase_ = Phase::kIdle;
    setDeadline(loop_.now() + std::chrono::milliseconds(server_->settings.keepalive_timeout_ms));
  }

  // A request that cannot be read further: answer it and close, never parse what follows.
  void fail(int status, const std::string& code, const std::string& message) {
    respond(sdk::Response::error(status, code, message), true);
  }

  void upgradeToWebSocket() {
    if (parser_->state() == RequestParser::State::kHead)  // a body on an upgrade request
      return fail(400, "bad_request", "a websocket upgrade request carries no body");
    UpgradeRequest request{parser_->head(), match_.path, query_, remote_};
    const std::string owner = server_->upgrade->verifierOwner(request);
    if (owner.empty()) return upgradeWith(server_->upgrade->admit(request));
    // A plugin's credential (a share token) may need its store to be checked: that happens on
    // the worker pool, and the connection reads nothing meanwhile.
    phase_ = Phase::kHandling;
    clearDeadline();
    auto head = std::make_shared<RequestHead>(parser_->head());
    std::weak_ptr<HttpConnection> weak = shared_from_this();
    EventLoop* loop = &loop_;
    UpgradeHandler* upgrade = server_->upgrade;
    const bool queued = server_->workers.submit(
        owner, [weak, loop, upgrade, head, path = match_.path, query = query_, remote = remote_] {
          auto decision = std::make_shared<UpgradeHandler::Decision>(
              upgrade->admit(UpgradeRequest{*head, path, query, remote}));
          loop->post([weak, decision] {
            if (auto self = weak.lock()) self->upgradeWith(std::move(*decision));
          });
        });
    if (!queued) {
      phase_ = Phase::kIdle;
      sdk::Response busy =
          sdk::Response::error(503, "overloaded", "every worker is busy; retry shortly");
      busy.headers.emplace_back("Retry-After", "1");
      respond(std::move(busy), true);
    }
  }

  void upgradeWith(UpgradeHandler::Decision decision) {
    if (closed_) return;  // the admission, if any, gives its slot back as it goes
    phase_ = Phase::kIdle;
    if (auto* refusal = std::get_if<sdk::Response>(&decision)) return respond(*refusal, true);
    // The socket becomes a websocket session on this same loop, with what was read past the head.
    if (out_.size() != out_off_) flush();
    if (closed_ || out_.size() != out_off_)
      return finish();  // earlier responses not written yet: give up rather than interleave
    std::string early = in_.substr(in_off_);
    const int fd = fd_;
    fd_ = -1;
    if (watched_) loop_.unwatch(fd);
    watched_ = false;
    finish();
    server_->upgrade->adopt(std::get<std::shared_ptr<UpgradeHandler::Admission>>(decision), fd,
                            loop_, std::move(early));
  }

  void scheduleFlush() {
    if (flush_scheduled_ || want_write_ || closed_) return;
    flush_scheduled_ = true;
    loop_.deferFlush(shared_from_this());
  }

  void flush() {
    while (!closed_ && out_off_ < out_.size()) {
      const ssize_t n =
          ::send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        out_off_ += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        want_write_ = true;
        return updateInterest();
      }
      return finish();
    }
    if (closed_) return;
    out_.clear();
    out_off_ = 0;
    if (want_write_) {
      want_write_ = false;
      updateInterest();
    }
    if (phase_ == Phase::kClosing) return finish();
    // Output was the bottleneck: parse what waited for it.
    if (phase_ == Phase::kIdle && in_off_ < in_.size()) {
      process();
      updateInterest();
    }
  }

  // Reads only while a request may be parsed: not while a worker handles one (pipelined requests
  // wait in the kernel), not while responses pile up unread.
  void updateInterest() {
    if (closed_ || !watched_) return;
    const bool want_read = !peer_done_ && (phase_ == Phase::kIdle || phase_ == Phase::kBody) &&
                           out_.size() - out_off_ < kMaxPendingOutput;
    const std::uint32_t events =
        (want_read ? EPOLLIN | EPOLLRDHUP : 0u) | (want_write_ ? EPOLLOUT : 0u);
    if (events == interest_) return;
    if (!loop_.change(fd_, events, this)) return finish();
    interest_ = events;
  }

  void finish() {
    if (closed_) return;
    closed_ = true;
    if (timer_) loop_.cancel(timer_);
    timer_ = 0;
    if (watched_) loop_.unwatch(fd_);
    watched_ = false;
    net::closeFd(fd_);
    fd_ = -1;
    auto self = shared_from_this();
    loop_.retire(self);  // other events for it may still be in this iteration's batch
    server_->slotOf(loop_).live.erase(self);
    server_->connections.fetch_sub(1);
  }

  std::shared_ptr<Impl> server_;
  EventLoop& loop_;
  int fd_;
  std::string remote_;
  std::unique_ptr<RequestParser> parser_;
  Phase phase_ = Phase::kIdle;
  std::string in_;
  std::size_t in_off_ = 0;
  std::string out_;
  std::size_t out_off_ = 0;
  Router::Match match_;
  std::string query_;
  sdk::Fields query_fields_;
  sdk::Principal principal_;
  sdk::Request loop_request_;  // what handlers on the loop get (see dispatch)
  bool head_only_ = false;
  int served_ = 0;
  bool closed_ = false;
  bool watched_ = false;
  bool peer_done_ = false;
  bool draining_ = false;
  bool flush_scheduled_ = false;
  bool want_write_ = false;
  std::uint32_t interest_ = EPOLLIN | EPOLLRDHUP;
  EventLoop::TimerId timer_ = 0;
  Clock::time_point timer_due_;
  Clock::time_point deadline_ = Clock::time_point::max();
};

}  // namespace parley::core::http_detail
