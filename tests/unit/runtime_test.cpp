#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/runtime/call_gate.hpp"
#include "core/runtime/event_bus.hpp"
#include "core/runtime/services.hpp"
#include "core/runtime/timers.hpp"
#include "parley/sdk/errors.hpp"

namespace parley::core {
namespace {

using namespace std::chrono_literals;

// Polls `pred` until it holds or a generous deadline passes; never a timing assertion itself.
template <class Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Collects what an ErrorSink reports, from any thread.
struct Errors {
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> seen;
  auto sink() {
    return [this](const std::string& owner, const std::string& what) {
      std::lock_guard lock(mutex);
      seen.emplace_back(owner, what);
    };
  }
  std::vector<std::pair<std::string, std::string>> get() {
    std::lock_guard lock(mutex);
    return seen;
  }
};

// ---- EventBus ----

TEST(EventBusTest, DeliversToTopicSubscribersInOrder) {
  Errors errors;
  EventBus bus(errors.sink());
  std::vector<std::string> got;
  auto record = [&](std::string tag) {
    return [&got, tag](const sdk::Event& e) { got.push_back(tag + ":" + e.json); };
  };
  auto a = bus.subscribe("p1", "room.question", record("a"));
  auto b = bus.subscribe("p2", "room.answer", record("b"));
  auto c = bus.subscribe("p3", "room.question", record("c"));
  bus.publish({"room.question", "{\"q\":1}"});
  EXPECT_EQ(got, (std::vector<std::string>{"a:{\"q\":1}", "c:{\"q\":1}"}));
  got.clear();
  bus.publish({"room.nobody", "{}"});
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(errors.get().empty());
}

TEST(EventBusTest, ThrowingSubscriberIsReportedAndOthersStillReceive) {
  Errors errors;
  EventBus bus(errors.sink());
  int before = 0, after = 0;
  auto a = bus.subscribe("first", "t", [&](const sdk::Event&) { ++before; });
  auto b =
      bus.subscribe("broken", "t", [](const sdk::Event&) { throw std::runtime_error("boom"); });
  auto c = bus.subscribe("odd", "t", [](const sdk::Event&) { throw 42; });
  auto d = bus.subscribe("last", "t", [&](const sdk::Event&) { ++after; });
  EXPECT_NO_THROW(bus.publish({"t", "{}"}));
  EXPECT_EQ(before, 1);
  EXPECT_EQ(after, 1);
  auto seen = errors.get();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, "broken");
  EXPECT_NE(seen[0].second.find("boom"), std::string::npos) << seen[0].second;
  EXPECT_EQ(seen[1].first, "odd");
}

TEST(EventBusTest, RevokingStopsDelivery) {
  Errors errors;
  EventBus bus(errors.sink());
  int a_count = 0, b_count = 0;
  auto a = bus.subscribe("p", "t", [&](const sdk::Event&) { ++a_count; });
  auto b = bus.subscribe("p", "t", [&](const sdk::Event&) { ++b_count; });
  bus.publish({"t", "{}"});
  a->revoke();
  bus.publish({"t", "{}"});
  EXPECT_EQ(a_count, 1);
  EXPECT_EQ(b_count, 2);
  b->revoke();
  bus.publish({"t", "{}"});
  EXPECT_EQ(b_count, 2);
}

TEST(EventBusTest, HandlerMayRevokeItsOwnSubscription) {
  // Shared state outlives the test if the publisher deadlocks, so the failure is reported cleanly.
  struct State {
    Errors errors;
    EventBus bus{errors.sink()};
    std::shared_ptr<sdk::Revoker> self;
    std::shared_ptr<sdk::Revoker> other;
    std::atomic<int> self_calls{0}, other_calls{0};
  };
  auto st = std::make_shared<State>();
  st->self = st->bus.subscribe("p", "t", [raw = st.get()](const sdk::Event&) {
    ++raw->self_calls;
    raw->self->revoke();
  });
  st->other =
      st->bus.subscribe("q", "t", [raw = st.get()](const sdk::Event&) { ++raw->other_calls; });

  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  std::thread([st, done] {
    st->bus.publish({"t", "{}"});
    st->bus.publish({"t", "{}"});
    done->set_value();
  }).detach();
  ASSERT_EQ(finished.wait_for(5s), std::future_status::ready) << "publish deadlocked";
  EXPECT_EQ(st->self_calls.load(), 1);
  EXPECT_EQ(st->other_calls.load(), 2);
  EXPECT_TRUE(st->self->revoked());
}

// ---- TimerService ----

TEST(TimerServiceTest, OneShotRunsOnce) {
  Errors errors;
  TimerService timers(errors.sink());
  std::atomic<int> runs{0};
  std::atomic<bool> marker{false};
  auto once = timers.schedule("p", 0ms, 0ms, [&] { ++runs; });
  // One scheduler thread runs timers in due order: once the later marker has run, a rerun of the
  // one-shot (due immediately) would already have happened.
  auto mark = timers.schedule("p", 50ms, 0ms, [&] { marker = true; });
  ASSERT_TRUE(WaitFor([&] { return marker.load(); }));
  EXPECT_EQ(runs.load(), 1);
}

TEST(TimerServiceTest, RunsInDueOrder) {
  Errors errors;
  TimerService timers(errors.sink());
  std::mutex m;
  std::vector<int> order;
  auto push = [&](int v) {
    return [&, v] {
      std::lock_guard lock(m);
      order.push_back(v);
    };
  };
  auto late = timers.schedule("p", 60ms, 0ms, push(3));
  auto early = timers.schedule("p", 0ms, 0ms, push(1));
  auto mid = timers.schedule("p", 30ms, 0ms, push(2));
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(m);
    return order.size() == 3;
  }));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(TimerServiceTest, PeriodicRunsRepeatedly) {
  Errors errors;
  TimerService timers(errors.sink());
  std::atomic<int> runs{0};
  auto every = timers.schedule("p", 5ms, 5ms, [&] { ++runs; });
  EXPECT_TRUE(WaitFor([&] { return runs.load() >= 3; })) << runs.load();
}

