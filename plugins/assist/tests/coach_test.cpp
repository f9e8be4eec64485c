// The assist plugin on the SDK's test host: scripted transcripts (with word timings, as Deepgram
// gives them, or without, as the browser does) must fire each rule and each event where they
// should and stay silent where they should not; cooldowns, gaps, intensity and the gates too.
#include <gtest/gtest.h>
#include <parley/sdk/services/rooms.hpp>
#include <parley/sdk/testing/host.hpp>
#include <parley/sdk/testing/rooms.hpp>

#include <sstream>

namespace parley_plugin_export {
parley::sdk::Plugin* create();
}

namespace parley::assist {
namespace {

using namespace std::chrono_literals;
using sdk::json::Value;
using sdk::json::Writer;
using sdk::testing::FakeSession;
using sdk::testing::TestHost;

const std::string kRoom = "5d1f7a9e-3b2c-4d8e-9f0a-1b2c3d4e5f60";

struct Fixture {
  std::unique_ptr<sdk::Plugin> plugin{parley_plugin_export::create()};
  std::shared_ptr<sdk::testing::FakeRooms> rooms = std::make_shared<sdk::testing::FakeRooms>(kRoom);
  TestHost host;
  explicit Fixture(std::map<std::string, std::string> config = {})
      : host(*plugin, std::move(config)) {
    host.offer<sdk::RoomsService>(sdk::kRoomsService, rooms);
    host.start();
  }
  std::vector<Value> events(const std::string& type) const { return rooms->ofType(type); }
  std::size_t toneEvents() const {
    return events("tone_shift_event").size() + events("pressure_spike_event").size() +
           events("interruption_simulation").size();
  }
  void roomEvent(const std::string& json) {  // as if from another instance
    rooms->deliverLocal(kRoom, json);
    host.run();
  }
  void question(const std::string& text) {
    Writer w;
    roomEvent(w.beginObject()
                  .field("type", "interviewer_question")
                  .field("question", text)
                  .field("room_id", kRoom)
                  .endObject()
                  .take());
  }
};

// The candidate speaking, as the transcription publishes it (transcript.partial on the bus).
// Words come every `step` seconds of audio; "..." in the text is a 1.5 s pause.
struct Candidate {
  Fixture& f;
  FakeSession& session;
  double t = 0;  // the audio clock, seconds
  Candidate(Fixture& fixture, const std::string& role = "general",
            const std::string& intensity = "")
      : f(fixture), session(fixture.host.connect(query(role, intensity))) {}
  static sdk::Fields query(const std::string& role, const std::string& intensity) {
    sdk::Fields q = {{"room_id", kRoom}, {"participant", "candidate"}, {"role", role}};
    if (!intensity.empty()) q.emplace_back("assist_intensity", intensity);
    return q;
  }
  const std::string& id() const { return session.info().id; }

