// Rooms across instances through a real redis-server (started here on a free loopback port):
// every room event reaches every member on every instance exactly once, in order, with no echo;
// an outage keeps local rooms working, flips /readyz when Redis is required, counts what was
// lost, and delivery resumes by itself once Redis is back.
#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <memory>
#include <thread>

#include "parley/sdk/json.hpp"
#include "tests/support/fakes.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"
#include "tests/support/ws_client.hpp"

namespace parley::test {
namespace {

const std::string kRoom = "5a0c1f6e-2b3d-4c5e-8f90-a1b2c3d4e5f6";
using Clock = std::chrono::steady_clock;

std::vector<std::string> instanceArgs(std::uint16_t redis_port,
                                      std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"-D", std::string("auth.operator_tokens=") + kOperatorToken,
                                   "-D", "plugins.load=rooms,fanout_redis",
                                   "-D", "plugins.fanout_redis.port=" + std::to_string(redis_port)};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// A member of kRoom on `p`, once it has joined (the join's sync_state has arrived).
WsClient member(const Parleyd& p) {
  WsClient c = WsClient::connect(p.port(), "/ws/voice?token=" + std::string(kOperatorToken) +
                                               "&participant=interviewer&room_id=" + kRoom);
  for (int i = 0; i < 10; ++i) {
    WsFrame f = c.readText();
    if (f.result != WsFrame::Result::kFrame) break;
    if (f.payload.find("\"type\":\"sync_state\"") != std::string::npos) return c;
  }
  throw std::runtime_error("no sync_state after joining");
}

// The questions a member receives within `timeout`, in order.
std::vector<std::string> questions(WsClient& c, std::size_t want,
                                   std::chrono::milliseconds timeout) {
  std::vector<std::string> got;
  const auto until = Clock::now() + timeout;
  while (got.size() < want && Clock::now() < until) {
    WsFrame f =
        c.readText(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()));
    if (f.result != WsFrame::Result::kFrame) break;
    Poco::JSON::Parser parser;
    auto e = parser.parse(f.payload).extract<Poco::JSON::Object::Ptr>();
    if (e->getValue<std::string>("type") == "interviewer_question")
      got.push_back(e->getValue<std::string>("question"));
  }
  return got;
}

void ask(WsClient& c, const std::string& tag, int n) {
  for (int i = 0; i < n; ++i)
    c.sendText("{\"type\":\"set_question\",\"question\":\"" + tag + " question number " +
               std::to_string(i) + " for everyone\"}");
}

TEST(Fanout, EveryMemberOnEveryInstanceGetsEachEventOnceInOrder) {
  RedisServer redis;
  const auto args = instanceArgs(redis.port(), {"-D", "plugins.rooms.set_question_window_ms=0"});
  Parleyd a(args), b(args), c(args);
  WsClient on_a = member(a), also_a = member(a), on_b = member(b), on_c = member(c);
  ASSERT_TRUE(waitFor([&] { return redis.subscribers(kRoom) == 3; }, std::chrono::seconds(5)));

  constexpr int kEvents = 50;
  ask(on_a, "Ordered", kEvents);
  std::vector<std::string> expected;
  for (int i = 0; i < kEvents; ++i)
    expected.push_back("Ordered question number " + std::to_string(i) + " for everyone");
  for (WsClient* m : {&on_a, &also_a, &on_b, &on_c})
    EXPECT_EQ(questions(*m, kEvents, std::chrono::seconds(10)), expected);
  // Exactly once: nothing more arrives (no echo of A's own events back to A).
  for (WsClient* m : {&on_a, &on_b})
    EXPECT_TRUE(questions(*m, 1, std::chrono::milliseconds(500)).empty());

  auto ma = systemMetrics(a.port()), mb = systemMetrics(b.port());
  EXPECT_EQ(ma->getValue<int>("redis_publish_samples"), kEvents);
  EXPECT_GT(ma->getValue<double>("avg_redis_publish_latency_ms"), 0.0);
  EXPECT_LT(ma->getValue<double>("avg_redis_publish_latency_ms"), 1000.0);
  EXPECT_EQ(mb->getValue<int>("fanout_delay_samples"), kEvents);
  EXPECT_GT(mb->getValue<double>("fanout_delay_total_ms"), 0.0);
  EXPECT_LT(mb->getValue<double>("avg_fanout_delay_ms"), 1000.0);
  EXPECT_EQ(ma->getValue<int>("fanout_publish_failures"), 0);
}

// Threads of a running process, from /proc.
int threadsOf(pid_t pid) {
  const std::string status = readFile("/proc/" + std::to_string(pid) + "/status");
  const auto at = status.find("Threads:");
  return at == std::string::npos ? -1 : std::stoi(status.substr(at + 8));
}

TEST(Fanout, ItsConnectionsLiveOnTheEventLoopsWithNoThreadOfTheirOwn) {
  RedisServer redis;
  Parleyd alone(
      {"-D", std::string("auth.operator_tokens=") + kOperatorToken, "-D", "plugins.load=rooms"});
  Parleyd fanned(instanceArgs(redis.port()));
  WsClient on_alone = member(alone), on_fanned = member(fanned);
  // Both of its connections are up: it subscribed, and a room event went through Redis.
  ASSERT_TRUE(waitFor([&] { return redis.subscribers(kRoom) == 1; }, std::chrono::seconds(5)));
  ask(on_fanned, "Threads", 1);
  ASSERT_EQ(questions(on_fanned, 1, std::chrono::seconds(5)).size(), 1u);
  EXPECT_EQ(threadsOf(fanned.pid()), threadsOf(alone.pid()));
  EXPECT_GT(threadsOf(alone.pid()), 0);
}

TEST(Fanout, RejoiningOnAnotherInstanceFindsTheRoomsState) {
  RedisServer redis;
  Parleyd a(instanceArgs(redis.port())), b(instanceArgs(redis.port()));
  {
    WsClient on_a = member(a);
    ask(on_a, "Stateful", 1);
    ASSERT_EQ(questions(on_a, 1, std::chrono::seconds(5)).size(), 1u);
    on_a.sendClose(1000);
    on_a.expectClose();
  }
  // A wrote the room's state to Redis (asynchronously, on its own connection)...
  const std::string key = "parley:room:" + kRoom + ":state";
  ASSERT_TRUE(waitFor(
      [&] {
        return resp(redis.port(), {"HEXISTS", key, "active_question"}) == ":1\r\n";
      },
      std::chrono::seconds(5)));
  // ...and B, which has never seen the room, finds it there, in a sync_state right after joining.
  WsClient on_b = WsClient::connect(b.port(), "/ws/voice?token=" + std::string(kOperatorToken) +
                                                  "&participant=interviewer&room_id=" + kRoom);
  std::string active;
  const auto until = Clock::now() + std::chrono::seconds(3);
  while (active.empty() && Clock::now() < until) {
    WsFrame f = on_b.readText(std::chrono::milliseconds(500));
    if (f.result != WsFrame::Result::kFrame) continue;
    Poco::JSON::Parser parser;
    auto e = parser.parse(f.payload).extract<Poco::JSON::Object::Ptr>();
    if (e->getValue<std::string>("type") == "sync_state")
      active = e->getValue<std::string>("active_question");
  }
  EXPECT_EQ(active, "Stateful question number 0 for everyone");
  const std::string ttl = resp(redis.port(), {"TTL", "parley:room:" + kRoom + ":state"});
  EXPECT_EQ(ttl.substr(0, 1), ":");
  EXPECT_GT(std::stoi(ttl.substr(1)), 0) << "the state expires some day";
}

// Published with redis-cli, as anyone with write access to Redis could.
void publishRaw(std::uint16_t redis_port, const std::string& channel, const std::string& message) {
  const RunResult r = runCommand({"/usr/bin/redis-cli", "-h", "127.0.0.1", "-p",
                                  std::to_string(redis_port), "PUBLISH", channel, message});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// Every text frame a member gets within `timeout`: each must be a JSON object in valid UTF-8.
std::vector<Poco::JSON::Object::Ptr> events(WsClient& c, std::chrono::milliseconds timeout) {
  std::vector<Poco::JSON::Object::Ptr> got;
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    WsFrame f =
        c.readText(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()));
    if (f.result != WsFrame::Result::kFrame) break;
    EXPECT_TRUE(sdk::json::validUtf8(f.payload)) << f.describe();
    Poco::JSON::Parser parser;
    got.push_back(parser.parse(f.payload).extract<Poco::JSON::Object::Ptr>());
  }
  return got;
}

