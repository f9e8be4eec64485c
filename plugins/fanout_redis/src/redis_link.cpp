#include "redis_link.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <random>

namespace parley::fanout {

namespace {
timeval toTimeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000),
          static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

bool command(redisContext* c, std::string& error, const char* what, const char* fmt,
             const char* arg) {
  RedisReply reply(static_cast<redisReply*>(redisCommand(c, fmt, arg)));
  if (!reply) {
    error = std::string(what) + ": " + c->errstr;
    return false;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    error = std::string(what) + ": " + std::string(reply->str, reply->len);
    return false;
  }
  return true;
}
}  // namespace

Wakeup::Wakeup() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
Wakeup::~Wakeup() {
  close(fd_);
}

void Wakeup::signal() {
  const std::uint64_t one = 1;
  ssize_t n = ::write(fd_, &one, sizeof one);
  (void)n;  // EAGAIN: a wake-up is pending already
}

void Wakeup::drain() {
  std::uint64_t count;
  while (::read(fd_, &count, sizeof count) > 0) {
  }
}

RedisContext connectRedis(const RedisSettings& s, std::string& error) {
  const timeval connect_timeout = toTimeval(s.connect_timeout);
  RedisContext c(s.unix_socket.empty()
                     ? redisConnectWithTimeout(s.host.c_str(), s.port, connect_timeout)
                     : redisConnectUnixWithTimeout(s.unix_socket.c_str(), connect_timeout));
  if (!c) {
    error = "cannot allocate a Redis context";
    return nullptr;
  }
  if (c->err) {
    error = "cannot connect to Redis at " + s.where() + ": " + c->errstr;
    return nullptr;
  }
  redisSetTimeout(c.get(), toTimeval(s.command_timeout));
  redisEnableKeepAlive(c.get());
  if (!s.password.empty() && !command(c.get(), error, "AUTH", "AUTH %s", s.password.c_str()))
    return nullptr;
  if (s.db != 0 && !command(c.get(), error, "SELECT", "SELECT %s", std::to_string(s.db).c_str()))
    return nullptr;
  return c;
}

std::chrono::milliseconds backoff(int attempt, std::chrono::milliseconds cap) {
  static thread_local std::mt19937 random{std::random_device{}()};
  const auto ceiling = std::min<long long>(cap.count(), 50LL << std::min(attempt, 10));
  std::uniform_int_distribution<long long> pick(ceiling / 2,
                                                std::max<long long>(ceiling / 2, ceiling));
  return std::chrono::milliseconds(pick(random));
}

void Reconnection::failed(Wakeup& wake) {
  pollfd fd{wake.fd(), POLLIN, 0};
  poll(&fd, 1, static_cast<int>(backoff(attempt_++, cap_).count()));
  wake.drain();  // else a signal during the outage would cut every later wait short
}

void Reconnection::lost(Wakeup& wake) {
  if (std::chrono::steady_clock::now() - since_ >= cap_)
    attempt_ = 0;
  else
    failed(wake);
}

}  // namespace parley::fanout
