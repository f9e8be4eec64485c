// The queue behind every websocket session's output and worker messages.
#include "core/runtime/fifo.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace parley::core {
namespace {

TEST(Fifo, FirstInFirstOutAcrossCompactions) {
  Fifo<int> q;
  EXPECT_TRUE(q.empty());
  int next_out = 0;
  for (int i = 0; i < 1000; ++i) {
    q.push_back(i);
    if (i % 3 == 2) {  // drains slower than it fills: compaction moves what is left
      EXPECT_EQ(q.front(), next_out++);
      q.pop_front();
    }
  }
  EXPECT_EQ(q.size(), 1000u - static_cast<std::size_t>(next_out));
  int expected = next_out;
  for (int v : q) EXPECT_EQ(v, expected++);
  while (!q.empty()) {
    EXPECT_EQ(q.front(), next_out++);
    q.pop_front();
  }
  EXPECT_EQ(next_out, 1000);
}

TEST(Fifo, PushFrontPutsATaskBackAtTheHeadOfTheLine) {
  Fifo<std::string> q;
  q.push_back("b");
  q.push_front("a");  // no room in front yet
  q.push_back("c");
  std::string first = q.front();
  q.pop_front();
  q.push_front(first);  // room in front now
  std::string order;
  for (; !q.empty(); q.pop_front()) order += q.front();
  EXPECT_EQ(order, "abc");
}

TEST(Fifo, WhatAnElementHoldsGoesWhenItIsPopped) {
  Fifo<std::shared_ptr<int>> q;
  auto held = std::make_shared<int>(7);
  q.push_back(held);
  q.push_back(std::make_shared<int>(8));
  EXPECT_EQ(held.use_count(), 2);
  q.pop_front();
  EXPECT_EQ(held.use_count(), 1) << "released at pop, not at the next compaction";
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.begin(), q.end());
}

}  // namespace
}  // namespace parley::core
