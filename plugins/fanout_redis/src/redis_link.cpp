#include "redis_link.hpp"

#include <fcntl.h>
#include <sys/epoll.h>

#include <algorithm>
#include <random>

namespace parley::fanout {

std::chrono::milliseconds backoff(int attempt, std::chrono::milliseconds cap) {
  static thread_local std::mt19937 random{std::random_device{}()};
  const auto ceiling = std::min<long long>(cap.count(), 50LL << std::min(attempt, 10));
  std::uniform_int_distribution<long long> pick(ceiling / 2,
                                                std::max<long long>(ceiling / 2, ceiling));
  return std::chrono::milliseconds(pick(random));
}

std::chrono::milliseconds Reconnection::lost(Clock::time_point now) {
  if (now - since_ >= cap_) {
    attempt_ = 0;
    return std::chrono::milliseconds(0);
  }
  return failed();
}

ScopedConnection::ScopedConnection(std::shared_ptr<sdk::Scope> scope, RedisSettings settings,
                                   Handlers handlers)
    : scope_(std::move(scope)),
      settings_(std::move(settings)),
      handlers_(std::move(handlers)),
      pace_(settings_.reconnect_max) {}

void ScopedConnection::start() {
  scope_->post([this] { attempt(); });
}

void ScopedConnection::attempt() {
  // What the worker fills in; shared, because the worker may still hold it if the scope closes.
  struct Result {
    RedisContext context;
    std::string error;
  };
  auto result = std::make_shared<Result>();
  const bool queued = scope_->offload(
      [result, settings = settings_] {
        result->context = redis::connect(settings, result->error);
        if (!result->context) return;
        // From here on the loop drives it: never block, never wait for a timeout.
        const int fd = result->context->fd;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        result->context->flags &= ~REDIS_BLOCK;
      },
      [this, result] {
        if (result->context) return up(std::move(result->context));
        handlers_.lost(result->error);
        retryIn(pace_.failed());
      });
  if (!queued) {
    handlers_.lost("the worker pool is full; connecting later");
    retryIn(pace_.failed());
  }
}

void ScopedConnection::retryIn(std::chrono::milliseconds delay) {
  retry_ = scope_->after(delay, [this] { attempt(); });
}

void ScopedConnection::up(RedisContext c) {
  context_ = std::move(c);
  writing_ = false;
  watch_ = scope_->watch(context_->fd, EPOLLIN | EPOLLRDHUP,
                         [this](std::uint32_t events) { ready(events); });
  if (!watch_) return broken("cannot watch the connection");
  pace_.connected(scope_->now());
  handlers_.connected(context_.get());
}

void ScopedConnection::wantWrite(bool on) {
  if (!watch_ || on == writing_) return;
  writing_ = on;
  watch_->change(EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u));
}

void ScopedConnection::ready(std::uint32_t events) {
  if (!context_) return;
  redisContext* c = context_.get();
  if ((events & EPOLLOUT) && !handlers_.writable(c))
    return broken(c->err ? c->errstr : "the connection failed");
  if (!context_) return;  // the owner's handler may have ended it
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !handlers_.readable(c))
    return broken(c->err ? c->errstr : "connection closed");
}

void ScopedConnection::broken(const std::string& why) {
  // The owner hears it while the socket is still open: it stops writing to it first.
  handlers_.lost("Redis at " + settings_.where() + ": " + why);
  watch_.reset();
  context_.reset();
  retryIn(pace_.lost(scope_->now()));
}

}  // namespace parley::fanout
