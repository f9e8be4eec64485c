#include "core/ws/event_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace parley::core::ws {

EventLoop::EventLoop(std::string name, std::chrono::milliseconds tick_period,
                     std::function<void()> on_tick)
    : name_(std::move(name)), tick_period_(tick_period), on_tick_(std::move(on_tick)) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    throw std::runtime_error(name_ + ": cannot create epoll/eventfd: " + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // null marks the wake-up fd
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
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

void EventLoop::post(std::function<void()> task) {
  bool was_empty;
  {
    std::lock_guard lock(tasks_mutex_);
    was_empty = tasks_.empty();
    tasks_.push_back(std::move(task));
  }
  // One wake-up per batch: the loop drains every task queued since.
  if (was_empty) {
    const std::uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof one);
    (void)n;  // EAGAIN means a wake-up is pending already
  }
}

void EventLoop::watch(int fd, std::uint32_t events, IoHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
    throw std::runtime_error(name_ + ": epoll add failed: " + std::strerror(errno));
}

void EventLoop::change(int fd, std::uint32_t events, IoHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::unwatch(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::deferFlush(std::shared_ptr<IoHandler> handler) {
  flushes_.push_back(std::move(handler));
}

void EventLoop::drainTasks() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(tasks_mutex_);
    batch.swap(tasks_);
  }
  for (auto& task : batch) task();
}

void EventLoop::run() {
  thread_id_ = std::this_thread::get_id();
  epoll_event events[256];
  auto next_tick = Clock::now() + tick_period_;
  while (!stopping_) {
    const auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - Clock::now());
    const int n =
        epoll_wait(epoll_fd_, events, 256, std::max<int>(0, static_cast<int>(wait.count())));
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        std::uint64_t count;
        while (read(wake_fd_, &count, sizeof count) > 0) {
        }
        continue;
      }
      static_cast<IoHandler*>(events[i].data.ptr)->onIo(events[i].events);
    }
    drainTasks();
    if (Clock::now() >= next_tick) {
      on_tick_();
      next_tick = Clock::now() + tick_period_;
    }
    // Flushing may queue more flushes (a connection closing); run until quiet.
    while (!flushes_.empty()) {
      flushing_.swap(flushes_);  // both keep their capacity: no allocation once warmed up
      for (auto& h : flushing_) h->onFlush();
      flushing_.clear();
    }
  }
  drainTasks();
}

}  // namespace parley::core::ws
