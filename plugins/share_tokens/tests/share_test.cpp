// The share_tokens plugin on the SDK's test host, with a SQLite store in a fresh file: every route
// and refusal, the TTL on the host's manual clock, viewers closed on revocation and expiry, the
// journal and its redaction, and the metrics.
#include <gtest/gtest.h>
#include <parley/sdk/errors.hpp>
#include <parley/sdk/services/rooms.hpp>
#include <parley/sdk/testing/host.hpp>
#include <parley/sdk/testing/rooms.hpp>

#include "tests/support/parleyd_process.hpp"
#include "token.hpp"

namespace parley_plugin_export {
parley::sdk::Plugin* create();
}

namespace parley::share {
namespace {

using namespace std::chrono_literals;
using sdk::DisconnectReason;
using sdk::Response;
using sdk::json::Value;
using sdk::testing::FakeSession;
using sdk::testing::TestHost;

const std::string kRoom = "2f4e6a8c-0b1d-4f3a-9c5e-7a9b1c3d5e7f";

Value parsed(const Response& r) {
  Value v;
  sdk::json::parse(r.body, v);
  return v;
}

struct Fixture {
  test::TempDir dir{"share"};
  std::unique_ptr<sdk::Plugin> plugin{parley_plugin_export::create()};
  std::shared_ptr<sdk::testing::FakeRooms> rooms = std::make_shared<sdk::testing::FakeRooms>(kRoom);
  TestHost host;
  explicit Fixture(std::map<std::string, std::string> config = {})
      : host(*plugin, withDefaults(std::move(config), dir.path())) {
    host.offer<sdk::RoomsService>(sdk::kRoomsService, rooms);
    host.start();
  }
  static std::map<std::string, std::string> withDefaults(std::map<std::string, std::string> c,
                                                         const std::string& dir) {
    c.emplace("sqlite_path", dir + "/share_tokens.db");
    c.emplace("ttl_sec", "60");
    return c;
  }
  FakeSession& candidate(const std::string& user = "alice") {
    return host.connect({{"room_id", kRoom}, {"participant", "candidate"}}, user);
  }
  Response share(const std::string& session, const std::string& user = "alice") {
    return host.request("POST", "/api/session/" + session + "/share", "", {user, false});
  }
  std::string token(const std::string& session) {
    return parsed(share(session))["share_token"].asString().data();
  }
  Response revoke(const std::string& session, const std::string& body = "",
                  const std::string& user = "alice") {
    return host.request("POST", "/api/share/" + session + "/revoke", body, {user, false});
  }
  Response snapshot(const std::string& session, const std::string& token) {
    return host.request("GET", "/api/public/session/" + session + "/snapshot?token=" + token);
  }
  void roomEvent(const std::string& json) {
    rooms->broadcast(kRoom, json, "");
    host.run();
  }
};

std::string code(const Response& r) {
  return std::string(parsed(r)["error"]["code"].asString());
}

TEST(Share, TheOwnerGetsATokenOthersDoNot) {
  Fixture f;
  FakeSession& s = f.candidate();
  const Response r = f.share(s.info().id);
  ASSERT_EQ(r.status, 201) << r.body;
  const Value v = parsed(r);
  const std::string token(v["share_token"].asString());
  EXPECT_TRUE(wellFormed(token));
  EXPECT_EQ(v["share_path"].asString(), "/ws/voice?room_id=" + kRoom + "&share=" + token);
  EXPECT_EQ(v["public_api_path"].asString(),
            "/api/public/session/" + s.info().id + "/snapshot?token=" + token);
  EXPECT_EQ(v["ttl_sec"].asInt(), 60);
  EXPECT_GT(v["expires_at"].asNumber(), 1.7e9);
  EXPECT_EQ(f.host.value("share_tokens_active"), 1);
  EXPECT_EQ(f.host.value("share_token_ttl_sec"), 60);

  EXPECT_EQ(f.share("7d0c6f5e-1111-4222-8333-944455556666").status, 404);
  const Response bob = f.share(s.info().id, "bob");
  EXPECT_EQ(bob.status, 403);
  EXPECT_EQ(code(bob), "forbidden");
  EXPECT_EQ(f.host.value("share_tokens_active"), 1);
}

TEST(Share, TheSnapshotRefusesEachBadTokenWithItsOwnCode) {
  Fixture f;
  FakeSession& s = f.candidate();
  FakeSession& other = f.candidate("alice");
  const std::string id = s.info().id, token = f.token(id);
  EXPECT_EQ(f.snapshot(id, token).status, 200);

  std::string tampered = token;
  tampered[20] = tampered[20] == 'x' ? 'y' : 'x';
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "share_token_missing"},
      {"nonsense", "share_token_invalid"},
      {token.substr(0, token.size() - 2), "share_token_invalid"},
      {tampered, "share_token_invalid"},
      {newToken(), "share_token_invalid"}};
  for (const auto& [t, expected] : cases) {
    const Response r = f.snapshot(id, t);
    EXPECT_EQ(r.status, 403) << t;
    EXPECT_EQ(code(r), expected) << t;
  }
  const Response wrong = f.snapshot(other.info().id, token);
  EXPECT_EQ(code(wrong), "share_token_wrong_session");

