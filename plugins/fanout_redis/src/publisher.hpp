// Sends commands to Redis without making any event loop or plugin thread wait on it. The thread
// that publishes writes the command straight to the connection's socket (never blocking: what the
// socket cannot take now is left for the connection's scope), so an event costs no thread
// handoff; the scope reads the replies, in order, writes what was left, and owns the connection's
// life: connecting, reconnecting with capped backoff and jitter, failing what was in flight when
// it broke. Room events (PUBLISH) and room state (HSET, EXPIRE, HGETALL) share the connection, in
// order.
#pragma once

#include <parley/sdk/context.hpp>
#include <parley/sdk/metrics.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "redis_link.hpp"

namespace parley::fanout {

class Publisher {
 public:
  // Called with the reply, or with null when the command was lost (Redis away, too many waiting).
  using OnReply = std::function<void(const redisReply* reply)>;

  Publisher(std::shared_ptr<sdk::Scope> scope, RedisSettings settings, std::size_t max_in_flight,
            sdk::Logger& log, std::shared_ptr<sdk::Histogram> latency_ms,
            std::shared_ptr<sdk::Counter> failures);

  void start() { connection_.start(); }
  // One PUBLISH; an event that is lost is counted as a publish failure. Any thread.
  void publish(const std::string& channel, const std::string& message);
  // Any other command. Any thread.
  void submit(const std::vector<std::string>& args, OnReply on_reply = {});
  // Runs on the scope after every (re)connection, before anything else is read.
  void onConnect(std::function<void()> hook) { on_connect_ = std::move(hook); }
  bool connected() const { return connected_.load(); }
  std::string lastError() const;

 private:
  struct InFlight {
    OnReply on_reply;
    bool is_publish;
    std::chrono::steady_clock::time_point sent_at;
  };
  void write(const std::vector<std::string>& args, OnReply on_reply, bool is_publish);
  // The connection's scope: up, replies in, the rest of the bytes out, gone.
  void connected(redisContext* c);
  bool readReplies(redisContext* c);
  bool writeUnsent(redisContext* c);
  // Gives up on what was written but not answered: counts the publishes, tells the others.
  void failInFlight(const std::string& why);
  void lose(bool is_publish, const OnReply& on_reply);

  std::size_t max_in_flight_;
  sdk::Logger& log_;
  std::shared_ptr<sdk::Histogram> latency_ms_;
  std::shared_ptr<sdk::Counter> failures_;
  std::function<void()> on_connect_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> flush_posted_{false};  // a writeUnsent() is on its way to the scope

  mutable std::mutex mutex_;  // the socket's write side, and what is in flight
  int fd_ = -1;               // -1 while disconnected: writes are lost, and counted
  std::string unsent_;        // bytes the socket did not take yet; the scope sends them
  std::deque<InFlight> in_flight_;
  bool in_outage_ = false;     // logged once per outage, not once per event
  bool first_attempt_ = true;  // no attempt to connect has had its answer yet
  std::string last_error_;
  // Declared last: its callbacks use everything above.
  ScopedConnection connection_;
};

}  // namespace parley::fanout
