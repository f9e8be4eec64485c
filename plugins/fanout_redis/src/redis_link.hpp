// The fanout's two Redis connections live on scopes of the plugin's, like every other connection
// in parleyd: connected on the worker pool (connecting blocks: DNS, TCP, AUTH, SELECT, bounded by
// connect_timeout_ms), then read and written without blocking on the scope's event loop, and
// connected again with capped backoff when they fail. No thread of their own.
#pragma once

#include <parley/sdk/scope.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "redis.hpp"

namespace parley::fanout {

struct RedisSettings : redis::Settings {
  std::chrono::milliseconds reconnect_max{1000};  // cap of the backoff between attempts
};
using RedisContext = redis::Context;
using RedisReply = redis::Reply;

// Capped exponential backoff with jitter: a random delay between half and all of 50 ms, 100 ms,
// 200 ms, ... up to `cap`, so instances that lost Redis together do not return in step.
std::chrono::milliseconds backoff(int attempt, std::chrono::milliseconds cap);

// Paces one connection's attempts. A failed attempt, and a connection that did not last (a Redis
// that accepts and hangs up at once, at its client limit, say), is followed by a growing wait; a
// connection that lasted `cap` or more starts the series again.
class Reconnection {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Reconnection(std::chrono::milliseconds cap) : cap_(cap) {}
  void connected(Clock::time_point now) { since_ = now; }
  // The wait before the next attempt, after a failed one.
  std::chrono::milliseconds failed() { return backoff(attempt_++, cap_); }
  // The wait after the connection broke: none if it had lasted.
  std::chrono::milliseconds lost(Clock::time_point now);

 private:
  std::chrono::milliseconds cap_;
  int attempt_ = 0;
  Clock::time_point since_;
};

// One Redis connection on `scope`. Its owner is told, on the scope, when it is up, when it can be
// read or written, and when it is gone; the owner reads and writes the hiredis context (in
// non-blocking mode) from those calls only.
class ScopedConnection {
 public:
  struct Handlers {
    std::function<void(redisContext*)> connected;
    std::function<bool(redisContext*)> readable;       // false: the connection is broken
    std::function<bool(redisContext*)> writable;       // false: the connection is broken
    std::function<void(const std::string& why)> lost;  // an attempt failed, or the connection broke
  };

  ScopedConnection(std::shared_ptr<sdk::Scope> scope, RedisSettings settings, Handlers handlers);
  ScopedConnection(const ScopedConnection&) = delete;
  ScopedConnection& operator=(const ScopedConnection&) = delete;

  // The first attempt. Any thread.
  void start();
  // Whether the owner has bytes to write (writable() is called until it says no more). Scope
  // thread; ignored while disconnected.
  void wantWrite(bool on);
  sdk::Scope& scope() { return *scope_; }
  const RedisSettings& settings() const { return settings_; }

 private:
  void attempt();
  void up(RedisContext c);
  void broken(const std::string& why);
  void retryIn(std::chrono::milliseconds delay);
  void ready(std::uint32_t events);

  std::shared_ptr<sdk::Scope> scope_;
  RedisSettings settings_;
  Handlers handlers_;
  // Scope thread only.
  Reconnection pace_;
  RedisContext context_;
  std::shared_ptr<sdk::Scope::Watch> watch_;
  bool writing_ = false;
  sdk::Timer retry_;
};

}  // namespace parley::fanout
