// Share tokens through the real parleyd: the routes and each refusal, a live viewer closed on
// revocation, tokens and journals that survive a restart with either store, and two instances
// sharing Redis where a revocation on one holds at once on the other.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/fakes.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"
#include "tests/support/speech.hpp"
#include "tests/support/ws_client.hpp"

namespace parley::test {
namespace {

using namespace std::chrono_literals;
const std::string kSecret = "share-test-secret-of-at-least-32-bytes";
const std::string kRoom = "4d3c2b1a-0f9e-4d8c-b7a6-958473625140";
const std::string kNobody = "9e8d7c6b-5a49-4382-a716-051423324150";

std::vector<std::string> args(std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"-D", std::string("auth.operator_tokens=") + kOperatorToken,
                                "-D", "auth.jwt.hs256_secret=" + kSecret,
                                "-D", "plugins.load=rooms,share_tokens"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

const std::string& alice() {
  static const std::string token = hs256Jwt(kSecret, "alice", 3600);
  return token;
}
const std::string& bob() {
  static const std::string token = hs256Jwt(kSecret, "bob", 3600);
  return token;
}

// A session of `token`'s user in kRoom, and its id (from its sync_state).
struct Member {
  WsClient ws;
  std::string id;
};
Member join(const Parleyd& p, const std::string& token, const std::string& participant) {
  WsClient c = WsClient::connect(
      p.port(), "/ws/voice?token=" + token + "&room_id=" + kRoom + "&participant=" + participant);
  Received got;
  readUntil(
      c, got, [&] { return !got.ofType("sync_state").empty(); }, 5s);
  if (got.ofType("sync_state").empty()) throw std::runtime_error("no sync_state");
  return {std::move(c), std::string(got.ofType("sync_state")[0]["session_id"].asString())};
}

HttpResult share(const Parleyd& p, const std::string& session, const std::string& token = alice()) {
  return http(p.port(), "POST", "/api/session/" + session + "/share", bearer(token));
}
std::string newShare(const Parleyd& p, const std::string& session) {
  HttpResult r = share(p, session);
  if (r.status != 201) throw std::runtime_error("share refused: " + r.body);
  return r.json()->getValue<std::string>("share_token");
}
HttpResult snapshot(const Parleyd& p, const std::string& session, const std::string& token) {
  return get(p.port(), "/api/public/session/" + session + "/snapshot?token=" + token);
}
HttpResult revoke(const Parleyd& p, const std::string& session, const std::string& body = "") {
  return http(p.port(), "POST", "/api/share/" + session + "/revoke", bearer(alice()), body);
}
std::string errorCode(const HttpResult& r) {
  return r.json()->getObject("error")->getValue<std::string>("code");
}

void ask(WsClient& interviewer, const std::string& question) {
  interviewer.sendText(R"({"type":"interviewer_question","text":")" + question + "\"}");
}

TEST(ShareTokens, EveryRouteAndEveryRefusal) {
  Parleyd p(args());
  Member candidate = join(p, alice(), "candidate");
  Member interviewer = join(p, kOperatorToken, "interviewer");
  ask(interviewer.ws, "How did you test the migration?");

  HttpResult made = share(p, candidate.id);
  ASSERT_EQ(made.status, 201) << made.body;
  auto body = made.json();
  const std::string token = body->getValue<std::string>("share_token");
  EXPECT_EQ(body->getValue<std::string>("share_path"),
            "/ws/voice?room_id=" + kRoom + "&share=" + token);
  EXPECT_EQ(body->getValue<std::string>("public_api_path"),
            "/api/public/session/" + candidate.id + "/snapshot?token=" + token);
  EXPECT_EQ(body->getValue<int>("ttl_sec"), 86400);
  EXPECT_EQ(made.header("Cache-Control"), "no-store");

  EXPECT_EQ(http(p.port(), "POST", "/api/session/" + candidate.id + "/share").status, 401);
  HttpResult other = share(p, candidate.id, bob());
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(errorCode(other), "forbidden");
  EXPECT_EQ(share(p, kNobody).status, 404);
  EXPECT_EQ(share(p, interviewer.id).status, 403) << "the operator's session is not alice's";

  HttpResult snap = snapshot(p, candidate.id, token);
  ASSERT_EQ(snap.status, 200) << snap.body;
  EXPECT_NE(snap.body.find("How did you test the migration?"), std::string::npos) << snap.body;
  EXPECT_EQ(snap.body.find("alice"), std::string::npos) << "no owner in a snapshot";
  EXPECT_EQ(snap.body.find(token), std::string::npos);

  std::string tampered = token;
  tampered[12] = tampered[12] == 'Q' ? 'R' : 'Q';
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "share_token_missing"},
      {token.substr(0, 20), "share_token_invalid"},
      {tampered, "share_token_invalid"}};
  for (const auto& [t, code] : bad) {
    HttpResult r = snapshot(p, candidate.id, t);
    EXPECT_EQ(r.status, 403) << t;
    EXPECT_EQ(errorCode(r), code) << t;
  }
  EXPECT_EQ(errorCode(snapshot(p, interviewer.id, token)), "share_token_wrong_session");

