#include "core/runtime/serial_workers.hpp"

namespace parley::core {

SerialWorkers::SerialWorkers(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    workers_.push_back(std::make_unique<Worker>());
    Worker& w = *workers_.back();
    w.thread = std::thread([&w] { run(w); });
  }
}

SerialWorkers::~SerialWorkers() {
  shutdown();
}

void SerialWorkers::post(const std::string& key, std::function<void()> task) {
  Worker& w = *workers_[std::hash<std::string>{}(key) % workers_.size()];
  {
    std::lock_guard lock(w.mutex);
    if (w.stopping) return;
    w.tasks.push_back(std::move(task));
  }
  w.ready.notify_one();
}

void SerialWorkers::shutdown() {
  for (auto& w : workers_) {
    {
      std::lock_guard lock(w->mutex);
      w->stopping = true;
    }
    w->ready.notify_one();
  }
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

void SerialWorkers::run(Worker& w) {
  std::unique_lock lock(w.mutex);
  while (true) {
    w.ready.wait(lock, [&] { return w.stopping || !w.tasks.empty(); });
    if (w.tasks.empty()) return;  // stopping, and nothing left
    auto task = std::move(w.tasks.front());
    w.tasks.pop_front();
    lock.unlock();
    task();  // tasks catch their own exceptions
    lock.lock();
  }
}

}  // namespace parley::core