  ASSERT_EQ(f.revoke(id).status, 200);
  EXPECT_EQ(code(f.snapshot(id, token)), "share_token_revoked");
  const std::string fresh = f.token(id);
  f.host.advance(59s);
  EXPECT_EQ(f.snapshot(id, fresh).status, 200);
  f.host.advance(1s);
  EXPECT_EQ(code(f.snapshot(id, fresh)), "share_token_expired");
  EXPECT_EQ(f.host.value("share_tokens_active"), 0) << "expired at scrape, no timer needed";
}

TEST(Share, RevokingAllOrOneAndTheBadBodies) {
  Fixture f;
  FakeSession& s = f.candidate();
  const std::string id = s.info().id;
  const std::string a = f.token(id), b = f.token(id);
  f.token(id);
  EXPECT_EQ(f.host.value("share_tokens_active"), 3);

  Response one = f.revoke(id, "{\"token\":\"" + a + "\"}");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(parsed(one)["session_id"].asString(), id);
  EXPECT_EQ(parsed(one)["revoked_count"].asInt(), 1);
  EXPECT_EQ(parsed(one)["token_filtered"].asBool(), true);
  EXPECT_EQ(parsed(f.revoke(id, "{\"token\":\"" + a + "\"}"))["revoked_count"].asInt(), 0);
  EXPECT_EQ(f.snapshot(id, b).status, 200) << "the others still work";

  Response all = f.revoke(id, "{}");
  EXPECT_EQ(parsed(all)["revoked_count"].asInt(), 2);
  EXPECT_EQ(parsed(all)["token_filtered"].asBool(), false);
  EXPECT_EQ(f.host.value("share_tokens_active"), 0);
  EXPECT_EQ(f.host.value("share_tokens_revoked"), 3);

  for (const char* body : {"[1]", "not json", "{\"token\":5}", "{\"token\":\"pst_short\"}"}) {
    const Response r = f.revoke(id, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(code(r), "bad_request") << body;
  }
  EXPECT_EQ(f.revoke(id, "", "bob").status, 403);
  EXPECT_EQ(f.revoke("7d0c6f5e-1111-4222-8333-944455556666").status, 404);
}

TEST(Share, TheJournalRecordsTheSessionAndTheSnapshotRedactsOthers) {
  Fixture f;
  FakeSession& s = f.candidate();
  FakeSession& peer = f.candidate("carol");
  const std::string id = s.info().id;
  f.roomEvent(R"({"type":"interviewer_question","question":"Why this role?","room_id":")" + kRoom +
              "\"}");
  f.host.publish(
      {"turn.finalized",
       R"({"session_id":")" + id +
           R"(","turn_index":1,"text":"Because I like it","word_count":4,)"
           R"("filler_count":1,"latency_ms":812.5,"speaking_rate_wpm":140,"duration_s":2})"});
  f.host.publish(
      {"turn.finalized", R"({"session_id":")" + peer.info().id +
                             R"(","turn_index":1,"text":"Carol's own words","word_count":3})"});
  f.host.publish(
      {"assist.hint",
       R"({"type":"assist_hint","session_id":")" + id +
           R"(","payload":{"rule_id":"missing_metrics","title":"Add a number","message":"Quantify it","severity":"medium"}})"});
  f.roomEvent(
      R"({"type":"answer_suggestion_chunk","question":"Why this role?","chunk":"x","index":0})");
  f.roomEvent(
      R"({"type":"answer_suggestion_done","question":"Why this role?","suggestion":"Say why.","reason":"completed"})");
  f.roomEvent(
      R"({"type":"tone_shift_event","room_id":")" + kRoom +
      R"(","event_index":1,"payload":{"signal":"fillers","message":"m","level":2,"candidate_session_id":")" +
      id + R"("},"ts":1})");
  f.roomEvent(R"({"type":"pressure_spike_event","room_id":")" + kRoom +
              R"(","event_index":1,"payload":{"signal":"hesitation","candidate_session_id":")" +
              peer.info().id + R"("},"ts":1})");

  const Response r = f.snapshot(id, f.token(id));
  ASSERT_EQ(r.status, 200) << r.body;
  const Value v = parsed(r);
  EXPECT_EQ(v["session_id"].asString(), id);
  EXPECT_EQ(v["room_id"].asString(), kRoom);
  EXPECT_EQ(v["participant"].asString(), "candidate");
  EXPECT_TRUE(v["live"].asBool());
  EXPECT_TRUE(v["ended_at"].isNull());
  ASSERT_EQ(v["questions"].size(), 1u);
  EXPECT_EQ(v["questions"][0]["question"].asString(), "Why this role?");
  ASSERT_EQ(v["turns"].size(), 1u) << "Carol's turn is hers";
  EXPECT_EQ(v["turns"][0]["text"].asString(), "Because I like it");
  EXPECT_DOUBLE_EQ(v["turns"][0]["latency_ms"].asNumber(), 812.5);
  EXPECT_DOUBLE_EQ(v["turns"][0]["filler_rate"].asNumber(), 0.25);
  EXPECT_DOUBLE_EQ(v["turns"][0]["speaking_rate_wpm"].asNumber(), 140);
  ASSERT_EQ(v["answers"].size(), 1u);
  EXPECT_EQ(v["answers"][0]["suggestion"].asString(), "Say why.");
  EXPECT_EQ(v["answers"][0]["reason"].asString(), "completed");
  ASSERT_EQ(v["hints"].size(), 1u);
  EXPECT_EQ(v["hints"][0]["rule_id"].asString(), "missing_metrics");
  ASSERT_EQ(v["tone_events"].size(), 1u) << "the one about Carol is hers";
  EXPECT_EQ(v["tone_events"][0]["signal"].asString(), "fillers");
  EXPECT_EQ(r.body.find("alice"), std::string::npos) << "no owner";
  EXPECT_EQ(r.body.find(peer.info().id), std::string::npos) << "nothing of the other session";
  EXPECT_EQ(v["journal"]["entries"].asInt(), 5);

  s.disconnect(DisconnectReason::kStopCommand);
  const Value ended = parsed(f.snapshot(id, f.token(id)));
  EXPECT_FALSE(ended["live"].asBool());
  EXPECT_EQ(ended["end_reason"].asString(), "stop_command");
}

