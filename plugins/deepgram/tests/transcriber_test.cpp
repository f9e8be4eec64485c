// The deepgram plugin on the SDK's test host: a scripted Deepgram peer, the manual clock, and a
// rooms service that records what reaches the room.
#include <gtest/gtest.h>
#include <parley/sdk/services/rooms.hpp>
#include <parley/sdk/testing/host.hpp>
#include <parley/sdk/testing/rooms.hpp>

#include <string>
#include <vector>

namespace parley_plugin_export {
parley::sdk::Plugin* create();  // the plugin, made as parleyd makes it
}

namespace parley::deepgram {
namespace {

using namespace std::chrono_literals;
using sdk::DisconnectReason;
using sdk::json::Value;
using sdk::testing::FakeSession;
using sdk::testing::ScriptedWebSocket;
using sdk::testing::TestHost;

const std::string kRoom = "0b6f0d5e-9a3c-4f5e-8d2a-1c2b3a4d5e6f";

struct Fixture {
  std::unique_ptr<sdk::Plugin> plugin{parley_plugin_export::create()};
  std::shared_ptr<sdk::testing::FakeRooms> rooms = std::make_shared<sdk::testing::FakeRooms>(kRoom);
  TestHost host;
  explicit Fixture(std::map<std::string, std::string> config) : host(*plugin, std::move(config)) {
    host.offer<sdk::RoomsService>(sdk::kRoomsService, rooms);
    host.start();
  }
};

std::map<std::string, std::string> deepgram(std::map<std::string, std::string> extra = {}) {
  extra.emplace("api_key", "secret-key");
  extra.emplace("url", "wss://dg.example/v1/listen");
  extra.emplace("silence_ms", "800");
  return extra;
}

std::string frame(std::size_t bytes = 3200) {
  return std::string(bytes, '\0');
}

std::string results(const std::vector<std::pair<std::string, double>>& words, bool is_final,
                    bool speech_final) {
  sdk::json::Writer w;
  std::string text;
  w.beginObject().field("type", "Results").field("is_final", is_final);
  w.field("speech_final", speech_final).key("channel").beginObject().key("alternatives");
  w.beginArray().beginObject();
  for (const auto& [word, start] : words) text += (text.empty() ? "" : " ") + word;
  w.field("transcript", text).field("confidence", 0.9).key("words").beginArray();
  for (const auto& [word, start] : words) {
    w.beginObject().field("word", word).field("punctuated_word", word).field("start", start);
    w.field("end", start + 0.25).field("confidence", 0.9).endObject();
  }
  w.endArray().endObject().endArray().endObject();
  return w.endObject().take();
}

// ---- Text mode --------------------------------------------------------------------------------

TEST(TextMode, PartialsCaptionTheRoomAndAFinalPlusSilenceIsATurn) {
  Fixture f({});  // no API key: text mode
  FakeSession& candidate = f.host.connect({{"room_id", kRoom}});
  candidate.receive(R"({"type":"candidate_transcript","text":"I led the","is_final":false})");
  ASSERT_EQ(f.rooms->ofType("partial_transcript").size(), 1u);
  EXPECT_EQ(f.rooms->ofType("partial_transcript")[0]["text"].asString(), "I led the");

  candidate.receive(
      R"({"type":"candidate_transcript","text":"I led the migration, um, myself","is_final":true})");
  EXPECT_TRUE(f.rooms->ofType("transcript").empty()) << "the silence window has not passed";
  f.host.advance(799ms);
  EXPECT_TRUE(f.rooms->ofType("transcript").empty());
  f.host.advance(1ms);
  auto transcripts = f.rooms->ofType("transcript");
  ASSERT_EQ(transcripts.size(), 1u);
  EXPECT_EQ(transcripts[0]["text"].asString(), "I led the migration, um, myself");
  EXPECT_EQ(f.rooms->ofType("partial_transcript")[0]["participant"].asString(), "candidate");
  EXPECT_EQ(transcripts[0]["room_id"].asString(), kRoom);

  auto turns = f.host.published("turn.finalized");
  ASSERT_EQ(turns.size(), 1u);
  Value turn;
  sdk::json::parse(turns[0].json, turn);
  EXPECT_EQ(turn["word_count"].asInt(), 6);
  EXPECT_EQ(turn["filler_count"].asInt(), 1);
  EXPECT_EQ(turn["turn_index"].asInt(), 1);
  EXPECT_NEAR(turn["latency_ms"].asNumber(), 800, 1) << "final received -> transcript handed over";
  EXPECT_EQ(f.host.value("turns_finalized"), 1);
  EXPECT_EQ(f.host.average("avg_latency_ms").count, 1u);
}

TEST(TextMode, SpeechWithinTheSilenceWindowKeepsTheTurnOpen) {
  Fixture f({});
  FakeSession& candidate = f.host.connect({{"room_id", kRoom}});
  candidate.receive(R"({"type":"candidate_transcript","text":"Short one","is_final":true})");
  EXPECT_TRUE(f.host.published("turn.pending").empty()) << "too few words for a turn";
  candidate.receive(R"({"type":"candidate_transcript","text":"First I measured","is_final":true})");
  ASSERT_EQ(f.host.published("turn.pending").size(), 1u) << "enough words: the turn may end";
  f.host.advance(500ms);
  candidate.receive(R"({"type":"candidate_transcript","text":"then","is_final":false})");
  f.host.advance(500ms);
  EXPECT_TRUE(f.rooms->ofType("transcript").empty());
  candidate.receive(R"({"type":"candidate_transcript","text":"then I fixed it","is_final":true})");
  f.host.advance(800ms);
  auto t = f.rooms->ofType("transcript");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0]["text"].asString(), "Short one First I measured then I fixed it");
  EXPECT_EQ(f.host.published("turn.pending").size(), 2u);
  EXPECT_EQ(f.host.published("transcript.speech_started").size(), 3u)
      << "one per utterance: the last one resumed the turn within its window";
}

