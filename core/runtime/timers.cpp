#include "core/runtime/timers.hpp"

#include "core/runtime/call_gate.hpp"

namespace parley::core {

struct TimerService::Task {
  std::string owner;
  Clock::duration period;
  std::function<void()> fn;
  CallGate gate;
};

TimerService::TimerService(ErrorSink on_error)
    : on_error_(std::move(on_error)), thread_([this] { run(); }) {}

TimerService::~TimerService() {
  shutdown();
}

void TimerService::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<sdk::Revoker> TimerService::schedule(const std::string& owner,
                                                     Clock::duration delay, Clock::duration period,
                                                     std::function<void()> fn) {
  auto task = std::make_shared<Task>();
  task->owner = owner;
  task->period = period;
  task->fn = std::move(fn);
  {
    std::lock_guard lock(mutex_);
    heap_.push({Clock::now() + delay, next_seq_++, task});
  }
  wake_.notify_one();
  // A cancelled entry stays in the heap until its due time and is dropped then, unrun.
  std::weak_ptr<Task> weak = task;
  return std::make_shared<sdk::Revoker>([weak] {
    if (auto t = weak.lock()) t->gate.close();
  });
}

void TimerService::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (heap_.empty()) {
      wake_.wait(lock);
      continue;
    }
    // A copy: schedule() may grow the heap (and move its storage) while we wait.
    const Clock::time_point due = heap_.top().due;
    if (Clock::now() < due) {
      wake_.wait_until(lock, due);
      continue;
    }
    Entry entry = heap_.top();
    heap_.pop();
    lock.unlock();
    bool again = false;
    {
      CallGate::Pass pass(entry.task->gate);
      if (pass) {
        try {
          entry.task->fn();
        } catch (const std::exception& e) {
          on_error_(entry.task->owner, std::string("timer task threw: ") + e.what());
        } catch (...) {
          on_error_(entry.task->owner, "timer task threw a non-exception");
        }
        again = entry.task->period.count() > 0;
      }
    }
    lock.lock();
    if (again) heap_.push({Clock::now() + entry.task->period, next_seq_++, entry.task});
  }
}

}  // namespace parley::core