TEST(Share, TheJournalIsBounded) {
  Fixture f(std::map<std::string, std::string>{{"journal_max_entries", "10"}});
  FakeSession& s = f.candidate();
  for (int i = 0; i < 15; ++i)
    f.roomEvent(R"({"type":"interviewer_question","question":"Question )" + std::to_string(i) +
                "\"}");
  const Value v = parsed(f.snapshot(s.info().id, f.token(s.info().id)));
  ASSERT_EQ(v["questions"].size(), 10u);
  EXPECT_EQ(v["questions"][0]["question"].asString(), "Question 5") << "the oldest went";
  EXPECT_EQ(v["journal"]["dropped"].asInt(), 5);
  EXPECT_EQ(v["journal"]["max_entries"].asInt(), 10);
}

TEST(Share, AViewerJoinsTheTokensRoomAndIsClosedWhenItEnds) {
  Fixture f;
  FakeSession& s = f.candidate();
  const std::string token = f.token(s.info().id);

  sdk::Grant g = f.host.verify("share", {{"share", token}, {"room_id", kRoom}});
  ASSERT_TRUE(g.ok) << g.message;
  EXPECT_EQ(g.participant, "viewer");
  EXPECT_EQ(g.claims["room_id"].asString(), kRoom);
  EXPECT_EQ(g.claims["session_id"].asString(), s.info().id);
  EXPECT_EQ(g.subject, "share:" + shareId(tokenHash(token)));
  EXPECT_EQ(f.host.verify("share", {{"share", token}}).status, 400) << "no room_id";
  EXPECT_EQ(
      f.host
          .verify("share", {{"share", token}, {"room_id", "0b1c2d3e-4f50-4617-8899-aabbccddeeff"}})
          .code,
      "share_token_wrong_session");
  EXPECT_EQ(f.host.verify("share", {{"share", token + "x"}, {"room_id", kRoom}}).code,
            "share_token_invalid");

  FakeSession& viewer =
      f.host.connect({{"room_id", kRoom}, {"participant", "viewer"}}, g.subject, g.claims);
  ASSERT_EQ(f.revoke(s.info().id).status, 200);
  EXPECT_EQ(viewer.closedWith(), DisconnectReason::kOther);
  EXPECT_EQ(viewer.closeCode(), 4403);
  EXPECT_EQ(viewer.closeText(), "share token revoked");
  ASSERT_EQ(f.rooms->ofType("share_revoked").size(), 1u) << "for viewers on other instances";
  EXPECT_EQ(f.rooms->ofType("share_revoked")[0]["share_ids"][0].asString(),
            shareId(tokenHash(token)));
  EXPECT_EQ(f.host.verify("share", {{"share", token}, {"room_id", kRoom}}).code,
            "share_token_revoked");

  const std::string later = f.token(s.info().id);
  sdk::Grant g2 = f.host.verify("share", {{"share", later}, {"room_id", kRoom}});
  FakeSession& second =
      f.host.connect({{"room_id", kRoom}, {"participant", "viewer"}}, g2.subject, g2.claims);
  f.host.advance(59s);
  EXPECT_TRUE(second.open());
  f.host.advance(1s);
  EXPECT_EQ(second.closeCode(), 4401);
  EXPECT_EQ(second.closeText(), "share token expired");
  EXPECT_EQ(f.host.verify("share", {{"share", later}, {"room_id", kRoom}}).code,
            "share_token_expired");
}