  void say(const std::string& text, bool final = true, double step = 0.35, double confidence = 0.95,
           bool timed = true) {
    Writer w;
    w.beginObject().field("room_id", kRoom).field("session_id", id());
    w.field("participant", "candidate").field("text", text).field("final", final);
    w.key("words").beginArray();
    std::istringstream in(text);
    std::string word;
    while (in >> word) {
      if (word == "...") {
        t += 1.5;
        continue;
      }
      w.beginObject().field("word", word).field("start", timed ? t : 0.0);
      w.field("end", timed ? t + 0.25 : 0.0).field("confidence", confidence).endObject();
      t += step;
    }
    publish("transcript.partial", w.endArray().field("ts", 0).endObject().take());
  }
  void typed(const std::string& text, bool final = true) { say(text, final, 0, 1, false); }
  void publish(const std::string& topic, std::string json = {}) {
    if (json.empty()) {
      Writer w;
      json = w.beginObject().field("room_id", kRoom).field("session_id", id()).endObject().take();
    }
    f.host.publish({topic, json});
    f.host.run();
  }
  void turnEnds() {
    publish("turn.pending");
    publish("turn.finalized");
  }
  std::vector<std::string> hints() const {
    std::vector<std::string> ids;
    for (const auto& h : session.sent("assist_hint"))
      ids.emplace_back(h["payload"]["rule_id"].asString());
    return ids;
  }
};

std::map<std::string, std::string> longWindow() {
  return {{"window_sec", "600"}};
}

std::string words(std::size_t n, const std::string& word = "system") {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += (out.empty() ? "" : " ") + word;
  return out;
}

using Hints = std::vector<std::string>;

// ---- Hints -----------------------------------------------------------------------------------

TEST(Hints, MissingMetricsAfterEnoughWordsWithoutANumber) {
  Fixture f;
  Candidate c(f);
  c.say("I " + words(43));  // 44 words: not yet enough to judge
  EXPECT_EQ(c.hints(), Hints{});
  c.say("cache");
  EXPECT_EQ(c.hints(), Hints{"missing_metrics"});
  auto hint = c.session.sent("assist_hint")[0];
  EXPECT_EQ(hint["session_id"].asString(), c.id());
  const Value& p = hint["payload"];
  EXPECT_EQ(p["title"].asString(), "Add a number");
  EXPECT_EQ(p["severity"].asString(), "medium");
  EXPECT_EQ(p["priority"].asInt(), 2);
  EXPECT_EQ(p["profile"].asString(), "general");
  EXPECT_GT(p["timestamp"].asNumber(), 1.7e9);
  EXPECT_FALSE(p["message"].asString().empty());
  EXPECT_TRUE(f.rooms->ofType("assist_hint").empty()) << "hints go to the candidate only";
  EXPECT_EQ(f.host.value("assist_hints_emitted"), 1);
}

TEST(Hints, ANumberOrAMetricWordKeepsMissingMetricsSilent) {
  for (const char* said : {"it cut latency by 40 percent", "we served 3000 users", "it doubled"}) {
    Fixture f;
    Candidate c(f);
    c.say(std::string("I ") + said + " " + words(50));
    EXPECT_EQ(c.hints(), Hints{}) << said;
  }
}

TEST(Hints, MissingOwnershipWhenWeDrownsI) {
  Fixture f;
  Candidate c(f);
  c.say("we built it and we shipped it and our team said we were done so we left");
  EXPECT_EQ(c.hints(), Hints{"missing_ownership"});

  Fixture g;
  Candidate d(g);
  d.say("we built it and I shipped it and our team said we were done so I left");
  EXPECT_EQ(d.hints(), Hints{});
}

TEST(Hints, RamblingWhenTheTurnRunsLongAndATurnStartsAfresh) {
  Fixture f(longWindow());
  Candidate c(f);
  for (int i = 0; i < 16; ++i) c.say("I measured 10 " + words(7));  // 160 words, with numbers
  EXPECT_EQ(c.hints(), Hints{});
  c.turnEnds();
  for (int i = 0; i < 16; ++i) c.say("I measured 10 " + words(7));
  EXPECT_EQ(c.hints(), Hints{}) << "a new turn counts from zero";
  c.say("I measured 10 " + words(7));
  EXPECT_EQ(c.hints(), Hints{"rambling"});
}

TEST(Hints, RamblingByTimeCountsTheInterimWordsOfTheTurn) {
  Fixture f;
  Candidate c(f);
  c.say("I measured 10 things", /*final=*/false);
  f.host.advance(74s);
  c.say("I measured 10 things and more", /*final=*/false);
  EXPECT_EQ(c.hints(), Hints{});
  f.host.advance(1s);
  c.say("I measured 10 things and more still", /*final=*/false);
  EXPECT_EQ(c.hints(), Hints{"rambling"});
}

TEST(Hints, FillerDensityAndContradictionCues) {
  Fixture f;
  Candidate c(f);
  c.say(
      "I um shipped 3 um services and like basically um kept them um fast for you know "
      "everyone there");
  EXPECT_EQ(c.hints(), Hints{}) << "under 25 words";
  c.say("and um I also tuned 2 caches");
  EXPECT_EQ(c.hints(), Hints{"filler_density"});

  Fixture g;
  Candidate d(g);
  d.say("I used 2 queues, actually no, I used 3 queues");
  EXPECT_EQ(d.hints(), Hints{});
  d.say("scratch that, I used 3");
  EXPECT_EQ(d.hints(), Hints{"contradiction"});
}

TEST(Hints, EachProfileHasItsRule) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"behavioral", "behavioral_structure"},
      {"system_design", "system_design_tradeoffs"},
      {"coding", "coding_clarity"}};
  for (const auto& [profile, rule] : cases) {
    Fixture f;
    Candidate c(f, profile);
    c.say("I measured 5 " + words(57, "blue"));  // 60 words, a number, no cue of the profile
    EXPECT_EQ(c.hints(), Hints{rule}) << profile;
    EXPECT_EQ(c.session.sent("assist_hint")[0]["payload"]["profile"].asString(), profile);
  }
  Fixture f;
  Candidate general(f);
  general.say("I measured 5 " + words(57, "blue"));
  EXPECT_EQ(general.hints(), Hints{}) << "no profile rule for general";

  Fixture g;
  Candidate leader(g, "leadership");
  leader.say("I think we decided and we hired");  // 2:1 is enough in leadership, not elsewhere
  EXPECT_EQ(leader.hints(), Hints{});
  leader.say("then we grew");
  EXPECT_EQ(leader.hints(), Hints{"leadership_ownership"});
}

