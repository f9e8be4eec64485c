// One event-loop thread: epoll for readiness, an eventfd for tasks posted from other threads, and
// its own timers. A few of these serve every socket of the process, inbound and outbound: no thread
// per connection anywhere.
//
// Everything but post(), inLoopThread() and the constructor is for the loop's own thread. Tasks,
// timers and I/O callbacks run one at a time; one that throws is reported and the loop goes on.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/net/timer_heap.hpp"

namespace parley::core::net {

class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void onIo(std::uint32_t epoll_events) = 0;
  // Called once per deferFlush(), at the end of the loop iteration.
  virtual void onFlush() {}
};

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using TimerId = TimerHeap::Id;
  using ErrorSink = std::function<void(const std::string& what)>;

  EventLoop(std::string name, ErrorSink on_error);
  ~EventLoop();  // stops and joins
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  const std::string& name() const { return name_; }
  void start();
  // Runs what was posted until now, then joins. Tasks posted afterwards are dropped.
  void stop();

  // Runs `task` on the loop thread soon, after everything posted before it. Any thread. False (and
  // the task dropped) once the loop has stopped.
  bool post(std::function<void()> task);
  bool inLoopThread() const { return std::this_thread::get_id() == thread_id_.load(); }

  // `handler` must stay alive while watched. False (with errno set) when epoll refuses: the caller
  // closes that one connection.
  bool watch(int fd, std::uint32_t events, IoHandler* handler);
  bool change(int fd, std::uint32_t events, IoHandler* handler);
  void unwatch(int fd);

  // Timers. Cancelling destroys the callback at once; a cancelled or finished id cancels nothing.
  TimerId at(Clock::time_point due, std::function<void()> fn);
  TimerId after(Clock::duration delay, std::function<void()> fn) {
    return at(now() + delay, std::move(fn));
  }
  bool cancel(TimerId id) { return timers_.cancel(id); }
  // The time at the start of this iteration: cheap, and the same for everything it runs.
  Clock::time_point now() const { return now_; }

  // Calls handler->onFlush() at the end of the current iteration, after all events, tasks and
  // timers: where connections flush what this iteration queued, so consecutive frames leave in one
  // write. The loop holds the handler until then.
  void deferFlush(std::shared_ptr<IoHandler> handler);
  // Keeps `object` alive until the end of this iteration (a connection that closed while other
  // events for it may still be in the batch).
  void retire(std::shared_ptr<void> object);

 private:
  void run();
  void drainTasks();
  void runTimers();
  void guarded(const std::function<void()>& fn, const char* what);

  std::string name_;
  ErrorSink on_error_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  std::mutex tasks_mutex_;
  std::vector<std::function<void()>> tasks_;
  bool accepting_tasks_ = true;  // under tasks_mutex_
  TimerHeap timers_;
  Clock::time_point now_ = Clock::now();
  std::vector<std::shared_ptr<IoHandler>> flushes_, flushing_;
  std::vector<std::shared_ptr<void>> retired_;
};

}  // namespace parley::core::net