TEST(Fanout, OnlyJsonObjectsInValidUtf8ReachMembersAndImplausibleStampsAreNotAveraged) {
  RedisServer redis;
  Parleyd a(instanceArgs(redis.port()));
  WsClient on_a = member(a);
  ASSERT_TRUE(waitFor([&] { return redis.subscribers(kRoom) == 1; }, std::chrono::seconds(5)));
  const std::string channel = "room:" + kRoom + ":events";
  auto question = [](const std::string& text) {
    return R"({"type":"interviewer_question","question":")" + text + R"("})";
  };
  const double unix_now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string now = std::to_string(unix_now), later = std::to_string(unix_now + 3600);

  publishRaw(redis.port(), channel, "not json at all");
  publishRaw(redis.port(), channel,
             R"({"source_instance":"x","published_at":1,"payload":garbage})");
  publishRaw(redis.port(), channel,
             R"({"source_instance":"x","published_at":"soon","payload":{}})");
  publishRaw(redis.port(), channel,
             R"({"source_instance":"x","published_at":1,"payload":{"type":"a)"
             "\xff\xfe"
             R"("}})");
  publishRaw(redis.port(), channel, R"({"source_instance":"x","published_at":1,"payload":"text"})");
  publishRaw(redis.port(), channel, R"({"source_instance":"x","published_at":1,"payload":[1,2]})");
  // Delivered, but their stamps say nothing about the fanout: 1970, and an hour ahead.
  publishRaw(
      redis.port(), channel,
      R"({"source_instance":"x","published_at":1,"payload":)" + question("Stamped in 1970") + "}");
  publishRaw(redis.port(), channel,
             R"({"source_instance":"x","published_at":)" + later + R"(,"payload":)" +
                 question("Stamped far in the future") + "}");
  // Another key order, a plausible stamp: delivered and averaged.
  publishRaw(redis.port(), channel,
             R"({"payload":)" + question("From another shape of envelope") + R"(,"published_at":)" +
                 now + R"(,"source_instance":"another-instance"})");

  std::vector<std::string> got;
  for (const auto& e : events(on_a, std::chrono::seconds(2)))
    if (e->getValue<std::string>("type") == "interviewer_question")
      got.push_back(e->getValue<std::string>("question"));
  EXPECT_EQ(got, (std::vector<std::string>{"Stamped in 1970", "Stamped far in the future",
                                           "From another shape of envelope"}));

  auto m = systemMetrics(a.port());
  EXPECT_EQ(m->getValue<int>("fanout_messages_dropped"), 6);
  EXPECT_EQ(m->getValue<int>("fanout_delay_samples"), 1);
  EXPECT_EQ(m->getValue<int>("fanout_delay_unsampled"), 2);
  EXPECT_LT(m->getValue<double>("avg_fanout_delay_ms"), 60000.0);
  const std::string prom = get(a.port(), "/metrics", bearer(kOperatorToken)).body;
  for (const char* line : {"parley_fanout_messages_dropped_total{reason=\"invalid_utf8\"} 1",
                           "parley_fanout_messages_dropped_total{reason=\"malformed_envelope\"} 3",
                           "parley_fanout_messages_dropped_total{reason=\"payload_not_object\"} 2"})
    EXPECT_NE(prom.find(line), std::string::npos) << line << "\n" << prom;
  // One burst, one log line, however many messages it dropped.
  EXPECT_TRUE(a.waitForErr("dropped a message on " + channel, std::chrono::seconds(5)));
  const std::string log = a.err();
  EXPECT_EQ(log.find("dropped a message on"), log.rfind("dropped a message on")) << log;
}