  EXPECT_EQ(revoke(p, candidate.id, "{\"token\": 7}").status, 400);
  HttpResult revoked = revoke(p, candidate.id, "{\"token\":\"" + token + "\"}");
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(revoked.json()->getValue<int>("revoked_count"), 1);
  EXPECT_TRUE(revoked.json()->getValue<bool>("token_filtered"));
  EXPECT_EQ(errorCode(snapshot(p, candidate.id, token)), "share_token_revoked");

  auto m = systemMetrics(p.port());
  EXPECT_EQ(m->getValue<int>("share_tokens_active"), 0);
  EXPECT_EQ(m->getValue<int>("share_tokens_revoked"), 1);
  EXPECT_EQ(m->getValue<int>("share_token_ttl_sec"), 86400);
}

TEST(ShareTokens, AViewerWatchesReadOnlyUntilTheTokenIsRevoked) {
  Parleyd p(args({"-D", "plugins.load=rooms,deepgram,share_tokens"}));
  Member candidate = join(p, alice(), "candidate");
  Member interviewer = join(p, kOperatorToken, "interviewer");
  const std::string token = newShare(p, candidate.id);

  WsClient viewer = WsClient::connect(p.port(), "/ws/voice?room_id=" + kRoom + "&share=" + token);
  Received got;
  readUntil(
      viewer, got, [&] { return !got.ofType("sync_state").empty(); }, 5s);
  ASSERT_EQ(got.ofType("sync_state").size(), 1u) << "no bearer needed: the token lets it in";
  {  // The same token as a subprotocol (the web console's way: no secret in the URL).
    WsClient also =
        WsClient::connect(p.port(), "/ws/voice?room_id=" + kRoom,
                          {{"Sec-WebSocket-Protocol", "parley.v1, parley.auth.share." + token}});
    Received seen;
    readUntil(
        also, seen, [&] { return !seen.ofType("sync_state").empty(); }, 5s);
    EXPECT_EQ(seen.ofType("sync_state").size(), 1u);
  }
  ask(interviewer.ws, "Walk me through your last incident");
  readUntil(
      viewer, got, [&] { return !got.ofType("interviewer_question").empty(); }, 5s);
  EXPECT_EQ(got.ofType("interviewer_question").size(), 1u);
  viewer.sendText(R"({"type":"set_question","question":"Something else entirely, please"})");
  readUntil(
      viewer, got, [&] { return !got.ofType("error").empty(); }, 5s);
  ASSERT_EQ(got.ofType("error").size(), 1u);
  EXPECT_EQ(got.ofType("error")[0]["code"].asString(), "forbidden");

  try {
    WsClient::connect(p.port(), "/ws/voice?room_id=" + kNobody + "&share=" + token);
    ADD_FAILURE() << "joined another room";
  } catch (const WsRefused& r) {
    EXPECT_EQ(r.status, 403);
    EXPECT_NE(r.body.find("share_token_wrong_session"), std::string::npos) << r.body;
  }

  ASSERT_EQ(revoke(p, candidate.id).status, 200);
  WsClose close = viewer.expectClose(5s);
  EXPECT_TRUE(close.received);
  EXPECT_EQ(close.code, 4403);
  EXPECT_EQ(close.reason, "share token revoked");
  try {
    WsClient::connect(p.port(), "/ws/voice?room_id=" + kRoom + "&share=" + token);
    ADD_FAILURE() << "joined with a revoked token";
  } catch (const WsRefused& r) {
    EXPECT_EQ(r.status, 403);
    EXPECT_NE(r.body.find("share_token_revoked"), std::string::npos) << r.body;
  }
}

