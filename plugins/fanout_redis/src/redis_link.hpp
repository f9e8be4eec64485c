// One hiredis connection, opened from the plugin's settings, authenticated and on its database.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <string>

namespace parley::fanout {

struct RedisSettings {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;  // wins over host/port when set
  std::string password;
  int db = 0;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{1000};
  std::chrono::milliseconds reconnect_max{1000};  // cap of the backoff between attempts

  std::string where() const {
    return unix_socket.empty() ? host + ":" + std::to_string(port) : unix_socket;
  }
};

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using RedisContext = std::unique_ptr<redisContext, ContextFree>;

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisReply = std::unique_ptr<redisReply, ReplyFree>;

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

// Connects, authenticates and selects the database; on failure returns null and says why.
RedisContext connectRedis(const RedisSettings& settings, std::string& error);

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