TEST(TimerServiceTest, CancelledPeriodicStops) {
  Errors errors;
  TimerService timers(errors.sink());
  std::atomic<int> runs{0};
  std::atomic<bool> marker{false};
  auto every = timers.schedule("p", 5ms, 5ms, [&] { ++runs; });
  ASSERT_TRUE(WaitFor([&] { return runs.load() >= 2; }));
  every->revoke();
  const int at_cancel = runs.load();
  // The marker is due several periods later; the periodic entry would have run before it.
  auto mark = timers.schedule("p", 50ms, 0ms, [&] { marker = true; });
  ASSERT_TRUE(WaitFor([&] { return marker.load(); }));
  EXPECT_EQ(runs.load(), at_cancel);
}

TEST(TimerServiceTest, RevokeWaitsForARunningTask) {
  Errors errors;
  TimerService timers(errors.sink());
  std::atomic<bool> started{false}, finished{false};
  auto task = timers.schedule("p", 0ms, 0ms, [&] {
    started = true;
    std::this_thread::sleep_for(100ms);  // widens the window in which revoke() must wait
    finished = true;
  });
  ASSERT_TRUE(WaitFor([&] { return started.load(); }));
  task->revoke();
  EXPECT_TRUE(finished.load()) << "revoke() returned while the task was still running";
}

// The core may revoke a registration while the plugin drops its handle; the undo runs once, but
// every revoke() must return only once the task is no longer running, the second one too.
TEST(TimerServiceTest, ConcurrentSecondRevokeAlsoWaits) {
  Errors errors;
  TimerService timers(errors.sink());
  std::atomic<bool> started{false}, finished{false};
  auto task = timers.schedule("p", 0ms, 0ms, [&] {
    started = true;
    std::this_thread::sleep_for(200ms);  // widens the window in which both revokes must wait
    finished = true;
  });
  ASSERT_TRUE(WaitFor([&] { return started.load(); }));
  std::thread first([&] { task->revoke(); });
  const bool underway = WaitFor([&] { return task->revoked(); });
  task->revoke();
  const bool finished_on_return = finished.load();
  first.join();
  ASSERT_TRUE(underway);
  EXPECT_TRUE(finished_on_return) << "the second revoke() returned while the task was running";
}

TEST(TimerServiceTest, TaskMayCancelItself) {
  Errors errors;
  TimerService timers(errors.sink());
  std::atomic<int> runs{0};
  std::atomic<bool> marker{false};
  std::shared_ptr<sdk::Revoker> self;
  std::atomic<bool> ready{false};
  self = timers.schedule("p", 5ms, 5ms, [&] {
    while (!ready.load()) std::this_thread::yield();
    ++runs;
    self->revoke();
  });
  ready = true;
  ASSERT_TRUE(WaitFor([&] { return runs.load() >= 1; }));
  auto mark = timers.schedule("p", 50ms, 0ms, [&] { marker = true; });
  ASSERT_TRUE(WaitFor([&] { return marker.load(); })) << "scheduler stuck after self-cancel";
  EXPECT_EQ(runs.load(), 1);
}

// The core revokes a running task (a plugin stopping) while that task drops its own handle: the
// core waits for the task, so the task's revoke must not wait for the core.
TEST(TimerServiceTest, TaskCancellingItselfWhileTheCoreRevokesItDoesNotDeadlock) {
  Errors errors;
  TimerService timers(errors.sink());
  std::atomic<bool> in_task{false}, core_revoking{false}, task_done{false};
  std::shared_ptr<sdk::Revoker> core_handle;
  sdk::Registration plugin_handle;
  core_handle = timers.schedule("p", 1ms, 1ms, [&] {
    if (task_done) return;
    in_task = true;
    while (!core_revoking) std::this_thread::yield();
    std::this_thread::sleep_for(20ms);  // the core is now waiting for this task
    plugin_handle.reset();
    task_done = true;
  });
  plugin_handle = sdk::Registration(core_handle);
  ASSERT_TRUE(WaitFor([&] { return in_task.load(); }));
  std::atomic<bool> core_returned{false};
  std::thread core([&] {
    core_revoking = true;
    core_handle->revoke();
    core_returned = true;
  });
  EXPECT_TRUE(WaitFor([&] { return core_returned.load(); })) << "deadlock";
  if (!core_returned) std::_Exit(1);  // a deadlocked thread cannot be joined
  core.join();
  EXPECT_TRUE(task_done);
}

