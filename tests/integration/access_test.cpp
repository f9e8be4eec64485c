// Who may do what in a room, through the real parleyd: with plugins.rooms.access=claims a JWT is
// bound to its rooms and its participant at the upgrade (403, JSON); in every mode each role may
// send only its own messages, and a refused one gets error {code: forbidden} with the session
// still open.
#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"
#include "tests/support/speech.hpp"
#include "tests/support/ws_client.hpp"

namespace parley::test {
namespace {

using namespace std::chrono_literals;
const std::string kSecret = "access-test-secret-of-at-least-32-bytes";
const std::string kRoom = "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d";
const std::string kOther = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b";

std::vector<std::string> args(const std::string& access) {
  return {"-D", std::string("auth.operator_tokens=") + kOperatorToken,
          "-D", "auth.jwt.hs256_secret=" + kSecret,
          "-D", "plugins.load=rooms,deepgram,answers",
          "-D", "plugins.rooms.access=" + access};
}

// A JWT for `sub`, with room_id (a string, or a list when `rooms` has several) and participant
// claims when given.
std::string jwt(const std::string& sub, const std::vector<std::string>& rooms = {},
                const std::string& participant = "") {
  Poco::JSON::Object::Ptr claims = new Poco::JSON::Object;
  if (rooms.size() == 1) claims->set("room_id", rooms[0]);
  if (rooms.size() > 1) {
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    for (const auto& r : rooms) list->add(r);
    claims->set("room_id", list);
  }
  if (!participant.empty()) claims->set("participant", participant);
  return hs256Jwt(kSecret, sub, claims);
}

std::string path(const std::string& token, const std::string& room,
                 const std::string& participant) {
  return "/ws/voice?token=" + token + "&room_id=" + room + "&participant=" + participant;
}

// The upgrade's refusal, or 101.
int upgrade(const Parleyd& p, const std::string& token, const std::string& room,
            const std::string& participant, std::string* body = nullptr) {
  try {
    WsClient::connect(p.port(), path(token, room, participant));
    return 101;
  } catch (const WsRefused& r) {
    if (body) *body = r.body;
    return r.status;
  }
}

TEST(Access, ClaimsBindATokenToItsRoomsAndItsParticipant) {
  Parleyd p(args("claims"));
  const std::string alice = jwt("alice", {kRoom}, "candidate");
  EXPECT_EQ(upgrade(p, alice, kRoom, "candidate"), 101);
  std::string upper = kRoom;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(upgrade(p, alice, upper, "candidate"), 101) << "room ids compare case-insensitively";

  std::string body;
  EXPECT_EQ(upgrade(p, alice, kOther, "candidate", &body), 403);
  EXPECT_NE(body.find("\"code\":\"forbidden\""), std::string::npos) << body;
  EXPECT_NE(body.find("does not grant room"), std::string::npos) << body;
  EXPECT_EQ(upgrade(p, alice, kRoom, "interviewer", &body), 403);
  EXPECT_NE(body.find("does not grant participant 'interviewer'"), std::string::npos) << body;
  EXPECT_EQ(upgrade(p, jwt("bob"), kRoom, "candidate", &body), 403);
  EXPECT_NE(body.find("binds no room"), std::string::npos) << body;
  EXPECT_EQ(upgrade(p, alice, "not-a-room", "candidate"), 403) << "no fresh room for a bound token";

  const std::string both = jwt("carol", {kOther, kRoom}, "interviewer");
  EXPECT_EQ(upgrade(p, both, kRoom, "interviewer"), 101);
  EXPECT_EQ(upgrade(p, both, kOther, "interviewer"), 101);
  EXPECT_EQ(upgrade(p, both, "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901", "interviewer"), 403);

  EXPECT_EQ(upgrade(p, kOperatorToken, kOther, "interviewer"), 101) << "operators join any room";
  EXPECT_EQ(upgrade(p, alice, kRoom, "judge", &body), 400);
}

TEST(Access, OpenModeLetsAnyValidTokenJoinAnyRoom) {
  Parleyd p(args("open"));
  EXPECT_EQ(upgrade(p, jwt("bob"), kOther, "interviewer"), 101);
  EXPECT_EQ(upgrade(p, jwt("bob"), kRoom, "candidate"), 101);
  EXPECT_EQ(upgrade(p, "not-a-token", kRoom, "candidate"), 401);
}

// Browsers cannot set headers on a websocket; a URL ends up in access logs. So the web console
// sends its credential as a subprotocol.
TEST(Access, ACredentialMayRideInASubprotocolInsteadOfTheUrl) {
  Parleyd p(args("open"));
  const std::string path = "/ws/voice?room_id=" + kRoom + "&participant=candidate";
  WsClient ok = WsClient::connect(
      p.port(), path,
      {{"Sec-WebSocket-Protocol", "parley.v1, parley.auth.token." + std::string(kOperatorToken)}});
  EXPECT_EQ(ok.upgradeHeader("Sec-WebSocket-Protocol"), "parley.v1");

  auto refusal = [&](const std::string& protocols) {
    try {
      WsClient::connect(p.port(), path, {{"Sec-WebSocket-Protocol", protocols}});
      return 101;
    } catch (const WsRefused& r) {
      return r.status;
    }
  };
  EXPECT_EQ(refusal("parley.v1, parley.auth.token.not-a-token"), 401);
  EXPECT_EQ(refusal("parley.v1"), 401) << "no credential at all";
  EXPECT_EQ(refusal("parley.v1, parley.auth.room_id.x"), 400) << "only credential parameters";
  EXPECT_EQ(refusal("parley.v1, parley.auth.token"), 400);
  // Without parley.v1 offered, nothing is selected (and nothing else is echoed).
  WsClient bare = WsClient::connect(
      p.port(), path,
      {{"Sec-WebSocket-Protocol", "parley.auth.token." + std::string(kOperatorToken)}});
  EXPECT_EQ(bare.upgradeHeader("Sec-WebSocket-Protocol"), "");
}

TEST(Access, AnAssistIntensityOutsideOneToThreeIsRefusedBeforeTheUpgrade) {
  Parleyd p(args("open"));
  for (const char* bad : {"abc", "0", "4", "", "2x"}) {
    try {
      WsClient::connect(p.port(),
                        path(kOperatorToken, kRoom, "candidate") + "&assist_intensity=" + bad);
      ADD_FAILURE() << "upgraded with assist_intensity=" << bad;
    } catch (const WsRefused& r) {
      EXPECT_EQ(r.status, 400) << bad;
      EXPECT_NE(r.body.find("assist_intensity must be 1, 2 or 3"), std::string::npos) << r.body;
    }
  }
  WsClient ok =
      WsClient::connect(p.port(), path(kOperatorToken, kRoom, "candidate") + "&assist_intensity=3");
  std::string sync;
  for (int i = 0; i < 5 && sync.find("\"sync_state\"") == std::string::npos; ++i)
    sync = ok.readText().payload;
  EXPECT_NE(sync.find("\"assist_intensity\":3"), std::string::npos) << sync;
}

TEST(Access, AnUnknownInterviewRoleIsRefusedBeforeTheUpgrade) {
  Parleyd p(args("open"));
  for (const char* bad : {"", "General", "chef", "coding%20"}) {
    try {
      WsClient::connect(p.port(), path(kOperatorToken, kRoom, "candidate") + "&role=" + bad);
      ADD_FAILURE() << "upgraded with role=" << bad;
    } catch (const WsRefused& r) {
      EXPECT_EQ(r.status, 400) << bad;
      EXPECT_NE(r.body.find("role must be general, behavioral"), std::string::npos) << r.body;
    }
  }
  for (const char* good : {"general", "behavioral", "system_design", "leadership", "coding"})
    EXPECT_NO_THROW(
        WsClient::connect(p.port(), path(kOperatorToken, kRoom, "candidate") + "&role=" + good))
        << good;
}

// Sends `message` and expects error {code: forbidden}, the session still answering pings.
void refused(WsClient& c, const std::string& message, bool binary = false) {
  SCOPED_TRACE(binary ? "audio" : message);
  binary ? c.sendFrame(ws_op::kBinary, pcmFrame(0)) : c.sendText(message);
  Received got;
  readUntil(
      c, got, [&] { return !got.ofType("error").empty(); }, 5s);
  ASSERT_EQ(got.ofType("error").size(), 1u);
  EXPECT_EQ(got.ofType("error")[0]["code"].asString(), "forbidden");
  c.sendText(R"({"type":"ping"})");
  readUntil(
      c, got, [&] { return !got.ofType("pong").empty(); }, 5s);
  EXPECT_EQ(got.ofType("pong").size(), 1u) << "the session stays";
}

WsClient member(const Parleyd& p, const std::string& participant) {
  WsClient c = WsClient::connect(p.port(), path(kOperatorToken, kRoom, participant));
  Received got;
  readUntil(
      c, got, [&] { return !got.ofType("sync_state").empty(); }, 5s);
  return c;
}

TEST(Access, EachRoleSendsOnlyItsOwnMessages) {
  Parleyd p(args("open"));
  WsClient interviewer = member(p, "interviewer");
  WsClient candidate = member(p, "candidate");
  WsClient viewer = member(p, "viewer");

  refused(candidate,
          R"({"type":"interviewer_question","text":"What is your greatest weakness then?"})");
  refused(candidate,
          R"({"type":"set_question","question":"What is your greatest weakness then?"})");
  refused(candidate, R"({"type":"stop_answer_generation"})");
  refused(interviewer, R"({"type":"candidate_transcript","text":"I would say","is_final":true})");
  refused(viewer,
          R"({"type":"interviewer_question","text":"What is your greatest weakness then?"})");
  refused(viewer, R"({"type":"set_question","question":"What is your greatest weakness then?"})");
  refused(viewer, R"({"type":"stop_answer_generation"})");
  refused(viewer, R"({"type":"candidate_transcript","text":"I would say","is_final":true})");
  refused(viewer, "", /*binary=*/true);

  // None of that changed the room: a late joiner finds no question.
  WsClient late = member(p, "viewer");
  late.sendText(R"({"type":"sync_state_request"})");
  Received state;
  readUntil(
      late, state, [&] { return !state.ofType("sync_state").empty(); }, 5s);
  ASSERT_FALSE(state.ofType("sync_state").empty());
  EXPECT_EQ(state.ofType("sync_state")[0]["active_question"].asString(), "");

  // The interviewer's question reaches everyone, the viewer too.
  interviewer.sendText(
      R"({"type":"interviewer_question","text":"Tell me about your last project"})");
  Received seen;
  readUntil(
      viewer, seen, [&] { return !seen.ofType("interviewer_question").empty(); }, 5s);
  EXPECT_EQ(seen.ofType("interviewer_question").size(), 1u);
}

}  // namespace
}  // namespace parley::test