TEST(Hints, TheFirstPriorityWinsThenGapsAndCooldownsHold) {
  Fixture f(longWindow());
  Candidate c(f);
  // Both missing_metrics (priority 2) and filler_density (3) would fire: metrics goes first.
  c.say("um " + words(44));
  EXPECT_EQ(c.hints(), Hints{"missing_metrics"});
  f.host.advance(7999ms);
  c.say("um um um");
  EXPECT_EQ(c.hints(), Hints{"missing_metrics"}) << "8 s between hints";
  f.host.advance(1ms);
  c.say("um");
  EXPECT_EQ(c.hints(), (Hints{"missing_metrics", "filler_density"}));
  f.host.advance(36999ms);  // 45 s after the first, less 1 ms
  c.say("system");
  EXPECT_EQ(c.hints().size(), 2u) << "missing_metrics cools down for 45 s";
  f.host.advance(1ms);
  c.say("system");
  EXPECT_EQ(c.hints(), (Hints{"missing_metrics", "filler_density", "missing_metrics"}));
}

TEST(Hints, IntensityScalesTheThresholds) {
  // missing_metrics needs 45 words at intensity 2, 45 x 0.7 = 32 at 3, 45 x 1.5 = 68 at 1.
  const std::vector<std::pair<std::string, std::size_t>> cases = {{"1", 68}, {"2", 45}, {"3", 32}};
  for (const auto& [intensity, needed] : cases) {
    Fixture f;
    Candidate c(f, "general", intensity);
    c.say("I " + words(needed - 2));
    EXPECT_EQ(c.hints(), Hints{}) << intensity;
    c.say("system");
    EXPECT_EQ(c.hints(), Hints{"missing_metrics"}) << intensity;
  }
}

TEST(Hints, OldWordsLeaveTheWindowAndANewQuestionStartsAfresh) {
  Fixture f;  // 20 s window
  Candidate c(f);
  c.say("I " + words(30));
  f.host.advance(21s);
  c.say(words(30));
  EXPECT_EQ(c.hints(), Hints{}) << "the first 31 words have left the window";

  Fixture g;
  Candidate d(g);
  d.say("I " + words(30));
  g.question("How did you scale the system to more users?");
  d.say(words(30));
  EXPECT_EQ(d.hints(), Hints{});
}

TEST(Hints, OnlyCandidatesAreCoached) {
  Fixture f;
  FakeSession& interviewer = f.host.connect({{"room_id", kRoom}, {"participant", "interviewer"}});
  Writer w;
  w.beginObject().field("session_id", interviewer.info().id).field("final", true);
  w.key("words").beginArray();
  for (int i = 0; i < 60; ++i) w.beginObject().field("word", "system").endObject();
  f.host.publish({"transcript.partial", w.endArray().endObject().take()});
  f.host.run();
  EXPECT_TRUE(interviewer.sent("assist_hint").empty());
  EXPECT_EQ(f.host.value("assist_hints_emitted"), 0);
}

// ---- Tone-pressure events --------------------------------------------------------------------

