// The fanout's two Redis connections: their settings, and the pacing of their reconnections.
#pragma once

#include "redis.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace parley::fanout {

struct RedisSettings : redis::Settings {
  std::chrono::milliseconds reconnect_max{1000};  // cap of the backoff between attempts
};
using RedisContext = redis::Context;
using RedisReply = redis::Reply;

// Wakes the publisher or subscriber thread out of poll(): an eventfd it polls beside its socket.
class Wakeup {
 public:
  Wakeup();
  ~Wakeup();
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;
  int fd() const { return fd_; }
  void signal();  // any thread
  void drain();   // the polling thread, once poll() says it fired

 private:
  int fd_;
};

inline RedisContext connectRedis(const RedisSettings& settings, std::string& error) {
  return redis::connect(settings, error);
}

// Capped exponential backoff with jitter: a random delay between half and all of 50 ms, 100 ms,
// 200 ms, ... up to `cap`, so instances that lost Redis together do not return in step.
std::chrono::milliseconds backoff(int attempt, std::chrono::milliseconds cap);

// Paces one connection's attempts. A failed attempt, and a connection that did not last (a Redis
// that accepts and hangs up at once, at its client limit, say), is followed by a growing wait; a
// connection that lasted `cap` or more starts the series again. A wake-up shortens the current
// wait only, never the ones after it.
class Reconnection {
 public:
  explicit Reconnection(std::chrono::milliseconds cap) : cap_(cap) {}
  void connected() { since_ = std::chrono::steady_clock::now(); }
  // After the connection broke: waits unless it had lasted.
  void lost(Wakeup& wake);
  // After a failed attempt.
  void failed(Wakeup& wake);

 private:
  std::chrono::milliseconds cap_;
  int attempt_ = 0;
  std::chrono::steady_clock::time_point since_;
};

}  // namespace parley::fanout