TEST(TextMode, TheTurnLimitSendsTheSummaryAndEndsTheSession) {
  Fixture f(std::map<std::string, std::string>{{"max_turns", "2"}});
  FakeSession& candidate = f.host.connect({{"room_id", kRoom}});
  for (int i = 0; i < 2; ++i) {
    candidate.receive(
        R"({"type":"candidate_transcript","text":"this is a full answer","is_final":true})");
    f.host.advance(1s);
  }
  ASSERT_EQ(f.rooms->ofType("summary_started").size(), 1u);
  auto summary = f.rooms->ofType("final_summary");
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0]["data"]["turns"].asInt(), 2);
  EXPECT_EQ(summary[0]["data"]["words"].asInt(), 10);
  EXPECT_EQ(candidate.closedWith(), DisconnectReason::kMaxTurnsReached);
}

TEST(TextMode, OnlyTheCandidateSendsTranscripts) {
  Fixture f({});
  FakeSession& interviewer = f.host.connect({{"room_id", kRoom}, {"participant", "interviewer"}});
  interviewer.receive(R"({"type":"candidate_transcript","text":"sneaky","is_final":true})");
  ASSERT_EQ(interviewer.sent("error").size(), 1u);
  EXPECT_EQ(interviewer.sent("error")[0]["code"].asString(), "forbidden");
  EXPECT_TRUE(interviewer.open());
}

// ---- Deepgram mode ----------------------------------------------------------------------------

