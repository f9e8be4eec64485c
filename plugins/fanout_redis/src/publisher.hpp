// Sends commands to Redis from a thread of its own, so that no event loop or plugin thread ever
// waits on Redis: a bounded queue, drained by pipelining everything that accumulated since the
// last round trip. Room events (PUBLISH) and room state (HSET, EXPIRE, HGETALL) go through it, in
// order.
#pragma once

#include <parley/sdk/context.hpp>
#include <parley/sdk/metrics.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis_link.hpp"

namespace parley::fanout {

class Publisher {
 public:
  Publisher(RedisSettings settings, std::size_t max_queue, sdk::Logger& log,
            std::shared_ptr<sdk::Histogram> latency_ms, std::shared_ptr<sdk::Counter> failures);
  ~Publisher();

  void start();
  void stop();
  // Called with the reply, or with null when the command was lost (Redis away, queue full).
  using OnReply = std::function<void(const redisReply* reply)>;

  // Queues one PUBLISH; an event that is lost is counted as a publish failure.
  void publish(std::string channel, std::string message);
  // Queues any other command.
  void submit(std::vector<std::string> args, OnReply on_reply = {});
  // Runs on the publisher's thread after every (re)connection, before anything else is sent.
  void onConnect(std::function<void()> hook) { on_connect_ = std::move(hook); }
  bool connected() const { return connected_.load(); }
  std::string lastError() const;

 private:
  struct Command {
    std::vector<std::string> args;
    OnReply on_reply;
    bool is_publish = false;
  };
  void enqueue(Command command);
  void run();
  // Sends the batch pipelined; returns false when the connection failed (the rest is lost).
  bool send(redisContext* c, std::deque<Command>& batch);
  // Gives up on `lost` commands: counts the publishes, tells the others.
  void drop(std::deque<Command>& lost, std::size_t from);
  void outage(const std::string& why);

  RedisSettings settings_;
  std::size_t max_queue_;
  sdk::Logger& log_;
  std::shared_ptr<sdk::Histogram> latency_ms_;
  std::shared_ptr<sdk::Counter> failures_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Command> queue_;
  std::function<void()> on_connect_;
  bool stopping_ = false;
  bool in_outage_ = false;  // logged once per outage, not once per event
  std::string last_error_;
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace parley::fanout
