// Publishes room events to Redis from a thread of its own, so that no event loop or plugin thread
// ever waits on Redis: a bounded queue, drained by pipelining everything that accumulated since
// the last round trip.
#pragma once

#include <parley/sdk/context.hpp>
#include <parley/sdk/metrics.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "redis_link.hpp"

namespace parley::fanout {

class Publisher {
 public:
  Publisher(RedisSettings settings, std::size_t max_queue, sdk::Logger& log,
            std::shared_ptr<sdk::Histogram> latency_ms, std::shared_ptr<sdk::Counter> failures);
  ~Publisher();

  void start();
  void stop();
  // Queues one PUBLISH; an event that cannot be queued (queue full) is counted as a failure.
  void publish(std::string channel, std::string message);
  bool connected() const { return connected_.load(); }
  std::string lastError() const;

 private:
  struct Event {
    std::string channel;
    std::string message;
  };
  void run();
  // Sends the batch pipelined; returns false when the connection failed (the rest is lost).
  bool send(redisContext* c, std::deque<Event>& batch);
  void outage(const std::string& why, std::size_t lost);

  RedisSettings settings_;
  std::size_t max_queue_;
  sdk::Logger& log_;
  std::shared_ptr<sdk::Histogram> latency_ms_;
  std::shared_ptr<sdk::Counter> failures_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Event> queue_;
  bool stopping_ = false;
  bool in_outage_ = false;  // logged once per outage, not once per event
  std::string last_error_;
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace parley::fanout