TEST(DeepgramMode, AudioOpensAStreamWithTheKeyAndTheQueryAndGoesUpstream) {
  Fixture f(deepgram());
  FakeSession& candidate = f.host.connect({{"room_id", kRoom}});
  EXPECT_TRUE(f.host.webSockets().empty()) << "nothing before the audio starts";
  candidate.receiveBinary(frame(100));  // under 320 bytes: ignored
  EXPECT_TRUE(f.host.webSockets().empty());
  candidate.receiveBinary(frame());
  candidate.receiveBinary(frame());
  ASSERT_EQ(f.host.webSockets().size(), 1u);
  ScriptedWebSocket dg = f.host.webSockets()[0];
  const auto& req = dg.request();
  EXPECT_EQ(req.headers, (sdk::Fields{{"Authorization", "Token secret-key"}}));
  for (const char* part : {"model=nova-3", "encoding=linear16", "sample_rate=16000",
                           "interim_results=true", "utterance_end_ms=1000", "filler_words=true"})
    EXPECT_NE(req.url.find(part), std::string::npos) << req.url;
  EXPECT_EQ(dg.binaryBytesReceived(), 0u) << "held until the stream opens";
  dg.accept({{"dg-request-id", "abc"}});
  EXPECT_EQ(dg.binaryBytesReceived(), 6400u);
  candidate.receiveBinary(frame());
  EXPECT_EQ(dg.binaryFramesReceived(), 3u);
  EXPECT_EQ(f.host.value("deepgram_streams_open"), 1);
}

TEST(DeepgramMode, ResultsBecomeCaptionsATurnAndALatencyFromTheLastWordsAudio) {
  Fixture f(deepgram());
  FakeSession& candidate = f.host.connect({{"room_id", kRoom}});
  candidate.receiveBinary(frame());
  ScriptedWebSocket dg = f.host.webSockets()[0];
  dg.accept();
  // 2 s of audio, a frame every 100 ms; the last word ends at 1.85 s of audio.
  for (int i = 0; i < 19; ++i) {
    f.host.advance(100ms);
    candidate.receiveBinary(frame());
  }
  dg.sendText(results({{"i", 0.2}, {"led", 0.5}}, false, false));
  ASSERT_EQ(f.rooms->ofType("partial_transcript").size(), 1u);
  EXPECT_EQ(f.rooms->ofType("partial_transcript")[0]["text"].asString(), "i led");
  f.host.advance(300ms);  // Deepgram's endpointing
  dg.sendText(results({{"i", 0.2}, {"led", 0.5}, {"the", 0.9}, {"migration", 1.6}}, true, true));
  f.host.advance(800ms);  // the silence window
  ASSERT_EQ(f.rooms->ofType("transcript").size(), 1u);
  EXPECT_EQ(f.rooms->ofType("transcript")[0]["text"].asString(), "i led the migration");
  // The audio holding 1.85 s arrived with the 19th frame (t = 1.8 s); the transcript left at
  // t = 1.9 + 0.3 + 0.8 = 3.0 s.
  const auto avg = f.host.average("avg_latency_ms");
  ASSERT_EQ(avg.count, 1u);
  EXPECT_NEAR(avg.sum, 1200.0, 1.0);
  dg.sendText(R"({"type":"UtteranceEnd","channel":[0,1],"last_word_end":1.85})");
  EXPECT_EQ(f.rooms->ofType("transcript").size(), 1u) << "an UtteranceEnd after speech_final";
}

TEST(DeepgramMode, AnUtteranceEndWithoutSpeechFinalEndsTheUtterance) {
  Fixture f(deepgram());
  FakeSession& candidate = f.host.connect({{"room_id", kRoom}});
  candidate.receiveBinary(frame());
  ScriptedWebSocket dg = f.host.webSockets()[0];
  dg.accept();
  dg.sendText(results({{"we", 0.1}, {"shipped", 0.3}}, true, false));
  dg.sendText(results({{"it", 0.6}, {"on", 0.8}, {"time", 1.0}}, true, false));
  f.host.advance(2s);
  EXPECT_TRUE(f.rooms->ofType("transcript").empty()) << "no end of utterance yet";
  dg.sendText(R"({"type":"UtteranceEnd","channel":[0,1],"last_word_end":1.25})");
  f.host.advance(800ms);
  ASSERT_EQ(f.rooms->ofType("transcript").size(), 1u);
  EXPECT_EQ(f.rooms->ofType("transcript")[0]["text"].asString(), "we shipped it on time");
}

