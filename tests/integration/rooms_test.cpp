// Websocket sessions and the rooms plugin, driven by Python's websockets library (a client we did
// not write) and by raw sockets for the clients that must misbehave: room broadcast, room_assigned,
// sync_state, questions, every disconnect reason so far counted once, and slow consumers.
#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"
#include "tests/support/ws_client.hpp"

namespace parley::test {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

const std::string kScript = std::string(PARLEY_SOURCE_DIR) + "/tests/integration/ws_scenarios.py";
const std::string kRoom = "0b6f0d5e-9a3c-4f5e-8d2a-1c2b3a4d5e6f";

std::vector<std::string> roomsArgs(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"-D", std::string("auth.operator_tokens=") + kOperatorToken,
                                   "-D", "plugins.load=rooms"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

Object::Ptr scenario(const Parleyd& p, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {"/usr/bin/python3", kScript};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.begin() + 3, {std::to_string(p.port()), kOperatorToken});
  RunResult r = runCommand(argv, {}, std::chrono::seconds(90));
  if (r.exit_code != 0) throw std::runtime_error("scenario failed: " + r.out + r.err);
  Poco::JSON::Parser parser;
  return parser.parse(r.out).extract<Object::Ptr>();
}

// The events of one client in the scenario's output, by type.
std::vector<Object::Ptr> ofType(const Object::Ptr& out, const std::string& client,
                                const std::string& type) {
  std::vector<Object::Ptr> found;
  Array::Ptr events = out->getArray(client);
  for (std::size_t i = 0; events && i < events->size(); ++i) {
    auto e = events->getObject(static_cast<unsigned>(i));
    if (e->getValue<std::string>("type") == type) found.push_back(e);
  }
  return found;
}

Object::Ptr metrics(const Parleyd& p) {
  return get(p.port(), "/api/system/metrics", bearer(kOperatorToken)).json();
}

// Close handlers run after the client has its answer: wait for the counts to settle.
Object::Ptr settledMetrics(const Parleyd& p) {
  for (int i = 0; i < 500; ++i) {
    auto m = metrics(p);
    if (m->getValue<int>("ws_connections_active") == 0) return m;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return metrics(p);
}

TEST(Rooms, BroadcastAssignmentSyncStateAndQuestions) {
  Parleyd p(roomsArgs());
  auto out = scenario(p, {"rooms"});

  // Joining: sync_state and the question (or the waiting message); a candidate without a
  // question makes the room hear waiting_for_interviewer.
  ASSERT_EQ(ofType(out, "a_join", "sync_state").size(), 1u);
  EXPECT_EQ(ofType(out, "a_join", "sync_state")[0]->getValue<std::string>("room_id"), kRoom);
  EXPECT_EQ(ofType(out, "a_join", "question").size(), 1u);
  EXPECT_EQ(ofType(out, "a_join", "waiting_for_interviewer").size(), 1u);
  EXPECT_TRUE(ofType(out, "a_join", "room_assigned").empty()) << "a valid room_id is kept";
  EXPECT_TRUE(ofType(out, "b_join", "waiting_for_interviewer").empty())
      << "interviewers don't wait";

  // An invalid room_id gets a fresh UUID, announced.
  auto assigned = ofType(out, "c_join", "room_assigned");
  ASSERT_EQ(assigned.size(), 1u);
  const std::string fresh = assigned[0]->getValue<std::string>("room_id");
  EXPECT_EQ(fresh.size(), 36u);
  EXPECT_NE(fresh, kRoom);
  EXPECT_FALSE(assigned[0]->getValue<std::string>("session_id").empty());

  // The question reaches every member of the room, the asker too, and nobody outside it.
  for (const char* member : {"a_question", "b_question"}) {
    auto q = ofType(out, member, "interviewer_question");
    ASSERT_EQ(q.size(), 1u) << member;
    EXPECT_EQ(q[0]->getValue<std::string>("question"), "Tell me about your last project");
    EXPECT_EQ(q[0]->getValue<std::string>("room_id"), kRoom);
  }
  EXPECT_TRUE(ofType(out, "c_question", "interviewer_question").empty());

  auto sync = ofType(out, "a_sync", "sync_state");
  ASSERT_EQ(sync.size(), 1u);
  EXPECT_EQ(sync[0]->getValue<std::string>("active_question"), "Tell me about your last project");
  EXPECT_FALSE(sync[0]->getValue<bool>("is_streaming"));
  EXPECT_EQ(sync[0]->getValue<int>("assist_intensity"), 2);

  // A repeat within 3 s, a short question, a malformed set_question: each refused with a reason,
  // and none reaches the room.
  auto refused = ofType(out, "b_refused", "error");
  ASSERT_EQ(refused.size(), 3u);
  EXPECT_EQ(refused[0]->getValue<std::string>("code"), "question_rejected");
  EXPECT_NE(refused[0]->getValue<std::string>("message").find("moments ago"), std::string::npos);
  EXPECT_NE(refused[1]->getValue<std::string>("message").find("at least 4 words"),
            std::string::npos);
  EXPECT_EQ(refused[2]->getValue<std::string>("code"), "invalid_message");
  EXPECT_TRUE(ofType(out, "a_after_refusals", "interviewer_question").empty());

  // Who rejoins the room finds its state.
  auto rejoin = ofType(out, "d_rejoin", "question");
  ASSERT_EQ(rejoin.size(), 1u);
  EXPECT_EQ(rejoin[0]->getValue<std::string>("question"), "Tell me about your last project");

  auto m = settledMetrics(p);
  EXPECT_EQ(m->getValue<int>("ws_connections_active"), 0);
  EXPECT_EQ(m->getValue<int>("ws_rooms_active"), 0);
  EXPECT_EQ(m->getValue<int>("ws_disconnect_client_disconnect"), 4);
  EXPECT_EQ(m->getValue<int>("ws_disconnects_total"), 4);
}

TEST(Rooms, EveryDisconnectReasonIsCountedOnceInItsBucket) {
  Parleyd p(roomsArgs({"-D", "ws.max_message_bytes=1000", "-D", "ws.ping_interval_ms=1000", "-D",
                       "ws.idle_timeout_ms=1500"}));
  auto codes = scenario(p, {"reasons"});
  EXPECT_EQ(codes->getValue<int>("stop_command"), 1000);
  EXPECT_EQ(codes->getValue<int>("protocol_violation"), 1002);
  EXPECT_EQ(codes->getValue<int>("too_big"), 1009);

  auto m = settledMetrics(p);
  EXPECT_EQ(m->getValue<int>("ws_disconnect_client_disconnect"), 1);
  EXPECT_EQ(m->getValue<int>("ws_disconnect_stop_command"), 1);
  EXPECT_EQ(m->getValue<int>("ws_disconnect_receive_audio_error"), 2) << "violation and reset";
  EXPECT_EQ(m->getValue<int>("ws_disconnect_socket_closed"), 1) << "never answered pings";
  EXPECT_EQ(m->getValue<int>("ws_disconnect_other"), 1) << "message too big";
  EXPECT_EQ(m->getValue<int>("ws_disconnect_deepgram_error"), 0);
  EXPECT_EQ(m->getValue<int>("ws_disconnect_max_turns_reached"), 0);
  EXPECT_EQ(m->getValue<int>("ws_disconnects_total"), 6);
  EXPECT_EQ(m->getValue<int>("ws_connections_active"), 0);
  EXPECT_EQ(m->getValue<int>("ws_rooms_active"), 0);
}

TEST(Rooms, ShutdownClosesSessionsWithGoingAway) {
  Parleyd p(roomsArgs());
  RunResult seen;
  std::thread client([&seen, port = p.port()] {
    seen = runCommand({"/usr/bin/python3", "-c",
                       "import asyncio, websockets\n"
                       "async def main():\n"
                       "  async with websockets.connect('ws://127.0.0.1:" +
                           std::to_string(port) + "/ws/voice?token=" + kOperatorToken +
                           "') as ws:\n"
                           "    try:\n"
                           "      while True: await ws.recv()\n"
                           "    except websockets.ConnectionClosed: print(ws.close_code)\n"
                           "asyncio.run(main())\n"},
                      {}, std::chrono::seconds(30));
  });
  for (int i = 0; i < 250 && metrics(p)->getValue<int>("ws_connections_active") == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(p.terminate(), 0);
  client.join();
  EXPECT_EQ(seen.out, "1001\n") << seen.err;
  EXPECT_NE(p.err().find("closing 1 websocket session(s)"), std::string::npos) << p.err();
}

TEST(Rooms, ConnectionLimitRefusesWith503UntilASessionEnds) {
  Parleyd p(roomsArgs({"-D", "ws.max_connections=2"}));
  const std::string path = std::string("/ws/voice?token=") + kOperatorToken;
  WsClient first = WsClient::connect(p.port(), path);
  WsClient second = WsClient::connect(p.port(), path);
  try {
    WsClient::connect(p.port(), path);
    ADD_FAILURE() << "a third session was accepted";
  } catch (const WsRefused& refused) {
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.header("Retry-After"), "1");
    EXPECT_NE(refused.body.find("\"code\":\"overloaded\""), std::string::npos) << refused.body;
  }
  // Once one ends, there is room again.
  first.sendClose(1000);
  first.expectClose();
  for (int i = 0; i < 250 && metrics(p)->getValue<int>("ws_connections_active") > 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_NO_THROW(WsClient::connect(p.port(), path));
}

// /proc/<pid>/status VmRSS, in KiB.
long rssKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

TEST(Rooms, SlowConsumersAreDroppedWhileTheRoomKeepsFlowing) {
  constexpr int kSleepers = 50;
  constexpr int kEvents = 3000;
  // Small kernel buffers, so that the server's own queue is what fills up.
  Parleyd p(
      roomsArgs({"-D", "ws.max_send_queue_bytes=65536", "-D", "ws.socket_send_buffer_bytes=16384",
                 "-D", "plugins.rooms.set_question_window_ms=0"}));
  const long rss_before = rssKiB(p.pid());
  auto out = scenario(p, {"flood", std::to_string(kSleepers), std::to_string(kEvents)});
  const long rss_after = rssKiB(p.pid());
  EXPECT_EQ(out->getValue<int>("received"), kEvents) << "the healthy member misses nothing";
  auto m = settledMetrics(p);
  std::ostringstream dump;
  m->stringify(dump);
  EXPECT_EQ(m->getValue<int>("ws_disconnect_other"), kSleepers) << dump.str();
  // Queues are bounded at 64 KiB per client: the flood cannot grow the server by much. (Under a
  // sanitizer, RSS says nothing.)
#ifndef PARLEY_UNDER_SANITIZER
  EXPECT_LT(rss_after - rss_before, 32 * 1024) << rss_before << " -> " << rss_after << " KiB";
#else
  (void)rss_before;
  (void)rss_after;
#endif
  EXPECT_TRUE(p.waitForErr("slow consumer", std::chrono::seconds(5))) << p.err();
}

}  // namespace
}  // namespace parley::test
