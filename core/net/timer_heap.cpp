#include "core/net/timer_heap.hpp"

namespace parley::core::net {

TimerHeap::Id TimerHeap::add(Clock::time_point due, std::function<void()> fn) {
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(nodes_.size());
    nodes_.emplace_back();
  }
  Node& n = nodes_[index];
  n.due = due;
  n.seq = next_seq_++;
  n.fn = std::move(fn);
  n.live = true;
  heap_.push_back(index);
  n.pos = heap_.size() - 1;
  up(n.pos);
  return (static_cast<Id>(n.generation) << 32 | index) + 1;
}

bool TimerHeap::cancel(Id id) {
  if (id == 0) return false;
  const auto index = static_cast<std::uint32_t>((id - 1) & 0xFFFFFFFFu);
  const auto generation = static_cast<std::uint32_t>((id - 1) >> 32);
  if (index >= nodes_.size()) return false;
  Node& n = nodes_[index];
  if (!n.live || n.generation != generation) return false;
  remove(index);
  return true;
}

TimerHeap::Clock::time_point TimerHeap::next() const {
  return heap_.empty() ? Clock::time_point::max() : nodes_[heap_.front()].due;
}

bool TimerHeap::popDue(Clock::time_point now, std::function<void()>& fn) {
  if (heap_.empty() || nodes_[heap_.front()].due > now) return false;
  const std::uint32_t index = heap_.front();
  fn = std::move(nodes_[index].fn);
  remove(index);
  return true;
}

bool TimerHeap::less(std::uint32_t a, std::uint32_t b) const {
  const Node& x = nodes_[a];
  const Node& y = nodes_[b];
  return x.due != y.due ? x.due < y.due : x.seq < y.seq;
}

void TimerHeap::place(std::size_t pos, std::uint32_t node) {
  heap_[pos] = node;
  nodes_[node].pos = pos;
}

void TimerHeap::up(std::size_t pos) {
  const std::uint32_t node = heap_[pos];
  while (pos > 0) {
    const std::size_t parent = (pos - 1) / 2;
    if (!less(node, heap_[parent])) break;
    place(pos, heap_[parent]);
    pos = parent;
  }
  place(pos, node);
}

void TimerHeap::down(std::size_t pos) {
  const std::uint32_t node = heap_[pos];
  const std::size_t n = heap_.size();
  while (true) {
    std::size_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && less(heap_[child + 1], heap_[child])) ++child;
    if (!less(heap_[child], node)) break;
    place(pos, heap_[child]);
    pos = child;
  }
  place(pos, node);
}

void TimerHeap::remove(std::uint32_t index) {
  Node& n = nodes_[index];
  const std::size_t pos = n.pos;
  const std::uint32_t last = heap_.back();
  heap_.pop_back();
  if (pos < heap_.size()) {
    place(pos, last);
    down(pos);
    up(nodes_[last].pos);
  }
  std::function<void()> gone = std::move(n.fn);  // destroyed after the node is consistent
  n.fn = nullptr;
  n.live = false;
  ++n.generation;
  free_.push_back(index);
  // `gone` may hold the last reference to objects whose destructors cancel other timers.
}

}  // namespace parley::core::net