TEST(DeepgramMode, KeepAliveWhileNoAudioFlows) {
  Fixture f(deepgram({{"keepalive_ms", "4000"}}));
  FakeSession& candidate = f.host.connect({{"room_id", kRoom}});
  candidate.receiveBinary(frame());
  ScriptedWebSocket dg = f.host.webSockets()[0];
  dg.accept();
  for (int i = 0; i < 30; ++i) {  // 3 s of audio: no KeepAlive needed
    f.host.advance(100ms);
    candidate.receiveBinary(frame());
  }
  EXPECT_TRUE(dg.textsReceived().empty());
  f.host.advance(9s);
  ASSERT_FALSE(dg.textsReceived().empty());
  EXPECT_EQ(dg.textsReceived()[0], R"({"type":"KeepAlive"})");
}

TEST(DeepgramMode, TheSessionEndingFinalizesAndClosesTheStream) {
  Fixture f(deepgram());
  FakeSession& candidate = f.host.connect({{"room_id", kRoom}});
  candidate.receiveBinary(frame());
  ScriptedWebSocket dg = f.host.webSockets()[0];
  dg.accept();
  dg.sendText(results({{"almost", 0.1}, {"done", 0.4}, {"with", 0.6}, {"this", 0.8}}, true, false));
  candidate.receive(R"({"type":"stop"})");
  EXPECT_EQ(dg.textsReceived(),
            (std::vector<std::string>{R"({"type":"Finalize"})", R"({"type":"CloseStream"})"}));
  EXPECT_TRUE(dg.dropped()) << "the socket goes with the session";
  ASSERT_EQ(f.rooms->ofType("transcript").size(), 1u) << "what was said still makes the turn";
  EXPECT_EQ(candidate.closedWith(), DisconnectReason::kStopCommand);
}

TEST(DeepgramMode, ASlowDeepgramPausesTheClientsReadsUntilItCatchesUp) {
  Fixture f(deepgram({{"max_queued_audio_bytes", "65536"}}));
  FakeSession& candidate = f.host.connect({{"room_id", kRoom}});
  candidate.receiveBinary(frame());
  ScriptedWebSocket dg = f.host.webSockets()[0];
  dg.accept();
  dg.setQueuedBytes(70000);
  candidate.receiveBinary(frame());
  EXPECT_TRUE(candidate.paused());
  dg.drained();
  EXPECT_FALSE(candidate.paused());
  EXPECT_EQ(dg.binaryFramesReceived(), 2u) << "nothing dropped";
}

TEST(DeepgramMode, AudioHeldWhileConnectingIsBoundedByPausingReads) {
  Fixture f(deepgram({{"max_queued_audio_bytes", "8192"}}));
  FakeSession& candidate = f.host.connect({{"room_id", kRoom}});
  for (int i = 0; i < 3; ++i) candidate.receiveBinary(frame());
  EXPECT_TRUE(candidate.paused()) << "9600 bytes held, past the bound";
  f.host.webSockets()[0].accept();
  EXPECT_EQ(f.host.webSockets()[0].binaryBytesReceived(), 9600u);
  EXPECT_FALSE(candidate.paused());
}

TEST(DeepgramMode, AHandshakeRefusalIsNotRetried) {
  for (int status : {400, 401, 402, 403}) {
    Fixture f(deepgram());
    FakeSession& candidate = f.host.connect({{"room_id", kRoom}});
    candidate.receiveBinary(frame());
    f.host.webSockets()[0].refuse(
        status, R"({"err_code":"INVALID_AUTH","err_msg":"Invalid credentials."})");
    ASSERT_EQ(candidate.sent("stt_warning").size(), 1u) << status;
    EXPECT_EQ(candidate.sent("stt_warning")[0]["code"].asString(), "deepgram_refused");
    EXPECT_EQ(candidate.closedWith(), DisconnectReason::kDeepgramError) << status;
    f.host.advance(10s);
    EXPECT_EQ(f.host.webSockets().size(), 1u) << "never retried";
  }
}

