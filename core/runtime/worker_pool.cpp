#include "core/runtime/worker_pool.hpp"

namespace parley::core {

WorkerPool::WorkerPool(int threads, std::size_t max_queued, ErrorSink on_error)
    : max_queued_(max_queued), on_error_(std::move(on_error)) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() {
  stop();
}

bool WorkerPool::submit(const std::string& owner, std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back({owner, std::move(task)});
  }
  ready_.notify_one();
  return true;
}

bool WorkerPool::waitIdle(Clock::time_point until) {
  std::unique_lock lock(mutex_);
  return idle_.wait_until(lock, until, [&] { return queue_.empty() && running_.empty(); });
}

std::vector<std::string> WorkerPool::running() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> owners;
  for (const auto& [thread, owner] : running_) owners.push_back(owner);
  return owners;
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  ready_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void WorkerPool::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Task task = std::move(queue_.front());
    queue_.pop_front();
    auto me = running_.emplace(std::this_thread::get_id(), task.owner);
    lock.unlock();
    try {
      task.fn();
    } catch (const std::exception& e) {
      on_error_(task.owner, std::string("blocking work threw: ") + e.what());
    } catch (...) {
      on_error_(task.owner, "blocking work threw a non-exception");
    }
    task.fn = nullptr;  // its captures go before the pool may be reported idle
    lock.lock();
    running_.erase(me);
    if (queue_.empty() && running_.empty()) idle_.notify_all();
  }
}

}  // namespace parley::core
