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

TEST(ServiceRegistryTest, TypedFindRefusesAnotherType) {
  ServiceRegistry services;
  auto r = services.provide("alpha", "svc.v1", std::make_shared<int>(1), typeid(int).name());
  EXPECT_NE(services.find("svc.v1", typeid(int).name()), nullptr);
  EXPECT_THROW(services.find("svc.v1", typeid(double).name()), sdk::RegistrationError);
  EXPECT_NE(services.find("svc.v1"), nullptr) << "an untyped (SDK 1.1) find is not checked";
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
