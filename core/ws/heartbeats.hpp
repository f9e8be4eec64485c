// Pings and idle checks for every session of a loop from one timer per loop, not one per session:
// a periodic timer per session cost about 150 bytes of every idle session (its entry and its
// closure), and a timer-heap entry re-armed per session per interval. Each session is due one
// ping interval after it opened or was last due; the sweep runs every quarter interval (at least
// 10 ms, at most 1 s), so a ping is at most that late.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "core/net/event_loop.hpp"

namespace parley::core::ws {

class Connection;

class Heartbeats {
 public:
  // A session's place in its loop's sweep (a member of Connection; Heartbeats' business only).
  struct Slot {
    std::uint32_t index = std::numeric_limits<std::uint32_t>::max();  // not in a sweep
    std::chrono::steady_clock::time_point due;
  };

  explicit Heartbeats(std::chrono::milliseconds interval);

  // On `c`'s loop thread: from open (join) until closed (leave).
  void join(Connection& c);
  void leave(Connection& c);

 private:
  struct PerLoop {
    net::EventLoop* loop = nullptr;
    std::vector<Connection*> members;
    net::EventLoop::TimerId timer = 0;
  };
  PerLoop& of(net::EventLoop& loop);
  void arm(PerLoop& here);
  void sweep(PerLoop& here);

  const std::chrono::milliseconds interval_, period_;
  std::mutex mutex_;  // only to find a loop's PerLoop; each is then touched on its loop alone
  std::vector<std::unique_ptr<PerLoop>> loops_;
};

}  // namespace parley::core::ws
