#include "core/net/event_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace parley::core::net {

EventLoop::EventLoop(std::string name, ErrorSink on_error)
    : name_(std::move(name)), on_error_(std::move(on_error)) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // null marks the wake-up fd
  if (epoll_fd_ < 0 || wake_fd_ < 0 || epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0)
    throw std::runtime_error(name_ + ": cannot create epoll/eventfd: " + std::strerror(errno));
}

EventLoop::~EventLoop() {
  stop();
  close(wake_fd_);
  close(epoll_fd_);
}

void EventLoop::start() {
  thread_ = std::thread([this] { run(); });
}

void EventLoop::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  post([] {});
  thread_.join();
}

bool EventLoop::post(std::function<void()> task) {
  bool was_empty;
  {
    std::lock_guard lock(tasks_mutex_);
    if (!accepting_tasks_) return false;
    was_empty = tasks_.empty();
    tasks_.push_back(std::move(task));
  }
  // One wake-up per batch: the loop drains every task queued since.
  if (was_empty) {
    const std::uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof one);
    (void)n;  // EAGAIN means a wake-up is pending already
  }
  return true;
}

bool EventLoop::watch(int fd, std::uint32_t events, IoHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventLoop::change(int fd, std::uint32_t events, IoHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::unwatch(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::at(Clock::time_point due, std::function<void()> fn) {
  return timers_.add(due, std::move(fn));
}

void EventLoop::deferFlush(std::shared_ptr<IoHandler> handler) {
  flushes_.push_back(std::move(handler));
}

void EventLoop::retire(std::shared_ptr<void> object) {
  retired_.push_back(std::move(object));
}

void EventLoop::guarded(const std::function<void()>& fn, const char* what) {
  try {
    fn();
  } catch (const std::exception& e) {
    on_error_(name_ + ": a " + what + " threw: " + e.what());
  } catch (...) {
    on_error_(name_ + ": a " + what + " threw a non-exception");
  }
}

void EventLoop::drainTasks() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(tasks_mutex_);
    batch.swap(tasks_);
  }
  for (auto& task : batch) guarded(task, "task");
}

void EventLoop::runTimers() {
  std::function<void()> fn;
  // Only what was due when this pass began: a timer that re-arms itself for "now" waits a turn.
  const Clock::time_point until = now_;
  while (timers_.popDue(until, fn)) {
    guarded(fn, "timer");
    fn = nullptr;
  }
}

void EventLoop::run() {
  thread_id_ = std::this_thread::get_id();
  epoll_event events[256];
  while (!stopping_) {
    now_ = Clock::now();
    const Clock::time_point next = timers_.next();
    int timeout = -1;
    if (next != Clock::time_point::max())
      timeout =
          next <= now_
              ? 0
              : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(next - now_).count());
    const int n = epoll_wait(epoll_fd_, events, 256, timeout);
    now_ = Clock::now();
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        std::uint64_t count;
        while (read(wake_fd_, &count, sizeof count) > 0) {
        }
        continue;
      }
      auto* handler = static_cast<IoHandler*>(events[i].data.ptr);
      const std::uint32_t ev = events[i].events;
      guarded([handler, ev] { handler->onIo(ev); }, "socket handler");
    }
    drainTasks();
    runTimers();
    // Flushing may queue more flushes (a connection closing); run until quiet.
    while (!flushes_.empty()) {
      flushing_.swap(flushes_);  // both keep their capacity: no allocation once warmed up
      for (auto& h : flushing_) guarded([&h] { h->onFlush(); }, "flush");
      flushing_.clear();
    }
    retired_.clear();
  }
  // What was posted before this runs; nothing is accepted after it.
  {
    std::lock_guard lock(tasks_mutex_);
    accepting_tasks_ = false;
  }
  drainTasks();
  flushes_.clear();
  retired_.clear();
}

}  // namespace parley::core::net