TEST(DeepgramMode, OverloadAndServerErrorsAreRetriedWithinTheBudget) {
  Fixture f(deepgram({{"retry_budget", "2"}, {"retry_backoff_ms", "100"}}));
  FakeSession& candidate = f.host.connect({{"room_id", kRoom}});
  candidate.receiveBinary(frame());
  f.host.webSockets()[0].refuse(429);
  ASSERT_EQ(candidate.sent("stt_warning").size(), 1u);
  EXPECT_EQ(candidate.sent("stt_warning")[0]["code"].asString(), "deepgram_reconnecting");
  EXPECT_TRUE(candidate.open());
  f.host.advance(1s);
  ASSERT_EQ(f.host.webSockets().size(), 2u);
  f.host.webSockets()[1].accept();
  f.host.webSockets()[1].close(1011, "NET-0000: internal error");
  f.host.advance(1s);
  ASSERT_EQ(f.host.webSockets().size(), 3u);
  f.host.webSockets()[2].refuse(503);
  EXPECT_EQ(candidate.closedWith(), DisconnectReason::kDeepgramError) << "the budget is spent";
  EXPECT_EQ(candidate.sent("stt_warning").back()["code"].asString(), "deepgram_unavailable");
  EXPECT_EQ(f.host.value("deepgram_reconnects"), 2);
}

TEST(DeepgramMode, UndecodableAudioEndsTheSessionWithAClearWarning) {
  Fixture f(deepgram());
  FakeSession& candidate = f.host.connect({{"room_id", kRoom}});
  candidate.receiveBinary(frame());
  f.host.webSockets()[0].accept();
  f.host.webSockets()[0].close(1008, "DATA-0000: The payload cannot be decoded as audio.");
  ASSERT_FALSE(candidate.sent("stt_warning").empty());
  EXPECT_EQ(candidate.sent("stt_warning").back()["code"].asString(), "deepgram_audio_rejected");
  EXPECT_NE(candidate.sent("stt_warning").back()["message"].asString().find("16-bit"),
            std::string::npos);
  EXPECT_EQ(candidate.closedWith(), DisconnectReason::kDeepgramError);
}

TEST(DeepgramMode, AudioThatIsNotPcmIsAReceiveAudioError) {
  Fixture f(deepgram());
  FakeSession& candidate = f.host.connect({{"room_id", kRoom}});
  candidate.receiveBinary(frame(3201));
  EXPECT_EQ(candidate.closedWith(), DisconnectReason::kReceiveAudioError);
  EXPECT_EQ(candidate.sent("error")[0]["code"].asString(), "invalid_audio");
}

TEST(DeepgramMode, AnInterviewersSpokenQuestionIsAskedInTheRoom) {
  Fixture f(deepgram());
  FakeSession& interviewer = f.host.connect({{"room_id", kRoom}, {"participant", "interviewer"}});
  interviewer.receiveBinary(frame());
  ScriptedWebSocket dg = f.host.webSockets()[0];
  dg.accept();
  dg.sendText(results({{"okay", 0.1}, {"thanks", 0.4}}, true, true));
  dg.sendText(results({{"tell", 1.0}, {"me", 1.2}, {"about", 1.4}, {"your", 1.6}, {"team", 1.8}},
                      true, true));
  EXPECT_EQ(f.rooms->asked, std::vector<std::string>{"tell me about your team"});
  f.host.advance(5s);
  EXPECT_TRUE(f.rooms->ofType("transcript").empty()) << "an interviewer makes no turns";
}

TEST(DeepgramMode, ViewersOpenNoStreamAndSendNoTranscripts) {
  Fixture f(deepgram());
  FakeSession& viewer = f.host.connect({{"room_id", kRoom}, {"participant", "viewer"}});
  viewer.receiveBinary(frame());
  EXPECT_TRUE(f.host.webSockets().empty()) << "no Deepgram stream for a viewer";
  viewer.receive(R"({"type":"candidate_transcript","text":"hello there","is_final":true})");
  auto errors = viewer.sent("error");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["code"].asString(), "forbidden");
  EXPECT_TRUE(f.rooms->ofType("partial_transcript").empty());
}

}  // namespace
}  // namespace parley::deepgram
