// The timers of one event loop: a binary min-heap by due time whose entries know their place, so
// that cancelling is O(log n) and frees the callback at once (no dead entry waits for its due
// time).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

namespace parley::core::net {

class TimerHeap {
 public:
  using Clock = std::chrono::steady_clock;
  using Id = std::uint64_t;  // 0 is never an id

  Id add(Clock::time_point due, std::function<void()> fn);
  // Removes the timer and destroys its callback; false if it already ran or was cancelled.
  bool cancel(Id id);
  // When the earliest timer is due, or time_point::max() when there is none.
  Clock::time_point next() const;
  // Takes the earliest timer if it is due at `now`: its callback, removed from the heap.
  bool popDue(Clock::time_point now, std::function<void()>& fn);
  std::size_t size() const { return heap_.size(); }

 private:
  struct Node {
    Clock::time_point due;
    std::uint64_t seq = 0;  // ties run in the order added
    std::function<void()> fn;
    std::size_t pos = 0;           // index in heap_
    std::uint32_t generation = 0;  // bumped on reuse, so that a stale id cancels nothing
    bool live = false;
  };
  bool less(std::uint32_t a, std::uint32_t b) const;
  void place(std::size_t pos, std::uint32_t node);
  void up(std::size_t pos);
  void down(std::size_t pos);
  void remove(std::uint32_t node);

  std::vector<Node> nodes_;
  std::vector<std::uint32_t> free_;
  std::vector<std::uint32_t> heap_;  // node indices
  std::uint64_t next_seq_ = 0;
};

}  // namespace parley::core::net
