// Coaching end to end: real parleyd processes with rooms, deepgram and assist. Typed transcripts
// (text mode) give hints to the candidate and a tone event to the room; Deepgram's word timings
// (from the fake live API) make a pressure spike; across two instances (a real redis-server) the
// room hears the candidate's events, and none comes while the interviewer's answer streams.
#include <gtest/gtest.h>

#include "tests/support/fakes.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"
#include "tests/support/speech.hpp"
#include "tests/support/ws_client.hpp"

namespace parley::test {
namespace {

using namespace std::chrono_literals;
const std::string kRoom = "8c3e5a7f-1d2b-4e6f-a0b1-c2d3e4f5a6b7";

std::vector<std::string> args(const std::string& load, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"-D", std::string("auth.operator_tokens=") + kOperatorToken,
                                "-D", "plugins.load=" + load,
                                "-D", "plugins.deepgram.silence_ms=300"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// A member of kRoom, once it has joined (its sync_state has arrived).
WsClient join(const Parleyd& p, const std::string& participant) {
  WsClient c = WsClient::connect(p.port(), "/ws/voice?token=" + std::string(kOperatorToken) +
                                               "&participant=" + participant + "&room_id=" + kRoom);
  Received got;
  readUntil(
      c, got, [&] { return !got.ofType("sync_state").empty(); }, 5s);
  if (got.ofType("sync_state").empty()) throw std::runtime_error("no sync_state after joining");
  return c;
}

void send(WsClient& c, const std::string& type, const std::string& field, const std::string& text,
          bool is_final = true) {
  sdk::json::Writer w;
  w.beginObject().field("type", type).field(field, text);
  if (type == "candidate_transcript") w.field("is_final", is_final);
  c.sendText(w.endObject().take());
}

constexpr const char* kToneTypes[] = {"tone_shift_event", "pressure_spike_event",
                                      "interruption_simulation"};
std::size_t toneEvents(const Received& got) {
  std::size_t n = 0;
  for (const char* t : kToneTypes) n += got.ofType(t).size();
  return n;
}

TEST(Assist, TypedSpeechHintsTheCandidateAndTheRoomHearsItsTone) {
  Parleyd p(args("rooms,deepgram,assist"));  // no Deepgram key: text mode
  WsClient interviewer = join(p, "interviewer");
  WsClient candidate = join(p, "candidate");
  send(interviewer, "interviewer_question", "text", "How would you make the search page faster?");
  // The candidate answers once it has heard the question (a new question starts a new answer).
  Received at_candidate, at_interviewer;
  readUntil(
      candidate, at_candidate, [&] { return !at_candidate.ofType("interviewer_question").empty(); },
      5s);

  send(candidate, "candidate_transcript", "text",
       "um so I think um we could like cache it and um basically keep it warm");
  readUntil(
      interviewer, at_interviewer, [&] { return toneEvents(at_interviewer) > 0; }, 5s);
  auto shifts = at_interviewer.ofType("tone_shift_event");
  ASSERT_EQ(shifts.size(), 1u) << "fillers are the one sign typed text has";
  EXPECT_EQ(shifts[0]["room_id"].asString(), kRoom);
  EXPECT_EQ(shifts[0]["event_index"].asInt(), 1);
  EXPECT_GT(shifts[0]["ts"].asNumber(), 1.7e9);
  EXPECT_EQ(shifts[0]["payload"]["signal"].asString(), "fillers");
  EXPECT_EQ(shifts[0]["payload"]["question"].asString(),
            "How would you make the search page faster?");

  // 46 words without a number: the candidate is told to quantify.
  send(candidate, "candidate_transcript", "text",
       "I would look at where the time goes first and then put a cache in front of the slow "
       "queries so that the common searches never reach the database and the page renders "
       "quickly for everyone who uses it every day at work and at home");
  readUntil(
      candidate, at_candidate, [&] { return !at_candidate.ofType("assist_hint").empty(); }, 5s);
  auto hints = at_candidate.ofType("assist_hint");
  ASSERT_EQ(hints.size(), 1u);
  EXPECT_EQ(hints[0]["payload"]["rule_id"].asString(), "missing_metrics");
  EXPECT_EQ(hints[0]["payload"]["profile"].asString(), "general");
  EXPECT_EQ(at_candidate.ofType("tone_shift_event").size(), 1u) << "the candidate is in the room";

  readUntil(
      interviewer, at_interviewer, [] { return false; }, 500ms);
  EXPECT_TRUE(at_interviewer.ofType("assist_hint").empty()) << "hints are the candidate's";
  auto m = systemMetrics(p.port());
  EXPECT_EQ(m->getValue<int>("assist_hints_emitted"), 1);
  EXPECT_EQ(m->getValue<int>("emotional_events_emitted"), 1);
}

TEST(Assist, DeepgramTimingsMakeAPressureSpike) {
  // Ten hesitant words: a second of silence between each, recognised with low confidence.
  std::vector<ScriptWord> words;
  double t = 0.3;
  for (const char* w :
       {"I", "think", "we", "could", "maybe", "cache", "the", "search", "results", "somewhere"}) {
    words.push_back({w, t, t + 0.25, 0.55});
    t += 1.25;
  }
  TempDir dir("assist");
  writeFile(dir.path() + "/script.json", deepgramScript({words}));
  FakeServer deepgram("deepgram_fake.py", {"--script", dir.path() + "/script.json"});
  Parleyd p(args("rooms,deepgram,assist", {"-D", "plugins.deepgram.api_key=test-key", "-D",
                                           "plugins.deepgram.url=ws://127.0.0.1:" +
                                               std::to_string(deepgram.port()) + "/v1/listen"}));
  WsClient interviewer = join(p, "interviewer");
  WsClient candidate = join(p, "candidate");
  Received at_candidate;
  stream(candidate, at_candidate, 150, 4.0);  // 15 s of audio in about 4 s
  Received at_interviewer;
  readUntil(
      interviewer, at_interviewer, [&] { return toneEvents(at_interviewer) > 0; }, 10s);
  auto spikes = at_interviewer.ofType("pressure_spike_event");
  ASSERT_EQ(spikes.size(), 1u) << "hesitation shows in several signs at once";
  const auto& payload = spikes[0]["payload"];
  std::vector<std::string> signs;
  for (const auto& s : payload["signals"].items()) signs.emplace_back(s.asString());
  EXPECT_EQ(signs, (std::vector<std::string>{"long_pauses", "low_confidence", "slow_pace"}));
  EXPECT_NEAR(payload["confidence"].asNumber(), 0.55, 0.001);
  EXPECT_LT(payload["speaking_rate_wpm"].asNumber(), 90);
  EXPECT_GE(payload["long_pauses"].asInt(), 2);
  EXPECT_EQ(payload["candidate_session_id"].asString(), spikes[0]["session_id"].asString());
}

TEST(Assist, AcrossInstancesAndNoneWhileAnAnswerStreams) {
  RedisServer redis;
  const std::vector<std::string> fanout = {
      "-D", "plugins.fanout_redis.port=" + std::to_string(redis.port())};
  // The candidate's instance coaches; the interviewer's streams the answers, slowly.
  Parleyd a(args("rooms,fanout_redis,deepgram,assist", fanout));
  auto b_args = fanout;
  b_args.insert(b_args.end(), {"-D", "plugins.answers.chunk_delay_ms=150"});
  Parleyd b(args("rooms,fanout_redis,answers", b_args));
  WsClient candidate = join(a, "candidate");
  WsClient interviewer = join(b, "interviewer");
  ASSERT_TRUE(waitFor([&] { return redis.subscribers(kRoom) == 2; }, 5s));

  send(interviewer, "interviewer_question", "text", "Tell me about a time you missed a deadline");
  Received at_candidate;
  readUntil(
      candidate, at_candidate,
      [&] { return !at_candidate.ofType("answer_suggestion_start").empty(); }, 5s);
  ASSERT_FALSE(at_candidate.ofType("answer_suggestion_start").empty());
  const std::string hesitant = "um so I think um we like missed it um basically";
  send(candidate, "candidate_transcript", "text", hesitant, /*is_final=*/false);
  readUntil(
      candidate, at_candidate, [&] { return !at_candidate.ofType("answer_suggestion").empty(); },
      20s);
  ASSERT_FALSE(at_candidate.ofType("answer_suggestion").empty());
  EXPECT_EQ(toneEvents(at_candidate), 0u) << "held while the answer streamed on the other instance";

  send(candidate, "candidate_transcript", "text", hesitant + " and um", /*is_final=*/false);
  Received at_interviewer;
  readUntil(
      interviewer, at_interviewer, [&] { return toneEvents(at_interviewer) > 0; }, 5s);
  auto shifts = at_interviewer.ofType("tone_shift_event");
  ASSERT_EQ(shifts.size(), 1u) << "through Redis to the interviewer's instance";
  EXPECT_EQ(shifts[0]["event_index"].asInt(), 1) << "nothing was sent while the answer streamed";
  EXPECT_EQ(shifts[0]["payload"]["question"].asString(),
            "Tell me about a time you missed a deadline");
  EXPECT_EQ(systemMetrics(a.port())->getValue<int>("emotional_events_emitted"), 1);
}

TEST(Assist, ABrokenRulesFileStopsStartUpWithItsLine) {
  TempDir dir("assist");
  const std::string rules = dir.path() + "/rules.ini";
  writeFile(rules, "[hints]\nmin_gap_sec = 8\n[rule r]\nkind = cue\nlexicon = nowhere\n");
  RunResult r = runParleyd({"-D", "plugins.load=rooms,assist", "-D",
                            "plugins.assist.rules_file=" + rules, "--check-config"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find("plugins.assist.rules_file: " + rules + ":3: [rule r] needs title"),
            std::string::npos)
      << r.err;
  const std::string lexicons = dir.path() + "/lexicons.txt";
  writeFile(lexicons, "# words\nloose word\n");
  r = runParleyd({"-D", "plugins.load=rooms,assist", "-D",
                  "plugins.assist.lexicons_file=" + lexicons, "--check-config"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find(lexicons + ":2: 'loose word' is outside any [section]"), std::string::npos)
      << r.err;
  EXPECT_NE(runParleyd({"-D", "plugins.load=rooms,assist", "-D",
                        "plugins.assist.rules_file=/nonexistent.ini", "--check-config"})
                .err.find("plugins.assist.rules_file: cannot read /nonexistent.ini"),
            std::string::npos);
}

}  // namespace
}  // namespace parley::test
