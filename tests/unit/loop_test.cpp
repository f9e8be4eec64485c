// The event loop, its timers, scopes on it, and the worker pool: what every connection and every
// plugin callback stands on.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/net/event_loop.hpp"
#include "core/net/scope.hpp"
#include "core/net/timer_heap.hpp"
#include "core/runtime/worker_pool.hpp"

namespace parley::core {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

template <class Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Runs `fn` on the loop's thread and waits for it.
template <class F>
void OnLoop(net::EventLoop& loop, F fn) {
  std::promise<void> done;
  loop.post([&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

// ---- TimerHeap ----

TEST(TimerHeapTest, PopsInDueOrderAndTiesInAddOrder) {
  net::TimerHeap heap;
  std::vector<int> order;
  const auto t0 = Clock::now();
  heap.add(t0 + 30ms, [&] { order.push_back(3); });
  heap.add(t0 + 10ms, [&] { order.push_back(1); });
  heap.add(t0 + 20ms, [&] { order.push_back(2); });
  heap.add(t0 + 20ms, [&] { order.push_back(22); });
  std::function<void()> fn;
  EXPECT_FALSE(heap.popDue(t0, fn)) << "nothing due yet";
  while (heap.popDue(t0 + 1s, fn)) fn();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 22, 3}));
  EXPECT_EQ(heap.next(), Clock::time_point::max());
}

TEST(TimerHeapTest, CancelRemovesAtOnceAndDestroysTheCallback) {
  net::TimerHeap heap;
  auto captured = std::make_shared<int>(0);
  std::weak_ptr<int> watch = captured;
  const auto t0 = Clock::now();
  const auto a = heap.add(t0 + 1h, [captured] { ++*captured; });
  captured.reset();
  const auto b = heap.add(t0 + 2h, [] {});
  EXPECT_FALSE(watch.expired());
  EXPECT_TRUE(heap.cancel(a));
  EXPECT_TRUE(watch.expired()) << "the closure is freed when cancelled, not at its due time";
  EXPECT_FALSE(heap.cancel(a)) << "twice";
  EXPECT_EQ(heap.size(), 1u);
  EXPECT_EQ(heap.next(), t0 + 2h);
  // A reused slot does not answer to the old id.
  const auto c = heap.add(t0 + 3h, [] {});
  EXPECT_FALSE(heap.cancel(a));
  EXPECT_TRUE(heap.cancel(b));
  EXPECT_TRUE(heap.cancel(c));
  EXPECT_EQ(heap.size(), 0u);
}

TEST(TimerHeapTest, StaysAHeapThroughRandomCancels) {
  net::TimerHeap heap;
  std::vector<net::TimerHeap::Id> ids;
  const auto t0 = Clock::now();
  for (int i = 0; i < 200; ++i)
    ids.push_back(heap.add(t0 + std::chrono::milliseconds((i * 37) % 101), [] {}));
  for (std::size_t i = 0; i < ids.size(); i += 3) heap.cancel(ids[i]);
  Clock::time_point last{};
  std::function<void()> fn;
  std::size_t popped = 0;
  while (heap.popDue(t0 + 1h, fn)) ++popped;
  EXPECT_EQ(popped, 200u - 67u);
  (void)last;
}

// ---- EventLoop ----

struct LoopFixture : ::testing::Test {
  std::mutex mutex;
  std::vector<std::string> errors;
  net::EventLoop loop{"test", [this](const std::string& what) {
                        std::lock_guard lock(mutex);
                        errors.push_back(what);
                      }};
  LoopFixture() { loop.start(); }
};

TEST_F(LoopFixture, PostedTasksRunInOrderOnTheLoopThread) {
  std::vector<int> order;
  std::atomic<bool> on_loop{true};
  for (int i = 0; i < 100; ++i)
    loop.post([&, i] {
      order.push_back(i);
      on_loop = on_loop && loop.inLoopThread();
    });
  OnLoop(loop, [] {});
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  EXPECT_TRUE(on_loop);
  EXPECT_FALSE(loop.inLoopThread());
}

TEST_F(LoopFixture, AThrowingTaskIsReportedAndTheLoopGoesOn) {
  loop.post([] { throw std::runtime_error("boom"); });
  std::atomic<bool> after{false};
  loop.post([&] { after = true; });
  ASSERT_TRUE(WaitFor([&] { return after.load(); }));
  std::lock_guard lock(mutex);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("boom"), std::string::npos);
}

TEST_F(LoopFixture, TimersFireOnTheLoopAndCancelledOnesDoNot) {
  std::atomic<int> fired{0};
  net::EventLoop::TimerId cancelled = 0;
  OnLoop(loop, [&] {
    loop.after(5ms, [&] { fired += 1; });
    cancelled = loop.after(5ms, [&] { fired += 100; });
    loop.after(10ms, [&] { fired += 10; });
    EXPECT_TRUE(loop.cancel(cancelled));
  });
  ASSERT_TRUE(WaitFor([&] { return fired.load() == 11; }));
}

