// The one place blocking work runs: a fixed number of threads and a bounded queue. Event loops hand
// it what may block (storage, slow plugin handlers) and get results back by posting to themselves.
// A full queue refuses work at once (the caller answers 503 or holds the session's reads); nothing
// here grows without bound.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace parley::core {

class WorkerPool {
 public:
  using Clock = std::chrono::steady_clock;
  using ErrorSink = std::function<void(const std::string& owner, const std::string& what)>;

  WorkerPool(int threads, std::size_t max_queued, ErrorSink on_error);
  ~WorkerPool();  // stop()

  // Queues `task`, run for `owner` (a plugin id, for the logs); false when the queue is full or the
  // pool has stopped. Any thread.
  bool submit(const std::string& owner, std::function<void()> task);

  // Waits until nothing is queued or running, or `until`; whether it got there.
  bool waitIdle(Clock::time_point until);
  // Who is running something now (for the shutdown log).
  std::vector<std::string> running() const;
  // Refuses new work, drops what is queued, joins the threads. Call once waitIdle() said true, or
  // the join waits for whatever still runs.
  void stop();

  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  struct Task {
    std::string owner;
    std::function<void()> fn;
  };
  void run();

  std::size_t max_queued_;
  ErrorSink on_error_;
  mutable std::mutex mutex_;
  std::condition_variable ready_, idle_;
  std::deque<Task> queue_;
  std::multimap<std::thread::id, std::string> running_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace parley::core
