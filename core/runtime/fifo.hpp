// A first-in, first-out queue that costs nothing while empty. std::deque allocates a map and a
// 512-byte block as soon as it is constructed: two per websocket session were 1.3 KB of every idle
// session (13 MB at 10,000). Here an empty queue is an empty vector; a drained one keeps a small
// capacity for the next burst and gives back a large one.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace parley::core {

template <class T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }

  void push_back(T value) { items_.push_back(std::move(value)); }
  // Back to the head of the line (a task its executor refused).
  void push_front(T value) {
    if (head_ > 0)
      items_[--head_] = std::move(value);
    else
      items_.insert(items_.begin(), std::move(value));
  }
  void pop_front() {
    items_[head_++] = T();  // what the element holds goes now, not at the next compaction
    if (head_ == items_.size())
      clear();
    else if (head_ >= kCompactAt && head_ * 2 >= items_.size())
      compact();
  }
  void clear() {
    items_.clear();
    head_ = 0;
    if (items_.capacity() > kKeepCapacity) std::vector<T>().swap(items_);
  }

  auto begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() const { return items_.end(); }

 private:
  static constexpr std::size_t kKeepCapacity = 16;
  static constexpr std::size_t kCompactAt = 64;
  void compact() {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }

  std::vector<T> items_;
  std::size_t head_ = 0;
};

}  // namespace parley::core