TEST(TimerServiceTest, ThrowingTaskIsReportedAndSchedulerGoesOn) {
  Errors errors;
  TimerService timers(errors.sink());
  std::atomic<bool> later{false};
  auto bad = timers.schedule("alpha", 0ms, 0ms, [] { throw std::runtime_error("kaput"); });
  auto odd = timers.schedule("beta", 1ms, 0ms, [] { throw 7; });
  auto good = timers.schedule("gamma", 20ms, 0ms, [&] { later = true; });
  ASSERT_TRUE(WaitFor([&] { return later.load(); }));
  auto seen = errors.get();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, "alpha");
  EXPECT_NE(seen[0].second.find("kaput"), std::string::npos) << seen[0].second;
  EXPECT_EQ(seen[1].first, "beta");
}

// Scheduling while the thread sleeps until the earliest due time grows the heap under it; the
// thread must not keep a reference into the heap's storage (AddressSanitizer builds catch it).
TEST(TimerServiceTest, SchedulingWhileTheThreadWaitsIsSafe) {
  Errors errors;
  TimerService timers(errors.sink());
  std::atomic<int> runs{0};
  std::vector<std::shared_ptr<sdk::Revoker>> held;
  held.push_back(timers.schedule("p", 10s, 0ms, [] {}));
  std::this_thread::sleep_for(20ms);  // lets the thread start waiting on that entry
  for (int i = 0; i < 100; ++i) held.push_back(timers.schedule("p", 5ms, 0ms, [&] { ++runs; }));
  EXPECT_TRUE(WaitFor([&] { return runs.load() == 100; })) << runs.load();
}

TEST(TimerServiceTest, ShutdownDropsPendingTimers) {
  Errors errors;
  std::atomic<bool> ran{false};
  std::shared_ptr<sdk::Revoker> pending;
  {
    TimerService timers(errors.sink());
    pending = timers.schedule("p", 10s, 0ms, [&] { ran = true; });
  }  // must not wait for the 10 s timer
  EXPECT_FALSE(ran.load());
  pending->revoke();  // harmless once the service is gone
}

// ---- ServiceRegistry ----

TEST(ServiceRegistryTest, ProvideAndFind) {
  ServiceRegistry services;
  auto rooms = std::make_shared<int>(7);
  auto r = services.provide("rooms", "parley.rooms.v1", rooms);
  EXPECT_EQ(services.find("parley.rooms.v1"), rooms);
  EXPECT_EQ(*std::static_pointer_cast<int>(services.find("parley.rooms.v1")), 7);
  EXPECT_EQ(services.find("parley.rooms.v2"), nullptr);
  EXPECT_THROW(services.provide("rooms", "parley.null.v1", nullptr), sdk::RegistrationError);
}

TEST(ServiceRegistryTest, DuplicateNamesBothOwners) {
  ServiceRegistry services;
  auto first = std::make_shared<int>(1);
  auto r = services.provide("alpha", "svc.v1", first);
  try {
    services.provide("beta", "svc.v1", std::make_shared<int>(2));
    ADD_FAILURE() << "no RegistrationError";
  } catch (const sdk::RegistrationError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("alpha"), std::string::npos) << msg;
    EXPECT_NE(msg.find("beta"), std::string::npos) << msg;
  }
  EXPECT_EQ(services.find("svc.v1"), first);  // the refused offer changed nothing
}

TEST(ServiceRegistryTest, RevokeRemoves) {
  ServiceRegistry services;
  auto r = services.provide("alpha", "svc.v1", std::make_shared<int>(1));
  r->revoke();
  EXPECT_EQ(services.find("svc.v1"), nullptr);
  auto replacement = std::make_shared<int>(2);
  auto r2 = services.provide("beta", "svc.v1", replacement);
  r->revoke();  // a second revoke of the old handle must not remove the new provider
  EXPECT_EQ(services.find("svc.v1"), replacement);
}

// ---- CallGate ----

TEST(CallGateTest, EnterAfterCloseFails) {
  CallGate gate;
  ASSERT_TRUE(gate.enter());
  gate.leave();
  gate.close();
  EXPECT_FALSE(gate.enter());
  CallGate::Pass pass(gate);
  EXPECT_FALSE(pass);
}

TEST(CallGateTest, CloseWaitsForCallsInProgress) {
  CallGate gate;
  std::atomic<bool> inside{false}, left{false};
  std::thread caller([&] {
    CallGate::Pass pass(gate);
    inside = true;
    std::this_thread::sleep_for(100ms);  // widens the window in which close() must wait
    left = true;
  });
  ASSERT_TRUE(WaitFor([&] { return inside.load(); }));
  gate.close();
  EXPECT_TRUE(left.load()) << "close() returned while a call was in progress";
  caller.join();
}

}  // namespace
}  // namespace parley::core
