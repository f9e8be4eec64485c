// The turn logic alone: Deepgram's end-of-utterance rule, turns, the question heuristic, and the
// audio clock behind the latency.
#include <gtest/gtest.h>

#include "audio_clock.hpp"
#include "turns.hpp"

namespace parley::deepgram {
namespace {

Piece piece(const std::string& text, bool is_final, bool speech_final, double from = 0) {
  Piece p;
  p.transcript = text;
  p.is_final = is_final;
  p.speech_final = speech_final;
  p.words = wordsOf(text);
  for (auto& w : p.words) {
    w.start = from;
    w.end = from += 0.3;
  }
  return p;
}

TEST(Utterances, SpeechFinalEndsTheUtteranceAndTheUtteranceEndAfterItIsIgnored) {
  Utterances u;
  EXPECT_FALSE(u.results(piece("I led the", false, false)));
  EXPECT_FALSE(u.results(piece("I led the migration", true, false)));
  auto done = u.results(piece("of our billing system", true, true));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->text, "I led the migration of our billing system");
  EXPECT_EQ(done->words.size(), 8u);
  EXPECT_FALSE(u.utteranceEnd()) << "the speech_final already ended it";
}

TEST(Utterances, AnUtteranceEndWithoutSpeechFinalEndsIt) {
  Utterances u;
  u.results(piece("we shipped it", true, false));
  u.results(piece("in two weeks", true, false));
  auto done = u.utteranceEnd();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->text, "we shipped it in two weeks");
  EXPECT_FALSE(u.utteranceEnd()) << "nothing left";
}

TEST(Utterances, CaptionsShowTheUtteranceSoFarAndTheInterim) {
  Utterances u;
  u.results(piece("first part", true, false));
  EXPECT_EQ(u.caption(piece("and more", false, false)), "first part and more");
}

TEST(Utterances, ReadsDeepgramResults) {
  sdk::json::Value m;
  ASSERT_TRUE(sdk::json::parse(
      R"({"type":"Results","is_final":true,"speech_final":false,"channel":{"alternatives":[)"
      R"({"transcript":"Um, yes","confidence":0.9,"words":[{"word":"um","start":0.1,"end":0.2,)"
      R"("confidence":0.8,"punctuated_word":"Um,"},{"word":"yes","start":0.3,"end":0.5,)"
      R"("confidence":0.99,"punctuated_word":"yes"}]}]},"extra":{"ignored":true}})",
      m));
  auto p = readResults(m);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->transcript, "Um, yes");
  ASSERT_EQ(p->words.size(), 2u);
  EXPECT_EQ(p->words[0].word, "um");
  EXPECT_EQ(p->words[0].punctuated, "Um,");
  EXPECT_DOUBLE_EQ(p->words[1].end, 0.5);
  EXPECT_TRUE(p->is_final);
  sdk::json::Value other;
  sdk::json::parse(R"({"type":"Metadata"})", other);
  EXPECT_FALSE(readResults(other));
}

TEST(Turns, ATurnCountsWordsFillersConfidenceAndRate) {
  TurnBuilder b(4, &fillerWords());
  Utterance u{"um I led the uh migration", wordsOf("um I led the uh migration")};
  for (std::size_t i = 0; i < u.words.size(); ++i) {
    u.words[i].start = 1.0 + 0.5 * static_cast<double>(i);
    u.words[i].end = u.words[i].start + 0.4;
    u.words[i].confidence = 0.5;
  }
  b.add(u);
  ASSERT_TRUE(b.ready());
  Turn t = b.take(99);
  EXPECT_EQ(t.index, 1u);
  EXPECT_EQ(t.fillers, 2u);
  EXPECT_DOUBLE_EQ(t.confidence, 0.5);
  EXPECT_DOUBLE_EQ(t.audio_start, 1.0);
  EXPECT_DOUBLE_EQ(t.duration_s, 2.9);  // from the first word's start to the last word's end
  EXPECT_NEAR(t.speaking_rate_wpm, 6 * 60 / 2.9, 1e-9);
  EXPECT_TRUE(b.empty());
}

TEST(Turns, ShortUtterancesWaitForMoreWordsInsteadOfBeingDropped) {
  TurnBuilder b(4, &fillerWords());
  b.add({"Yes.", {}});
  EXPECT_FALSE(b.ready());
  b.add({"I did it myself.", {}});
  ASSERT_TRUE(b.ready());
  Turn t = b.take(2.0);
  EXPECT_EQ(t.text, "Yes. I did it myself.");
  EXPECT_DOUBLE_EQ(t.duration_s, 2.0) << "text mode: the wall time stands in";
  EXPECT_DOUBLE_EQ(t.speaking_rate_wpm, 5 * 60 / 2.0);
}

TEST(Turns, TheSummaryAddsTurnsUp) {
  Summary s;
  Turn a;
  a.words = wordsOf("one two three four");
  a.fillers = 1;
  a.duration_s = 2;
  s.add(a);
  s.add(a);
  s.latency_ms_total = 300;
  s.latency_samples = 2;
  auto j = s.json();
  EXPECT_EQ(j["turns"].asInt(), 2);
  EXPECT_EQ(j["words"].asInt(), 8);
  EXPECT_EQ(j["fillers"].asInt(), 2);
  EXPECT_DOUBLE_EQ(j["speaking_rate_wpm"].asNumber(), 120.0);
  EXPECT_DOUBLE_EQ(j["avg_latency_ms"].asNumber(), 150.0);
}

TEST(Questions, WhatReadsAsAnInterviewQuestion) {
  for (const char* q : {"Tell me about a time you failed.", "How would you design a cache",
                        "Why did you leave?", "walk me through your last project", "Is that all?"})
    EXPECT_TRUE(readsAsQuestion(q)) << q;
  for (const char* s : {"Okay.", "That sounds good", "Thanks, next one", "I see"})
    EXPECT_FALSE(readsAsQuestion(s)) << s;
}

TEST(AudioClock, MapsAudioSecondsToWhenTheirFrameArrived) {
  using Clock = AudioClock::Clock;
  AudioClock clock(32000);  // 16 kHz, 16-bit
  const Clock::time_point t0{std::chrono::seconds(100)};
  for (int i = 0; i < 10; ++i)  // 100 ms frames, arriving 100 ms apart
    clock.forwarded(3200, t0 + std::chrono::milliseconds(100 * i));
  EXPECT_EQ(*clock.receivedAt(0.05), t0);
  EXPECT_EQ(*clock.receivedAt(0.25), t0 + std::chrono::milliseconds(200));
  EXPECT_EQ(*clock.receivedAt(5.0), t0 + std::chrono::milliseconds(900)) << "past the end: last";
  clock.restart();
  EXPECT_FALSE(clock.receivedAt(0.1)) << "a new stream starts at zero";
}

}  // namespace
}  // namespace parley::deepgram