TEST(Share, ARevocationFromAnotherInstanceClosesViewersHere) {
  Fixture f;
  FakeSession& s = f.candidate();
  const std::string token = f.token(s.info().id);
  sdk::Grant g = f.host.verify("share", {{"share", token}, {"room_id", kRoom}});
  FakeSession& viewer =
      f.host.connect({{"room_id", kRoom}, {"participant", "viewer"}}, g.subject, g.claims);
  f.rooms->deliverLocal(kRoom, R"({"type":"share_revoked","share_ids":["0000000000000000"]})");
  EXPECT_TRUE(viewer.open()) << "another token's viewers";
  f.rooms->deliverLocal(
      kRoom, R"({"type":"share_revoked","share_ids":[")" + shareId(tokenHash(token)) + "\"]}");
  EXPECT_EQ(viewer.closeCode(), 4403);
}

TEST(Share, BadSettingsAreRefused) {
  auto plugin = std::unique_ptr<sdk::Plugin>(parley_plugin_export::create());
  TestHost host(*plugin, {{"store", "postgres"}});
  host.offer<sdk::RoomsService>(sdk::kRoomsService,
                                std::make_shared<sdk::testing::FakeRooms>(kRoom));
  EXPECT_THROW(host.start(), sdk::ConfigError);
  auto again = std::unique_ptr<sdk::Plugin>(parley_plugin_export::create());
  TestHost short_ttl(*again, {{"ttl_sec", "59"}});
  short_ttl.offer<sdk::RoomsService>(sdk::kRoomsService,
                                     std::make_shared<sdk::testing::FakeRooms>(kRoom));
  EXPECT_THROW(short_ttl.start(), sdk::ConfigError) << "the minimum TTL is 60 s";
}

}  // namespace
}  // namespace parley::share
