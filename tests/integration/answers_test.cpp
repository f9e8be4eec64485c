// Answer streams end to end: real parleyd processes with rooms and answers, the fake
// OpenAI-compatible server (tests/fakes/openai_fake.py), a real redis-server for two instances.
// Every event in order on both instances, cancellation that closes the provider's connection, each
// fallback, the offline provider, sync_state mid-stream, TLS, and the metrics.
#include <gtest/gtest.h>

#include <thread>

#include "tests/support/fakes.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"
#include "tests/support/ws_client.hpp"

namespace parley::test {
namespace {

using Clock = std::chrono::steady_clock;
const std::string kRoom = "7b2d4f6a-8c0e-4a1b-9d3c-5e7f9a1b3c5d";

std::vector<std::string> answersArgs(const std::string& model, std::uint16_t llm_port,
                                     std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "-D", std::string("auth.operator_tokens=") + kOperatorToken,
      "-D", "plugins.load=rooms,answers",
      "-D", "plugins.answers.provider=openai",
      "-D", "plugins.answers.base_url=http://127.0.0.1:" + std::to_string(llm_port),
      "-D", "plugins.answers.api_key=test-key",
      "-D", "plugins.answers.model=" + model,
      "-D", "plugins.answers.first_token_timeout_ms=1500",
      "-D", "plugins.rooms.interviewer_question_window_ms=0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

WsClient join(const Parleyd& p, const std::string& participant) {
  WsClient c = WsClient::connect(p.port(), "/ws/voice?token=" + std::string(kOperatorToken) +
                                               "&participant=" + participant + "&room_id=" + kRoom);
  for (int i = 0; i < 10; ++i) {  // up to the join's sync_state
    WsFrame f = c.readText();
    if (!f.ok() || f.payload.find("\"type\":\"sync_state\"") != std::string::npos) break;
  }
  return c;
}

void ask(WsClient& c, const std::string& question) {
  sdk::json::Writer w;
  c.sendText(w.beginObject()
                 .field("type", "interviewer_question")
                 .field("text", question)
                 .endObject()
                 .take());
}

// The answer events a member receives until `done` holds or `timeout`.
struct Answers {
  std::vector<sdk::json::Value> events;
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& e : events) out.emplace_back(e["type"].asString());
    return out;
  }
  std::vector<sdk::json::Value> ofType(const std::string& t) const {
    std::vector<sdk::json::Value> out;
    for (const auto& e : events)
      if (e["type"].asString() == t) out.push_back(e);
    return out;
  }
  std::size_t count(const std::string& t) const { return ofType(t).size(); }
};

Answers collect(WsClient& c, const std::function<bool(const Answers&)>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  Answers a;
  const auto until = Clock::now() + timeout;
  while (!done(a) && Clock::now() < until) {
    WsFrame f = c.readText(std::chrono::milliseconds(200));
    if (f.result == WsFrame::Result::kClosed) break;
    sdk::json::Value v;
    if (f.ok() && sdk::json::parse(f.payload, v) &&
        v["type"].asString().rfind("answer_suggestion", 0) == 0)
      a.events.push_back(std::move(v));
  }
  return a;
}

auto finals(std::size_t n) {
  return [n](const Answers& a) { return a.count("answer_suggestion") >= n; };
}

// start, chunk 0..n-1, done, answer_suggestion: in that order, nothing missing. A completed
// stream's suggestion is its chunks joined; a fallback's is the offline answer, sent whole.
void expectOneCompleteStream(const Answers& a, const std::string& reason) {
  const auto types = a.types();
  ASSERT_GE(types.size(), 3u);
  EXPECT_EQ(types.front(), "answer_suggestion_start");
  EXPECT_EQ(types[types.size() - 2], "answer_suggestion_done");
  EXPECT_EQ(types.back(), "answer_suggestion");
  const auto chunks = a.ofType("answer_suggestion_chunk");
  EXPECT_EQ(chunks.size() + 3, types.size()) << "only chunks between start and done";
  std::string joined;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i]["index"].asInt(), static_cast<int>(i));
    joined += chunks[i]["chunk"].asString();
  }
  const auto done = a.ofType("answer_suggestion_done")[0];
  EXPECT_EQ(done["reason"].asString(), reason);
  EXPECT_EQ(done["room_id"].asString(), kRoom);
  EXPECT_EQ(a.ofType("answer_suggestion")[0]["suggestion"].asString(),
            done["suggestion"].asString());
  if (reason == "completed") {
    EXPECT_FALSE(chunks.empty());
    EXPECT_EQ(done["suggestion"].asString(), joined);
  }
  EXPECT_EQ(done["suggestion"].asString().empty(), reason == "empty");
}