class Restart : public ::testing::TestWithParam<std::string> {};

TEST_P(Restart, TokensAndJournalsSurviveIt) {
  TempDir state("share-state");
  std::unique_ptr<RedisServer> redis;
  std::vector<std::string> extra = {"-D", "plugins.share_tokens.store=" + GetParam()};
  if (GetParam() == "redis") {
    redis = std::make_unique<RedisServer>();
    extra.insert(extra.end(),
                 {"-D", "plugins.share_tokens.redis_port=" + std::to_string(redis->port())});
  }
  const Env env = {{"STATE_DIRECTORY", state.path()}};
  std::string id, token;
  {
    Parleyd first(args(extra), env);
    Member candidate = join(first, alice(), "candidate");
    Member interviewer = join(first, kOperatorToken, "interviewer");
    ask(interviewer.ws, "What would you automate first?");
    Received got;
    readUntil(
        candidate.ws, got, [&] { return !got.ofType("interviewer_question").empty(); }, 5s);
    id = candidate.id;
    token = newShare(first, id);
    candidate.ws.sendText(R"({"type":"stop"})");
    candidate.ws.expectClose(5s, true);
    EXPECT_EQ(first.terminate(), 0);
  }
  Parleyd second(args(extra), env);
  HttpResult snap = snapshot(second, id, token);
  ASSERT_EQ(snap.status, 200) << snap.body;
  auto v = snap.json();
  EXPECT_FALSE(v->getValue<bool>("live"));
  EXPECT_EQ(v->getValue<std::string>("end_reason"), "stop_command");
  EXPECT_NE(snap.body.find("What would you automate first?"), std::string::npos) << snap.body;
  EXPECT_EQ(systemMetrics(second.port())->getValue<int>("share_tokens_active"), 1);
  if (GetParam() == "sqlite") {
    EXPECT_TRUE(std::filesystem::exists(state.path() + "/share_tokens.db")) << "in STATE_DIRECTORY";
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, Restart, ::testing::Values("sqlite", "redis"));

TEST(ShareTokens, ARevocationOnOneInstanceHoldsOnTheOtherAtOnce) {
  RedisServer redis;
  const std::string port = std::to_string(redis.port());
  const auto both =
      args({"-D", "plugins.load=rooms,fanout_redis,share_tokens", "-D",
            "plugins.share_tokens.store=redis", "-D", "plugins.share_tokens.redis_port=" + port,
            "-D", "plugins.fanout_redis.port=" + port});
  Parleyd a(both), b(both);
  Member candidate = join(a, alice(), "candidate");
  const std::string token = newShare(a, candidate.id);
  EXPECT_EQ(snapshot(b, candidate.id, token).status, 200) << "made on A, good on B";

  WsClient viewer = WsClient::connect(b.port(), "/ws/voice?room_id=" + kRoom + "&share=" + token);
  Received got;
  readUntil(
      viewer, got, [&] { return !got.ofType("sync_state").empty(); }, 5s);
  ASSERT_TRUE(waitFor([&] { return redis.subscribers(kRoom) == 2; }, 5s));

  ASSERT_EQ(revoke(a, candidate.id).status, 200);
  EXPECT_EQ(errorCode(snapshot(b, candidate.id, token)), "share_token_revoked");
  WsClose close = viewer.expectClose(5s);
  EXPECT_EQ(close.code, 4403) << "closed on B by A's revocation";
}

}  // namespace
}  // namespace parley::test
