// One scheduler thread for every plugin's timers: a min-heap by due time, so scheduling is
// O(log n) and an idle tick costs nothing whatever the number of timers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "parley/sdk/registration.hpp"

namespace parley::core {

class TimerService {
 public:
  using Clock = std::chrono::steady_clock;
  using ErrorSink = std::function<void(const std::string& owner, const std::string& what)>;

  explicit TimerService(ErrorSink on_error);
  ~TimerService();  // stops the thread; pending timers never run

  // period zero = once. The revoker cancels; once it returns, the task is not running.
  std::shared_ptr<sdk::Revoker> schedule(const std::string& owner, Clock::duration delay,
                                         Clock::duration period, std::function<void()> task);
  void shutdown();

 private:
  struct Task;
  struct Entry {
    Clock::time_point due;
    std::uint64_t seq;
    std::shared_ptr<Task> task;
    bool operator>(const Entry& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };
  void run();

  ErrorSink on_error_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
  std::uint64_t next_seq_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace parley::core
