#include "core/http/http_server.hpp"

#include <Poco/Logger.h>

#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>
#include <vector>

#include "core/http/http_connection.hpp"
#include "core/http/response.hpp"
#include "core/net/loop_group.hpp"
#include "core/net/socket.hpp"

namespace parley::core {

using http_detail::HttpConnection;
using net::EventLoop;
using Impl = HttpServer::Impl;

namespace {

constexpr int kAcceptsPerWake = 64;

const std::string& overloadedResponse() {
  static const std::string response = [] {
    std::string out;
    sdk::Response r = sdk::Response::error(503, "overloaded",
                                           "the server is at its connection limit; retry shortly");
    r.headers.emplace_back("Retry-After", "1");
    appendResponse(out, r, false, ConnectionHeader::kClose);
    return out;
  }();
  return response;
}

}  // namespace

void Impl::acceptSome(PerLoop& here) {
  for (int i = 0; i < kAcceptsPerWake; ++i) {
    sockaddr_storage address{};
    socklen_t size = sizeof address;
    const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&address), &size,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE)
        log.error("cannot accept a connection: out of file descriptors");
      return;  // EAGAIN: another loop took it, or none left
    }
    if (!accepting || connections.fetch_add(1) >= settings.max_connections) {
      if (accepting) connections.fetch_sub(1);
      // Written without waiting: a client that cannot take 200 bytes at once gets nothing.
      const std::string& busy = overloadedResponse();
      const ssize_t sent = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)sent;
      net::closeFd(fd);
      if (accepting) refused_at_limit.count();
      continue;
    }
    net::setNoDelay(fd);
    // Spread connections over the loops; one accepted here stays here.
    EventLoop& target = loops.next();
    std::string remote = net::addressText(address);
    if (&target == here.loop) {
      adopt(here, fd, std::move(remote));
    } else {
      PerLoop* slot = &slotOf(target);
      auto self = shared_from_this();
      target.post([self, slot, fd, remote = std::move(remote)]() mutable {
        self->adopt(*slot, fd, std::move(remote));
      });
    }
  }
}

void Impl::adopt(PerLoop& slot, int fd, std::string remote) {
  auto connection =
      std::make_shared<HttpConnection>(shared_from_this(), *slot.loop, fd, std::move(remote));
  slot.live.insert(connection);
  connection->begin();
}

HttpServer::HttpServer(const HttpSettings& settings, net::LoopGroup& loops, WorkerPool& workers,
                       const Router& router, const BearerAuth& auth, const AccessRegistry& access,
                       Poco::Logger& log)
    : impl_(std::make_shared<Impl>(settings, loops, workers, router, auth, access, log)) {
  for (std::size_t i = 0; i < loops.size(); ++i) {
    auto slot = std::make_unique<Impl::PerLoop>();
    slot->impl = impl_.get();
    slot->loop = &loops.at(i);
    impl_->per_loop.push_back(std::move(slot));
  }
}

HttpServer::~HttpServer() {
  net::closeFd(impl_->listen_fd);
}

void HttpServer::setUpgrade(std::string path, UpgradeHandler* handler) {
  impl_->upgrade_path = std::move(path);
  impl_->upgrade = handler;
}

void HttpServer::start() {
  std::string error;
  impl_->listen_fd = net::listenTcp(impl_->settings.host, impl_->settings.port, 4096, error);
  if (impl_->listen_fd < 0) throw std::runtime_error(error);
  impl_->bound_port = net::localPort(impl_->listen_fd);
  impl_->accepting = true;
  // Every loop watches the one listening socket; EPOLLEXCLUSIVE wakes one of them per connection.
  for (auto& slot : impl_->per_loop) {
    Impl::PerLoop* raw = slot.get();
    const int fd = impl_->listen_fd;
    raw->loop->post(
        [raw, fd] { raw->listening = raw->loop->watch(fd, EPOLLIN | EPOLLEXCLUSIVE, raw); });
  }
}

std::uint16_t HttpServer::port() const {
  return impl_->bound_port;
}

void HttpServer::stopAccepting() {
  impl_->accepting = false;
  for (auto& slot : impl_->per_loop) {
    Impl::PerLoop* raw = slot.get();
    const int fd = impl_->listen_fd;
    raw->loop->post([raw, fd] {
      if (raw->listening) raw->loop->unwatch(fd);
      raw->listening = false;
    });
  }
}

void HttpServer::drain() {
  impl_->draining = true;
  for (auto& slot : impl_->per_loop) {
    Impl::PerLoop* raw = slot.get();
    raw->loop->post([raw] {
      const std::vector<std::shared_ptr<HttpConnection>> all(raw->live.begin(), raw->live.end());
      for (const auto& c : all) c->drain();
    });
  }
}

void HttpServer::abortAll() {
  for (auto& slot : impl_->per_loop) {
    Impl::PerLoop* raw = slot.get();
    raw->loop->post([raw] {
      const std::vector<std::shared_ptr<HttpConnection>> all(raw->live.begin(), raw->live.end());
      for (const auto& c : all) c->abort();
    });
  }
}

int HttpServer::connections() const {
  return impl_->connections.load();
}

}  // namespace parley::core