TEST(Answers, BothMembersOnTwoInstancesGetEveryEventInOrder) {
  FakeServer llm("openai_fake.py");
  RedisServer redis;
  const std::vector<std::string> fanout = {
      "-D", "plugins.load=rooms,fanout_redis,answers", "-D",
      "plugins.fanout_redis.port=" + std::to_string(redis.port())};
  Parleyd a(answersArgs("m", llm.port(), fanout)), b(answersArgs("m", llm.port(), fanout));
  WsClient interviewer = join(a, "interviewer");
  WsClient candidate = join(b, "candidate");
  ASSERT_TRUE(waitFor([&] { return redis.subscribers(kRoom) == 2; }, std::chrono::seconds(5)));
  ask(interviewer, "Tell me about the hardest bug you fixed");
  const Answers on_a = collect(interviewer, finals(1));
  const Answers on_b = collect(candidate, finals(1));
  expectOneCompleteStream(on_a, "completed");
  expectOneCompleteStream(on_b, "completed");
  EXPECT_EQ(on_a.types(), on_b.types()) << "the same events, in the same order";
  EXPECT_EQ(llm.events("request").size(), 1u) << "one stream for the room, not one per instance";
  EXPECT_EQ(systemMetrics(a.port())->getValue<int>("answer_streams_started"), 1);
  EXPECT_EQ(systemMetrics(b.port())->getValue<int>("answer_streams_started"), 0);
}

TEST(Answers, ASecondQuestionCancelsTheFirstAndClosesItsConnection) {
  FakeServer llm("openai_fake.py");
  Parleyd p(answersArgs("scenario:long:300", llm.port()));
  WsClient interviewer = join(p, "interviewer");
  ask(interviewer, "Describe the architecture of your last system");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ask(interviewer, "What would you do differently next time around");
  const Answers got = collect(
      interviewer, [](const Answers& a) { return a.count("answer_suggestion") >= 1; },
      std::chrono::seconds(60));
  const auto done = got.ofType("answer_suggestion_done");
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0]["reason"].asString(), "cancelled");
  EXPECT_EQ(done[0]["question"].asString(), "Describe the architecture of your last system");
  EXPECT_EQ(done[1]["reason"].asString(), "completed");
  EXPECT_EQ(done[1]["question"].asString(), "What would you do differently next time around");
  EXPECT_FALSE(done[1]["suggestion"].asString().empty());
  const auto finals = got.ofType("answer_suggestion");
  ASSERT_EQ(finals.size(), 1u) << "none after cancelled";
  EXPECT_EQ(finals[0]["question"].asString(), "What would you do differently next time around");
  // The fake saw the first request's connection close while it was still generating.
  EXPECT_TRUE(llm.waitFor([](const auto& e) { return e["event"].asString() == "client_closed"; }));
  auto m = systemMetrics(p.port());
  EXPECT_EQ(m->getValue<int>("answer_streams_started"), 2);
  EXPECT_EQ(m->getValue<int>("answer_streams_cancelled"), 1);
  EXPECT_EQ(m->getValue<int>("stream_duration_samples"), 2) << "cancelled ones count too";
  EXPECT_GT(m->getValue<double>("avg_stream_duration"), 0.0);
}

TEST(Answers, StopAnswerGenerationCancelsOnlyFromTheInterviewer) {
  FakeServer llm("openai_fake.py");
  Parleyd p(answersArgs("scenario:long:300", llm.port()));
  WsClient interviewer = join(p, "interviewer");
  WsClient candidate = join(p, "candidate");
  ask(interviewer, "Walk me through your resume in detail");
  collect(interviewer, [](const Answers& a) { return a.count("answer_suggestion_chunk") >= 2; });
  candidate.sendText(R"({"type":"stop_answer_generation"})");
  WsFrame refusal = candidate.readText();
  interviewer.sendText(R"({"type":"stop_answer_generation"})");
  const Answers got =
      collect(interviewer, [](const Answers& a) { return a.count("answer_suggestion_done") >= 1; });
  ASSERT_EQ(got.count("answer_suggestion_done"), 1u);
  EXPECT_EQ(got.ofType("answer_suggestion_done")[0]["reason"].asString(), "cancelled");
  EXPECT_TRUE(llm.waitFor([](const auto& e) { return e["event"].asString() == "client_closed"; }));
  // The candidate was refused, among the answer events it also receives.
  bool forbidden = refusal.payload.find("\"forbidden\"") != std::string::npos;
  for (int i = 0; i < 50 && !forbidden; ++i) {
    WsFrame f = candidate.readText(std::chrono::milliseconds(100));
    forbidden = f.ok() && f.payload.find("\"forbidden\"") != std::string::npos;
  }
  EXPECT_TRUE(forbidden);
}