TEST(Fanout, InstancesSubscribeOnlyWhileTheyServeTheRoom) {
  RedisServer redis;
  Parleyd a(instanceArgs(redis.port())), b(instanceArgs(redis.port()));
  {
    WsClient on_a = member(a);
    ASSERT_TRUE(waitFor([&] { return redis.subscribers(kRoom) == 1; }, std::chrono::seconds(5)));
    on_a.sendClose(1000);
    on_a.expectClose();
  }
  EXPECT_TRUE(waitFor([&] { return redis.subscribers(kRoom) == 0; }, std::chrono::seconds(5)));
}

TEST(Fanout, OutageKeepsLocalRoomsCountsLossesAndResumes) {
  RedisServer redis;
  const auto args = instanceArgs(redis.port(), {"-D", "plugins.fanout_redis.required=true", "-D",
                                                "plugins.rooms.set_question_window_ms=0"});
  Parleyd a(args), b(args);
  WsClient on_a = member(a), on_b = member(b);
  ASSERT_TRUE(waitFor([&] { return redis.subscribers(kRoom) == 2; }, std::chrono::seconds(5)));
  ask(on_a, "Before", 3);
  EXPECT_EQ(questions(on_b, 3, std::chrono::seconds(5)).size(), 3u);
  EXPECT_EQ(questions(on_a, 3, std::chrono::seconds(5)).size(), 3u);

  redis.stop();
  EXPECT_TRUE(
      waitFor([&] { return get(a.port(), "/readyz").status == 503; }, std::chrono::seconds(5)));
  EXPECT_NE(get(a.port(), "/readyz").body.find("is unreachable"), std::string::npos);
  constexpr int kLost = 4;
  ask(on_a, "During", kLost);
  EXPECT_EQ(questions(on_a, kLost, std::chrono::seconds(5)).size(), std::size_t{kLost})
      << "the local room keeps working";
  EXPECT_TRUE(waitFor(
      [&] { return systemMetrics(a.port())->getValue<int>("fanout_publish_failures") == kLost; },
      std::chrono::seconds(5)))
      << "every event that could not be published is counted, once";
  EXPECT_TRUE(questions(on_b, 1, std::chrono::milliseconds(300)).empty());

  redis.start();
  ASSERT_TRUE(waitFor([&] { return redis.subscribers(kRoom) == 2; }, std::chrono::seconds(5)));
  EXPECT_TRUE(
      waitFor([&] { return get(a.port(), "/readyz").status == 200; }, std::chrono::seconds(5)));
  ask(on_a, "After", 1);
  EXPECT_EQ(questions(on_b, 1, std::chrono::seconds(5)).size(), 1u) << "resubscribed, delivering";
  EXPECT_TRUE(
      waitFor([&] { return get(a.port(), "/readyz").status == 200; }, std::chrono::seconds(5)));
  EXPECT_EQ(systemMetrics(a.port())->getValue<int>("fanout_publish_failures"), kLost);
  // The new Redis started empty; the instances wrote their live rooms' state back.
  const std::string key = "parley:room:" + kRoom + ":state";
  EXPECT_TRUE(waitFor(
      [&] {
        return resp(redis.port(), {"EXISTS", key}) == ":1\r\n";
      },
      std::chrono::seconds(5)));
  EXPECT_NE(resp(redis.port(), {"HGET", key, "active_question"}).find("question number"),
            std::string::npos);
}

