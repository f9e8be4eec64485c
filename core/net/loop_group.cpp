#include "core/net/loop_group.hpp"

namespace parley::core::net {

LoopGroup::LoopGroup(int threads, const EventLoop::ErrorSink& on_error) {
  for (int i = 0; i < std::max(1, threads); ++i)
    loops_.push_back(std::make_unique<EventLoop>("loop-" + std::to_string(i), on_error));
}

void LoopGroup::start() {
  for (auto& l : loops_) l->start();
}

void LoopGroup::stop() {
  for (auto& l : loops_) l->stop();
}

EventLoop* LoopGroup::current() {
  for (auto& l : loops_)
    if (l->inLoopThread()) return l.get();
  return nullptr;
}

}  // namespace parley::core::net
