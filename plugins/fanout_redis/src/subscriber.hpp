// Receives other instances' room events. A dedicated connection subscribes to a room's channel
// while this instance has local members in that room, and only then, so that an instance never
// receives the traffic of rooms it does not serve. After an outage it reconnects (capped backoff
// with jitter) and subscribes again to every room it still serves.
#pragma once

#include <parley/sdk/context.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "redis_link.hpp"

namespace parley::fanout {

class Subscriber {
 public:
  using OnMessage = std::function<void(const std::string& channel, const std::string& message)>;

  Subscriber(RedisSettings settings, sdk::Logger& log, OnMessage on_message);
  ~Subscriber();

  void start();
  void stop();
  // Subscribe to (or leave) `channel`; applied by the subscriber thread soon after. Any thread.
  void want(const std::string& channel, bool subscribed);
  bool connected() const { return connected_.load(); }

 private:
  void run();
  // Brings the connection's subscriptions in line with wanted_; false if the connection failed.
  bool reconcile(redisContext* c, std::set<std::string>& active);
  bool readReplies(redisContext* c);

  RedisSettings settings_;
  sdk::Logger& log_;
  OnMessage on_message_;
  Wakeup wake_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::mutex mutex_;
  std::set<std::string> wanted_;
  std::thread thread_;
};

}  // namespace parley::fanout