TEST(Fanout, OptionalRedisAbsentAtStartServesLocally) {
  Parleyd a(instanceArgs(freePort(), {"-D", "plugins.rooms.set_question_window_ms=0"}));
  EXPECT_EQ(get(a.port(), "/readyz").status, 200) << "Redis is optional";
  WsClient one = member(a), two = member(a);
  ask(one, "Local", 2);
  EXPECT_EQ(questions(two, 2, std::chrono::seconds(5)).size(), 2u);
  EXPECT_TRUE(a.waitForErr("cannot connect to Redis", std::chrono::seconds(5)));
}

// A "Redis" that accepts every connection and hangs up at once (as one at its client limit
// does), counting the attempts.
class HangUpServer {
 public:
  HangUpServer() : socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    socket_.setReceiveTimeout(Poco::Timespan(0, 50000));
    thread_ = std::thread([this] {
      while (!stop_) {
        try {
          socket_.acceptConnection().close();
          ++accepted_;
        } catch (const Poco::Exception&) {  // the accept timed out: look at stop_ again
        }
      }
    });
  }
  ~HangUpServer() {
    stop_ = true;
    thread_.join();
  }
  std::uint16_t port() const { return socket_.address().port(); }
  int accepted() const { return accepted_; }

 private:
  Poco::Net::ServerSocket socket_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

TEST(Fanout, AConnectionThatDoesNotLastIsRetriedWithBackoffNotInALoop) {
  HangUpServer redis;
  Parleyd a(instanceArgs(redis.port(), {"-D", "plugins.fanout_redis.reconnect_max_ms=1000"}));
  ASSERT_TRUE(waitFor([&] { return redis.accepted() >= 2; }, std::chrono::seconds(5)));
  // Joins and leaves wake the subscriber during the outage; each may cut one wait short.
  for (int i = 0; i < 3; ++i) member(a);
  const int before = redis.accepted();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  // Two connections (publisher, subscriber), each waiting at least 25, 50, 100, 200, 400, 500,
  // 500... ms between attempts once connections stop lasting: a handful in 3 s, where a loop
  // without backoff makes thousands.
  EXPECT_LE(redis.accepted() - before, 30);
  EXPECT_EQ(get(a.port(), "/healthz").status, 200);
}

}  // namespace
}  // namespace parley::test