TEST(Tone, HesitationSignsMakeAPressureSpike) {
  Fixture f;
  Candidate c(f);
  c.say("I ... think the ... cache was ... 40 percent faster", true, 0.35, 0.6);
  auto spikes = f.events("pressure_spike_event");
  ASSERT_EQ(spikes.size(), 1u);
  const Value& e = spikes[0];
  EXPECT_EQ(e["room_id"].asString(), kRoom);
  EXPECT_EQ(e["event_index"].asInt(), 1);
  EXPECT_GT(e["ts"].asNumber(), 1.7e9);
  const Value& p = e["payload"];
  EXPECT_EQ(p["signal"].asString(), "hesitation");
  ASSERT_EQ(p["signals"].size(), 3u);
  EXPECT_EQ(p["signals"][0].asString(), "long_pauses");
  EXPECT_EQ(p["signals"][1].asString(), "low_confidence");
  EXPECT_EQ(p["signals"][2].asString(), "slow_pace") << "the pauses slow the pace too";
  EXPECT_LT(p["speaking_rate_wpm"].asNumber(), 90);
  EXPECT_EQ(p["long_pauses"].asInt(), 3);
  EXPECT_DOUBLE_EQ(p["confidence"].asNumber(), 0.6);
  EXPECT_EQ(p["level"].asInt(), 2);
  EXPECT_FALSE(p["message"].asString().empty());
  EXPECT_EQ(p["candidate_session_id"].asString(), c.id());
  EXPECT_EQ(f.host.value("emotional_events_emitted"), 1);
}

TEST(Tone, OneSignIsAToneShiftAndFillersCountInTypedText) {
  Fixture f;
  Candidate c(f);
  c.typed("um so I think um we could like cache it");  // no timings: only fillers count
  auto shifts = f.events("tone_shift_event");
  ASSERT_EQ(shifts.size(), 1u);
  EXPECT_EQ(shifts[0]["payload"]["signal"].asString(), "fillers");
  EXPECT_FALSE(shifts[0]["payload"].has("speaking_rate_wpm"));
  EXPECT_FALSE(shifts[0]["payload"].has("confidence"));
}

TEST(Tone, FluentConfidentSpeechIsLeftAlone) {
  Fixture f;
  Candidate c(f);
  for (int i = 0; i < 6; ++i) c.say("I cut the p99 latency by 40 percent in two weeks", true, 0.4);
  EXPECT_EQ(f.toneEvents(), 0u);
  EXPECT_EQ(c.hints(), Hints{});
}

TEST(Tone, PaceFromWordTimings) {
  Fixture fast;
  Candidate quick(fast);
  quick.say("I cut the p99 latency by 40 percent in two weeks and then I did it again", true, 0.2);
  auto cut = fast.events("interruption_simulation");
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0]["payload"]["signal"].asString(), "fast_pace");
  EXPECT_GT(cut[0]["payload"]["speaking_rate_wpm"].asNumber(), 200);

  Fixture slow;
  Candidate careful(slow);
  careful.say("I cut the p99 latency by 40 percent in two weeks", true, 0.75);
  auto shift = slow.events("tone_shift_event");
  ASSERT_EQ(shift.size(), 1u);
  EXPECT_EQ(shift[0]["payload"]["signal"].asString(), "slow_pace");
}

TEST(Tone, TheInterviewerCuttingInMidTurn) {
  Fixture f;
  Candidate c(f);
  const std::string interviewer_speaks =
      R"({"type":"partial_transcript","text":"Sorry","participant":"interviewer","room_id":")" +
      kRoom + "\"}";
  f.roomEvent(interviewer_speaks);
  EXPECT_EQ(f.toneEvents(), 0u) << "the candidate has not said anything";
  c.say("I cut the p99 latency", /*final=*/false);
  f.roomEvent(R"({"type":"partial_transcript","text":"So","participant":"candidate"})");
  EXPECT_EQ(f.toneEvents(), 0u) << "the candidate's own captions";
  f.roomEvent(interviewer_speaks);
  auto cut = f.events("interruption_simulation");
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0]["payload"]["signal"].asString(), "interviewer_cut_in");
  f.host.advance(7s);
  c.say("by 40 percent", false);
  f.roomEvent(interviewer_speaks);
  EXPECT_EQ(f.toneEvents(), 1u) << "once per turn";

  Fixture g;
  Candidate d(g);
  d.say("I cut the p99 latency by 40 percent", false);
  g.host.advance(3s);
  g.roomEvent(interviewer_speaks);
  EXPECT_EQ(g.toneEvents(), 0u) << "3 s of silence: the candidate had stopped";
}