TEST(Answers, ProviderFailuresFallBackToTheOfflineAnswer) {
  FakeServer llm("openai_fake.py");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"scenario:error_before", "error_fallback"},
      {"scenario:error_mid", "error_fallback"},
      {"scenario:cut_mid", "error_fallback"},
      {"scenario:garbage_http", "error_fallback"},
      {"scenario:slow_first:4000", "timeout_fallback"},
      {"scenario:slow_head:4000", "timeout_fallback"},
      {"scenario:empty", "empty"}};
  for (const auto& [model, reason] : cases) {
    SCOPED_TRACE(model);
    Parleyd p(answersArgs(model, llm.port()));
    WsClient interviewer = join(p, "interviewer");
    ask(interviewer, "How do you handle a tight deadline under pressure?");
    const Answers got = collect(interviewer, finals(1));
    expectOneCompleteStream(got, reason);
    if (reason != "empty") {
      EXPECT_NE(got.ofType("answer_suggestion")[0]["suggestion"].asString().find("deadline"),
                std::string::npos)
          << "the offline answer for the question";
    }
  }
}

TEST(Answers, TheOfflineProviderStreamsAPreparedAnswer) {
  Parleyd p({"-D", std::string("auth.operator_tokens=") + kOperatorToken, "-D",
             "plugins.load=rooms,answers", "-D", "plugins.answers.chunk_delay_ms=5"});
  WsClient interviewer = join(p, "interviewer");
  ask(interviewer, "How would you design a system for a million users?");
  const Answers got = collect(interviewer, finals(1));
  expectOneCompleteStream(got, "completed");
  EXPECT_GT(got.count("answer_suggestion_chunk"), 10u);
  EXPECT_NE(got.ofType("answer_suggestion")[0]["suggestion"].asString().find("requirements"),
            std::string::npos);
}

TEST(Answers, SyncStateMidStreamShowsThePartialAnswer) {
  FakeServer llm("openai_fake.py", {"--chunk-delay-ms", "100"});
  Parleyd p(answersArgs("scenario:long:100", llm.port()));
  WsClient interviewer = join(p, "interviewer");
  ask(interviewer, "Tell me about a project you are proud of");
  collect(interviewer, [](const Answers& a) { return a.count("answer_suggestion_chunk") >= 5; });
  // A member joining now finds the stream in the room's state.
  WsClient late = WsClient::connect(p.port(), "/ws/voice?token=" + std::string(kOperatorToken) +
                                                  "&participant=candidate&room_id=" + kRoom);
  sdk::json::Value sync;
  for (int i = 0; i < 10 && sync.isNull(); ++i) {
    WsFrame f = late.readText();
    sdk::json::Value v;
    if (f.ok() && sdk::json::parse(f.payload, v) && v["type"].asString() == "sync_state") sync = v;
  }
  EXPECT_TRUE(sync["is_streaming"].asBool());
  EXPECT_EQ(sync["active_question"].asString(), "Tell me about a project you are proud of");
  EXPECT_FALSE(sync["partial_answer"].asString().empty());
}

TEST(Answers, TlsToTheProviderWithTheTestsOwnCa) {
  TestCa ca("answers-ca");
  FakeServer llm("openai_fake.py", {"--tls", ca.cert, ca.key});
  std::vector<std::string> args =
      answersArgs("m", llm.port(), {"-D", "upstream.tls_ca_file=" + ca.ca});
  for (auto& a : args)
    if (a.rfind("plugins.answers.base_url=", 0) == 0)
      a = "plugins.answers.base_url=https://localhost:" + std::to_string(llm.port());
  Parleyd p(args);
  WsClient interviewer = join(p, "interviewer");
  ask(interviewer, "Tell me about the hardest bug you fixed");
  expectOneCompleteStream(collect(interviewer, finals(1)), "completed");
  auto request = llm.events("request");
  ASSERT_EQ(request.size(), 1u);
  EXPECT_EQ(request[0]["authorization"].asString(), "Bearer test-key");
  EXPECT_EQ(request[0]["body"]["stream"].asBool(), true);
}

TEST(Answers, BadSettingsAreRefusedWithTheKeyAndTheLine) {
  const std::vector<std::string> base = {"-D", "plugins.load=rooms,answers", "--check-config"};
  auto refused = [&](std::vector<std::string> extra, const std::string& says) {
    extra.insert(extra.end(), base.begin(), base.end());
    RunResult r = runParleyd(extra);
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
  };
  refused({"-D", "plugins.answers.provider=gpt"}, "plugins.answers.provider: 'gpt' is neither");
  refused({"-D", "plugins.answers.base_url=ftp://x"}, "plugins.answers.base_url: 'ftp://x'");
  refused({"-D", "plugins.answers.answers_file=/nonexistent.md"}, "cannot read /nonexistent.md");
  TempDir dir("answers");
  const std::string file = dir.path() + "/answers.md";
  writeFile(file, "# Answers\n\n## Deadlines\nkeywords: deadline\nI plan.\n\n## Empty\n");
  refused({"-D", "plugins.answers.answers_file=" + file}, file + ":7: section 'Empty' has no");
  EXPECT_EQ(runParleyd({"-D", "plugins.load=rooms,answers", "-D", "plugins.answers.provider=openai",
                        "--check-config"})
                .exit_code,
            0);
}

}  // namespace
}  // namespace parley::test