TEST_F(LoopFixture, APostAfterStopIsRefused) {
  loop.stop();
  EXPECT_FALSE(loop.post([] {}));
}

// ---- LoopScope ----

struct ScopeFixture : LoopFixture {
  WorkerPool workers{2, 16, [](const std::string&, const std::string&) {}};
  std::shared_ptr<net::LoopScope> scope = std::make_shared<net::LoopScope>(loop, workers, "test");
};

TEST_F(ScopeFixture, CancellingATimerFreesItsCallbackAtOnce) {
  auto captured = std::make_shared<int>(0);
  std::weak_ptr<int> watch = captured;
  OnLoop(loop, [&] {
    sdk::Timer t = scope->after(1h, [captured] {});
    captured.reset();
    EXPECT_FALSE(watch.expired());
    t.cancel();
    EXPECT_TRUE(watch.expired());
  });
}

TEST_F(ScopeFixture, EveryRepeatsUntilCancelledAndATimerMayCancelItself) {
  std::atomic<int> ticks{0};
  sdk::Timer t;
  OnLoop(loop, [&] {
    t = scope->every(1ms, [&] {
      if (++ticks == 3) t.cancel();
    });
  });
  ASSERT_TRUE(WaitFor([&] { return ticks.load() == 3; }));
  OnLoop(loop, [] {});
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(ticks.load(), 3);
}

TEST_F(ScopeFixture, NothingOfAClosedScopeRuns) {
  std::atomic<int> ran{0};
  sdk::Timer t;
  OnLoop(loop, [&] {
    t = scope->after(1ms, [&] { ++ran; });
    scope->close();
  });
  scope->post([&] { ++ran; });
  EXPECT_FALSE(scope->offload([] {}, [&] { ++ran; }));
  std::this_thread::sleep_for(20ms);
  OnLoop(loop, [] {});
  EXPECT_EQ(ran.load(), 0);
  EXPECT_TRUE(scope->closed());
}

TEST_F(ScopeFixture, OffloadedWorkRunsOffTheLoopAndItsResultOnTheScope) {
  std::atomic<bool> work_off_loop{false}, done_on_loop{false};
  OnLoop(loop, [&] {
    ASSERT_TRUE(scope->offload([&] { work_off_loop = !loop.inLoopThread(); },
                               [&] { done_on_loop = loop.inLoopThread(); }));
  });
  ASSERT_TRUE(WaitFor([&] { return done_on_loop.load(); }));
  EXPECT_TRUE(work_off_loop);
}

TEST_F(ScopeFixture, AResultDoesNotRunOnceTheScopeClosed) {
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> done{false};
  OnLoop(loop, [&] { scope->offload([released] { released.wait(); }, [&] { done = true; }); });
  scope->closeAndWait();
  release.set_value();
  ASSERT_TRUE(workers.waitIdle(Clock::now() + 5s));
  OnLoop(loop, [] {});
  EXPECT_FALSE(done);
}

// ---- WorkerPool ----

TEST(WorkerPoolTest, RefusesPastItsQueueAndDrains) {
  WorkerPool pool(1, 2, [](const std::string&, const std::string&) {});
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.submit("a", [&, gate] {
    gate.wait();
    ++ran;
  }));
  ASSERT_TRUE(WaitFor([&] { return pool.running().size() == 1; }));
  EXPECT_EQ(pool.running(), std::vector<std::string>{"a"});
  EXPECT_TRUE(pool.submit("b", [&] { ++ran; }));
  EXPECT_TRUE(pool.submit("b", [&] { ++ran; }));
  EXPECT_FALSE(pool.submit("c", [&] { ++ran; })) << "bounded: a third queued task is refused";
  EXPECT_FALSE(pool.waitIdle(Clock::now() + 10ms));
  release.set_value();
  EXPECT_TRUE(pool.waitIdle(Clock::now() + 5s));
  EXPECT_EQ(ran.load(), 3);
}

TEST(WorkerPoolTest, AThrowingTaskIsReportedWithItsOwner) {
  std::mutex m;
  std::vector<std::string> owners;
  WorkerPool pool(1, 4, [&](const std::string& owner, const std::string&) {
    std::lock_guard lock(m);
    owners.push_back(owner);
  });
  pool.submit("plugin_x", [] { throw std::runtime_error("no"); });
  ASSERT_TRUE(pool.waitIdle(Clock::now() + 5s));
  std::lock_guard lock(m);
  EXPECT_EQ(owners, std::vector<std::string>{"plugin_x"});
}

}  // namespace
}  // namespace parley::core
