// The subscriber decides what to subscribe to against the rooms as they are, not against the order
// in which membership notifications arrive. The reload case, forced: the old session's leave is
// notified after the new session's join, from another thread.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "room_directory.hpp"
#include "subscriber.hpp"

namespace parley::fanout {
namespace {

class FakeSession final : public sdk::Session {
 public:
  explicit FakeSession(std::string id) { info_.id = std::move(id); }
  const sdk::SessionInfo& info() const override { return info_; }
  bool open() const override { return true; }
  void send(std::string) override {}
  void send(const sdk::EncodedFrame&) override {}
  std::size_t queuedBytes() const override { return 0; }
  void stop(sdk::DisconnectReason) override {}
  sdk::Scope& scope() override { throw std::logic_error("not in this test"); }
  void pauseReading() override {}
  void resumeReading() override {}
  const sdk::json::Value& claims() const override { return claims_; }
  sdk::SessionHandler* attached(const std::string&) const override { return nullptr; }
  void close(sdk::DisconnectReason, int, const std::string&) override {}

 private:
  sdk::SessionInfo info_;
  sdk::json::Value claims_;
};

class NoWebSockets final : public sdk::WebSockets {
 public:
  sdk::Registration onMessage(const std::string&, MessageHandler, sdk::RunOn) override {
    return {};
  }
  sdk::Registration onJson(const std::string&, JsonHandler, sdk::RunOn) override { return {}; }
  sdk::Registration attach(sdk::SessionHandlerSpec, HandlerFactory) override { return {}; }
  sdk::Registration onBinary(BinaryHandler, sdk::RunOn) override { return {}; }
  sdk::Registration onOpen(OpenHandler) override { return {}; }
  sdk::Registration onClose(CloseHandler) override { return {}; }
  sdk::EncodedFrame encodeText(std::string_view json) override {
    return std::make_shared<const std::string>(json);
  }
  void broadcast(const std::vector<sdk::SessionPtr>&, const sdk::EncodedFrame&) override {}
  sdk::SessionPtr find(const std::string&) const override { return nullptr; }
};

const std::string kRoom = "6f0c2a9e-1111-4a6b-9c1d-0123456789ab";
const std::string kChannel = "room:" + kRoom + ":events";

struct Fixture {
  NoWebSockets ws;
  std::shared_ptr<rooms::RoomDirectory> rooms = std::make_shared<rooms::RoomDirectory>(
      ws, std::chrono::hours(1), rooms::RoomDirectory::QuestionRules{}, nullptr);
  Subscriptions subscriptions;
  std::set<std::string> active;
  Subscriptions::Serves serves = [this](const std::string& channel) {
    return channel == kChannel && rooms->localMembers(kRoom) > 0;
  };
};

TEST(Subscriptions, FollowTheRoomsAsTheyAre) {
  Fixture f;
  auto reg = f.rooms->onMembership(
      [&](const std::string&, std::size_t) { f.subscriptions.touch(kChannel); });
  f.rooms->join(kRoom, std::make_shared<FakeSession>("a"), 2);
  auto plan = f.subscriptions.plan(f.active, f.serves, false);
  EXPECT_EQ(plan.join, std::vector<std::string>{kChannel});
  EXPECT_TRUE(plan.leave.empty());

  f.rooms->leave("a");
  plan = f.subscriptions.plan(f.active, f.serves, false);
  EXPECT_EQ(plan.leave, std::vector<std::string>{kChannel});
  EXPECT_TRUE(f.active.empty());
  EXPECT_TRUE(f.subscriptions.plan(f.active, f.serves, false).leave.empty()) << "nothing twice";
}

TEST(Subscriptions, AReloadWhoseLeaveIsNotifiedLastKeepsTheRoomSubscribed) {
  Fixture f;
  f.rooms->join(kRoom, std::make_shared<FakeSession>("old"), 2);
  f.subscriptions.touch(kChannel);
  f.subscriptions.plan(f.active, f.serves, false);
  ASSERT_EQ(f.active.count(kChannel), 1u);

  // The old session's leave (loop 1) holds its notification until the new session's join (loop 2)
  // has been notified: the interleaving that made a last-writer-wins subscriber unsubscribe.
  std::mutex m;
  std::condition_variable cv;
  bool leave_committed = false, join_notified = false;
  auto reg = f.rooms->onMembership([&](const std::string&, std::size_t members) {
    if (members == 0) {
      std::unique_lock lock(m);
      leave_committed = true;
      cv.notify_all();
      cv.wait(lock, [&] { return join_notified; });
    }
    f.subscriptions.touch(kChannel);
  });
  std::thread loop1([&] { f.rooms->leave("old"); });
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return leave_committed; });
  }
  f.rooms->join(kRoom, std::make_shared<FakeSession>("new"), 2);  // notified at once
  {
    std::lock_guard lock(m);
    join_notified = true;
  }
  cv.notify_all();
  loop1.join();

  const auto plan = f.subscriptions.plan(f.active, f.serves, false);
  EXPECT_TRUE(plan.leave.empty()) << "the room has a member: it must stay subscribed";
  EXPECT_EQ(f.active.count(kChannel), 1u);
}

TEST(Subscriptions, AReconnectionSubscribesAgainToWhatIsStillServed) {
  Fixture f;
  f.rooms->join(kRoom, std::make_shared<FakeSession>("a"), 2);
  f.subscriptions.touch(kChannel);
  f.subscriptions.touch("room:elsewhere:events");
  f.subscriptions.plan(f.active, f.serves, false);
  std::set<std::string> fresh;  // a new connection holds nothing
  const auto plan = f.subscriptions.plan(fresh, f.serves, true);
  EXPECT_EQ(plan.join, std::vector<std::string>{kChannel});
}

}  // namespace
}  // namespace parley::fanout
