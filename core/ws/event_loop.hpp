// One event-loop thread: epoll for readiness, an eventfd for tasks posted from other threads, and
// a periodic tick. Websocket connections are served by a small fixed number of these.
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

namespace parley::core::ws {

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

  EventLoop(std::string name, std::chrono::milliseconds tick_period, std::function<void()> on_tick);
  ~EventLoop();  // stops and joins
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void start();
  void stop();

  // Runs `task` on the loop thread soon; thread-safe. Tasks run in the order posted.
  void post(std::function<void()> task);
  bool inLoopThread() const { return std::this_thread::get_id() == thread_id_; }

  // Loop thread only. `handler` must outlive its registration.
  void watch(int fd, std::uint32_t events, IoHandler* handler);
  void change(int fd, std::uint32_t events, IoHandler* handler);
  void unwatch(int fd);
  // Calls handler->onFlush() at the end of the current iteration, after all events and tasks:
  // where connections flush what this iteration queued, so consecutive frames leave in one write.
  // The loop holds the handler until then. No allocation per call: this is on every broadcast.
  void deferFlush(std::shared_ptr<IoHandler> handler);

 private:
  void run();
  void drainTasks();

  std::string name_;
  std::chrono::milliseconds tick_period_;
  std::function<void()> on_tick_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  std::mutex tasks_mutex_;
  std::vector<std::function<void()>> tasks_;
  std::vector<std::shared_ptr<IoHandler>> flushes_, flushing_;
};

}  // namespace parley::core::ws