TEST(Tone, SixSecondsApartAndTwoPerQuestion) {
  Fixture f(longWindow());
  Candidate c(f);
  const std::string hesitant = "I ... think um ... maybe we could ... cache it";
  c.say(hesitant, true, 0.35, 0.6);
  EXPECT_EQ(f.toneEvents(), 1u);
  f.host.advance(5999ms);
  c.say(hesitant, true, 0.35, 0.6);
  EXPECT_EQ(f.toneEvents(), 1u) << "under 6 s";
  f.host.advance(1ms);
  c.say("um", true, 0.35, 0.6);
  EXPECT_EQ(f.toneEvents(), 2u);
  f.host.advance(10s);
  c.say(hesitant, true, 0.35, 0.6);
  EXPECT_EQ(f.toneEvents(), 2u) << "two per question";
  f.question("What would you do differently next time?");
  c.say(hesitant, true, 0.35, 0.6);
  EXPECT_EQ(f.toneEvents(), 3u);
  EXPECT_EQ(f.events("pressure_spike_event").back()["event_index"].asInt(), 3);
}

TEST(Tone, NoneWhileAnAnswerStreamsOrATurnIsBeingFinalized) {
  Fixture f;
  Candidate c(f);
  const std::string hesitant = "I ... think um ... maybe we could ... cache it";
  f.roomEvent(R"({"type":"answer_suggestion_start","question":"q","room_id":")" + kRoom + "\"}");
  c.say(hesitant, true, 0.35, 0.6);
  EXPECT_EQ(f.toneEvents(), 0u) << "an answer streams (started on another instance)";
  f.roomEvent(R"({"type":"answer_suggestion_done","question":"q","reason":"completed"})");
  c.say("so um", true, 0.35, 0.6);
  EXPECT_EQ(f.toneEvents(), 1u);

  Fixture g;
  Candidate d(g);
  // The piece that ends the utterance, then the transcription's turn.pending, as deepgram
  // publishes them: one after the other, before anything else runs.
  Writer w;
  w.beginObject().field("session_id", d.id()).field("final", true).key("words").beginArray();
  double t = 0;
  for (const char* word : {"I", "think", "um", "maybe", "we", "could", "cache", "it"}) {
    w.beginObject().field("word", word).field("start", t).field("end", t + 0.25);
    w.field("confidence", 0.5).endObject();
    t += 1.2;
  }
  Writer pending;
  pending.beginObject().field("session_id", d.id()).endObject();
  g.host.publish(std::vector<sdk::Event>{{"transcript.partial", w.endArray().endObject().take()},
                                         {"turn.pending", pending.take()}});
  EXPECT_EQ(g.toneEvents(), 0u) << "the turn is being finalized";
  d.publish("turn.finalized");
  EXPECT_EQ(g.toneEvents(), 1u) << "judged once the turn is final";
}

TEST(Tone, GentleIntensityWaitsLongerAndSendsOnePerQuestion) {
  Fixture f(longWindow());
  Candidate c(f, "general", "1");
  // 12 words are needed at intensity 1 (8 x 1.5).
  const std::string short_one = "I ... think um ... maybe we could ... cache it";
  c.say(short_one, true, 0.35, 0.6);
  EXPECT_EQ(f.toneEvents(), 0u);
  f.question("And how would you test it?");
  const std::string hesitant =
      "I ... think um ... maybe we could ... cache it ... if I am ... sure";
  c.say(hesitant, true, 0.35, 0.6);
  EXPECT_EQ(f.toneEvents(), 1u);
  f.host.advance(20s);
  c.say(hesitant, true, 0.35, 0.6);
  EXPECT_EQ(f.toneEvents(), 1u) << "one per question at intensity 1";
  EXPECT_EQ(f.events("pressure_spike_event")[0]["payload"]["level"].asInt(), 1);
}

}  // namespace
}  // namespace parley::assist
