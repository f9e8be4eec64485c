// Both stores against the same expectations: SQLite in a fresh file, Redis on a redis-server of
// the test's own. Journals are bounded, tokens revoke once, and everything survives a reopen.
#include <gtest/gtest.h>

#include <filesystem>

#include "redis.hpp"
#include "store.hpp"
#include "tests/support/fakes.hpp"

namespace parley::share {
namespace {

namespace fs = std::filesystem;

struct Backend {
  std::string name;
  std::function<std::unique_ptr<Store>(StoreLimits)> open;
};

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      dir_ = std::make_unique<test::TempDir>("share-store");
      path_ = dir_->path() + "/state/share_tokens.db";
    } else {
      redis_ = std::make_unique<test::RedisServer>();
    }
  }
  std::unique_ptr<Store> open(StoreLimits limits = {5, 3600}) {
    if (GetParam() == "sqlite") return openSqlite(path_, limits);
    redis::Settings s;
    s.port = redis_->port();
    return openRedis(s, "test:", limits);
  }
  static Entry entry(double ts, const std::string& text) {
    return {ts, "question", "", "{\"question\":\"" + text + "\"}"};
  }

  std::unique_ptr<test::TempDir> dir_;
  std::string path_;
  std::unique_ptr<test::RedisServer> redis_;
};

TEST_P(StoreTest, AJournalKeepsItsNewestEntriesAndCountsTheRest) {
  auto store = open();
  store->beginSession({"s1", "alice", "room-1", "candidate", 100, 0, "", 0});
  for (int i = 0; i < 4; ++i) store->append("s1", {entry(101 + i, "q" + std::to_string(i))});
  store->append("s1", {entry(105, "q4"), entry(106, "q5"), entry(107, "q6")});
  store->endSession("s1", 110, "client_disconnect");
  auto s = store->session("s1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->owner, "alice");
  EXPECT_EQ(s->room_id, "room-1");
  EXPECT_EQ(s->participant, "candidate");
  EXPECT_DOUBLE_EQ(s->started_at, 100);
  EXPECT_DOUBLE_EQ(s->ended_at, 110);
  EXPECT_EQ(s->end_reason, "client_disconnect");
  EXPECT_EQ(s->dropped, 2);
  auto entries = store->entries("s1");
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries.front().data, "{\"question\":\"q2\"}");
  EXPECT_EQ(entries.back().data, "{\"question\":\"q6\"}");
  EXPECT_DOUBLE_EQ(entries.back().ts, 107);
  EXPECT_FALSE(store->session("nobody"));
  EXPECT_TRUE(store->entries("nobody").empty());
}

TEST_P(StoreTest, TokensRevokeOnceAndOnlyWhileLive) {
  auto store = open();
  const double T = 2e9;  // a time to come: Redis drops keys whose expiry has passed
  store->addToken({"h1", "s1", "room-1", "alice", T + 100, T + 200, 0});
  store->addToken({"h2", "s1", "room-1", "alice", T + 100, T + 150, 0});
  store->addToken({"h3", "s2", "room-2", "bob", T + 100, T + 200, 0});
  EXPECT_EQ(store->activeTokens(T + 120).size(), 3u);
  EXPECT_EQ(store->activeTokens(T + 160).size(), 2u) << "h2 expired at 150";
  auto t = store->token("h1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->session_id, "s1");
  EXPECT_EQ(t->room_id, "room-1");
  EXPECT_DOUBLE_EQ(t->expires_at, T + 200);
  EXPECT_DOUBLE_EQ(t->revoked_at, 0);

  EXPECT_EQ(store->revoke("s1", "h3", T + 120), std::vector<std::string>{}) << "another session's";
  EXPECT_EQ(store->revoke("s1", "h1", T + 120), std::vector<std::string>{"h1"});
  EXPECT_EQ(store->revoke("s1", "h1", T + 121), std::vector<std::string>{}) << "already revoked";
  EXPECT_EQ(store->revoke("s1", "", T + 160), std::vector<std::string>{}) << "h2 has expired";
  EXPECT_DOUBLE_EQ(store->token("h1")->revoked_at, T + 120);
  EXPECT_EQ(store->activeTokens(T + 160).size(), 1u) << "h1 revoked, h2 expired: h3";
  EXPECT_FALSE(store->token("nope"));
}

TEST_P(StoreTest, EverythingSurvivesAReopen) {
  {
    auto store = open();
    store->beginSession({"s1", "alice", "room-1", "candidate", 100, 0, "", 0});
    store->append("s1", {entry(101, "q0")});
    store->addToken({"h1", "s1", "room-1", "alice", 100, 4e9, 0});
  }
  auto store = open();
  EXPECT_EQ(store->session("s1")->owner, "alice");
  EXPECT_EQ(store->entries("s1").size(), 1u);
  EXPECT_EQ(store->token("h1")->session_id, "s1");
}

TEST_P(StoreTest, OldJournalsAndTokensAreForgotten) {
  auto store = open();
  if (GetParam() == "redis") {  // Redis forgets by itself: every key carries its expiry
    store->beginSession({"old", "alice", "r", "candidate", 100, 0, "", 0});
    store->append("old", {entry(101, "q")});
    store->endSession("old", 110, "client_disconnect");
    store->addToken({"h1", "old", "r", "alice", 100, 4e9, 0});
    for (const char* key : {"test:share:session:old", "test:share:journal:old"})
      EXPECT_EQ(test::resp(redis_->port(), {"TTL", key}), ":3600\r\n") << key;
    const std::string ttl = test::resp(redis_->port(), {"TTL", "test:share:token:h1"});
    EXPECT_GT(std::stoll(ttl.substr(1)), 3600) << "a token outlives its expiry by the retention";
    return;
  }
  store->beginSession({"old", "alice", "r", "candidate", 100, 0, "", 0});
  store->append("old", {entry(101, "q")});
  store->endSession("old", 110, "client_disconnect");
  store->beginSession({"live", "alice", "r", "candidate", 100, 0, "", 0});
  store->addToken({"h1", "old", "r", "alice", 100, 120, 0});
  store->forget(200);
  EXPECT_FALSE(store->session("old"));
  EXPECT_TRUE(store->entries("old").empty());
  EXPECT_TRUE(store->session("live")) << "a live session stays";
  EXPECT_FALSE(store->token("h1"));
}

TEST_P(StoreTest, AStoreThatCannotBeReachedSaysSo) {
  if (GetParam() == "sqlite") {
    EXPECT_THROW(openSqlite("/proc/no/such/dir/x.db", {}), StoreError);
    return;
  }
  redis_.reset();  // stopped
  redis::Settings s;
  s.port = test::freePort();
  auto store = openRedis(s, "test:", {});
  EXPECT_THROW(store->token("h1"), StoreError);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreTest, ::testing::Values("sqlite", "redis"));

}  // namespace
}  // namespace parley::share
