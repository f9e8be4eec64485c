// The process's event loops: a small fixed set, started once, serving every socket.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "core/net/event_loop.hpp"

namespace parley::core::net {

class LoopGroup {
 public:
  LoopGroup(int threads, const EventLoop::ErrorSink& on_error);
  void start();
  void stop();  // joins every loop

  std::size_t size() const { return loops_.size(); }
  EventLoop& at(std::size_t i) { return *loops_[i]; }
  // Round robin, for spreading new connections.
  EventLoop& next() {
    return *loops_[next_.fetch_add(1, std::memory_order_relaxed) % loops_.size()];
  }
  // The loop whose thread calls this, or null.
  EventLoop* current();

 private:
  std::vector<std::unique_ptr<EventLoop>> loops_;
  std::atomic<unsigned> next_{0};
};

}  // namespace parley::core::net
