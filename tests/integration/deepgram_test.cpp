// Live transcription end to end: a real parleyd with the rooms and deepgram plugins, a client
// streaming 16 kHz PCM over its websocket, and the fake Deepgram live API (tests/fakes), scripted
// with the words it "recognises". Turns, the turn limit, every failure and its disconnect bucket,
// backpressure from a slow Deepgram, TLS with the test's own CA, KeepAlive, and text mode.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <thread>

#include "tests/support/fakes.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"
#include "tests/support/speech.hpp"
#include "tests/support/ws_client.hpp"

namespace parley::test {
namespace {

using Clock = std::chrono::steady_clock;
const std::string kRoom = "3e1d2c4b-5a69-4788-9a0b-1c2d3e4f5a6b";
struct Rig {
  TempDir dir{"deepgram"};
  std::unique_ptr<FakeServer> fake;
  std::unique_ptr<Parleyd> parleyd;

  Rig(std::vector<std::string> fake_args, std::vector<std::string> parleyd_args,
      const std::vector<std::string>& utterances = {"I led the migration of our billing system",
                                                    "it took us two months and saved money",
                                                    "and then I hired two more engineers"}) {
    const std::string script_file = dir.path() + "/script.json";
    writeFile(script_file, deepgramScript(utterances));
    fake_args.insert(fake_args.end(), {"--script", script_file});
    fake = std::make_unique<FakeServer>("deepgram_fake.py", fake_args);
    const std::string scheme =
        std::find(fake_args.begin(), fake_args.end(), "--tls") != fake_args.end() ? "wss" : "ws";
    std::vector<std::string> args = {"-D",
                                     std::string("auth.operator_tokens=") + kOperatorToken,
                                     "-D",
                                     "plugins.load=rooms,deepgram",
                                     "-D",
                                     "plugins.deepgram.api_key=test-key",
                                     "-D",
                                     "plugins.deepgram.url=" + scheme + "://localhost:" +
                                         std::to_string(fake->port()) + "/v1/listen",
                                     "-D",
                                     "plugins.deepgram.silence_ms=300",
                                     "-D",
                                     "plugins.deepgram.retry_backoff_ms=50"};
    args.insert(args.end(), parleyd_args.begin(), parleyd_args.end());
    parleyd = std::make_unique<Parleyd>(args);
  }

  WsClient candidate() {
    return WsClient::connect(parleyd->port(), "/ws/voice?token=" + std::string(kOperatorToken) +
                                                  "&participant=candidate&room_id=" + kRoom);
  }

  Poco::JSON::Object::Ptr metrics() { return systemMetrics(parleyd->port()); }
  // Close handlers run after the client has its answer: wait for the counts to settle.
  Poco::JSON::Object::Ptr settled() {
    for (int i = 0; i < 250; ++i) {
      auto m = metrics();
      if (m->getValue<int>("ws_connections_active") == 0) return m;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return metrics();
  }
};

TEST(Deepgram, TurnsFromStreamedAudioThenTheTurnLimit) {
  Rig rig({}, {"-D", "plugins.deepgram.max_turns=2"});
  WsClient c = rig.candidate();
  // Three utterances of about 2.5 s each with 2 s gaps: 14 s of audio at twice real time.
  Received got;
  stream(c, got, 140, 2.0);
  readUntil(
      c, got, [&] { return got.close_code != 0; }, std::chrono::seconds(10));
  EXPECT_FALSE(got.typed("partial_transcript", "text").empty()) << "live captions";
  EXPECT_EQ(got.typed("transcript", "text"),
            (std::vector<std::string>{"I led the migration of our billing system",
                                      "it took us two months and saved money"}));
  ASSERT_EQ(got.typed("summary_started", "type").size(), 1u);
  sdk::json::Value summary;
  for (const auto& e : got.events)
    if (e["type"].asString() == "final_summary") summary = e["data"];
  EXPECT_EQ(summary["turns"].asInt(), 2);
  EXPECT_EQ(summary["words"].asInt(), 16);
  EXPECT_GT(summary["speaking_rate_wpm"].asNumber(), 100);
  EXPECT_EQ(got.close_code, 1000) << "then the session closes";

  auto m = rig.settled();
  EXPECT_EQ(m->getValue<int>("ws_disconnect_max_turns_reached"), 1);
  EXPECT_EQ(m->getValue<int>("ws_disconnects_total"), 1) << "counted once, in its bucket";
  EXPECT_EQ(m->getValue<int>("latency_samples"), 2);
  // Deepgram's endpointing (300 ms) and our silence window (300 ms) are most of it.
  EXPECT_GT(m->getValue<double>("avg_latency_ms"), 300.0);
  EXPECT_LT(m->getValue<double>("avg_latency_ms"), 5000.0);
  // The stream was told the session ended: Finalize, CloseStream.
  EXPECT_TRUE(
      rig.fake->waitFor([](const auto& e) { return e["event"].asString() == "closestream"; }));
  auto opens = rig.fake->events("open");
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0]["authorization"].asString(), "Token test-key");
  EXPECT_EQ(opens[0]["query"]["encoding"].asString(), "linear16");
}

TEST(Deepgram, ARefusedHandshakeEndsTheSessionAsDeepgramErrorWithoutRetrying) {
  Rig rig({"--api-key", "another-key"}, {});
  WsClient c = rig.candidate();
  Received got;
  stream(c, got, 5, 10.0);
  readUntil(
      c, got, [&] { return !got.typed("stt_warning", "code").empty(); }, std::chrono::seconds(10));
  EXPECT_EQ(got.typed("stt_warning", "code"), std::vector<std::string>{"deepgram_refused"});
  c.expectClose();
  auto m = rig.settled();
  EXPECT_EQ(m->getValue<int>("ws_disconnect_deepgram_error"), 1);
  EXPECT_EQ(rig.fake->events("refused").size(), 1u) << "401 is not retried";
}

TEST(Deepgram, ServerErrorsAreRetriedWithinTheBudgetThenDeepgramError) {
  Rig rig({"--fail-handshake", "503"}, {"-D", "plugins.deepgram.retry_budget=2"});
  WsClient c = rig.candidate();
  Received got;
  stream(c, got, 5, 10.0);
  readUntil(
      c, got, [&] { return got.typed("stt_warning", "code").size() >= 2; },
      std::chrono::seconds(10));
  EXPECT_EQ(got.typed("stt_warning", "code"),
            (std::vector<std::string>{"deepgram_reconnecting", "deepgram_unavailable"}));
  c.expectClose();
  EXPECT_EQ(rig.settled()->getValue<int>("ws_disconnect_deepgram_error"), 1);
  EXPECT_EQ(rig.fake->events("refused").size(), 3u) << "the first try and two retries";
}

TEST(Deepgram, UndecodableAudioIsDeepgramError) {
  Rig rig({"--undecodable"}, {});
  WsClient c = rig.candidate();
  Received got;
  stream(c, got, 5, 10.0);
  readUntil(
      c, got, [&] { return !got.typed("stt_warning", "code").empty(); }, std::chrono::seconds(10));
  EXPECT_EQ(got.typed("stt_warning", "code"), std::vector<std::string>{"deepgram_audio_rejected"});
  c.expectClose();
  EXPECT_EQ(rig.settled()->getValue<int>("ws_disconnect_deepgram_error"), 1);
}

TEST(Deepgram, ABrokenAudioStreamIsReceiveAudioError) {
  Rig rig({}, {});
  WsClient c = rig.candidate();
  c.sendFrame(ws_op::kBinary, std::string(3201, 'x'));  // not 16-bit samples
  Received got;
  readUntil(
      c, got, [&] { return !got.typed("error", "code").empty(); }, std::chrono::seconds(5));
  EXPECT_EQ(got.typed("error", "code"), std::vector<std::string>{"invalid_audio"});
  c.expectClose();
  auto m = rig.settled();
  EXPECT_EQ(m->getValue<int>("ws_disconnect_receive_audio_error"), 1);
  EXPECT_EQ(m->getValue<int>("ws_disconnects_total"), 1);
}

// /proc/<pid>/status VmRSS, in KiB.
long rssKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

TEST(Deepgram, ASlowDeepgramPausesTheClientAndMemoryStaysFlat) {
  // Deepgram reads 512 KB/s; the client offers 3 MB at once. parleyd stops reading the client
  // while Deepgram is behind, so the audio waits in the kernel's buffers, not in parleyd's memory.
  Rig rig({"--slow-read", "524288"}, {"-D", "plugins.deepgram.max_queued_audio_bytes=131072"});
  WsClient c = rig.candidate();
  c.sendFrame(ws_op::kBinary, pcmFrame(0));
  ASSERT_TRUE(rig.fake->waitFor([](const auto& e) { return e["event"].asString() == "open"; }));
  const long rss_before = rssKiB(rig.parleyd->pid());
  constexpr int kFrames = 960;  // 3 MB
  for (int i = 1; i < kFrames; ++i) ASSERT_TRUE(c.sendFrame(ws_op::kBinary, pcmFrame(i)));
  // Until all of it has reached Deepgram (nothing dropped), parleyd's memory stays where it was.
  long rss_peak = rss_before;
  auto delivered = [&] {
    for (const auto& e : rig.fake->events("audio"))
      if (e["bytes"].asInt() >= kFrames * 3200) return true;
    return false;
  };
  const auto until = Clock::now() + std::chrono::seconds(30);
  while (!delivered() && Clock::now() < until) {
    rss_peak = std::max(rss_peak, rssKiB(rig.parleyd->pid()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(delivered()) << "every byte reached Deepgram";
#ifndef PARLEY_UNDER_SANITIZER
  EXPECT_LT(rss_peak - rss_before, 2048) << rss_before << " -> " << rss_peak << " KiB";
#else
  (void)rss_peak;
#endif
  Received got;
  readUntil(
      c, got, [] { return false; }, std::chrono::milliseconds(200));
  EXPECT_TRUE(got.typed("stt_warning", "code").empty()) << "and the session carried on";
}

TEST(Deepgram, TlsWithTheTestsOwnCaIsAcceptedOnlyWhenTrusted) {
  TestCa ca("deepgram-ca");
  {
    Rig trusted({"--tls", ca.cert, ca.key}, {"-D", "upstream.tls_ca_file=" + ca.ca});
    WsClient c = trusted.candidate();
    Received got;
    stream(c, got, 40, 4.0);
    readUntil(
        c, got, [&] { return !got.typed("transcript", "text").empty(); }, std::chrono::seconds(10));
    EXPECT_EQ(got.typed("transcript", "text").size(), 1u);
    EXPECT_EQ(trusted.fake->events("open").size(), 1u);
  }
  Rig untrusted({"--tls", ca.cert, ca.key}, {"-D", "plugins.deepgram.retry_budget=0"});
  WsClient c = untrusted.candidate();
  Received got;
  stream(c, got, 5, 10.0);
  readUntil(
      c, got, [&] { return !got.typed("stt_warning", "code").empty(); }, std::chrono::seconds(10));
  const auto messages = got.typed("stt_warning", "message");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("certificate"), std::string::npos) << messages[0];
  EXPECT_TRUE(untrusted.fake->events("open").empty());
  c.expectClose();
  EXPECT_EQ(untrusted.settled()->getValue<int>("ws_disconnect_deepgram_error"), 1);
}

TEST(Deepgram, KeepAliveHoldsAQuietStreamOpen) {
  Rig rig({"--idle-timeout", "2"}, {"-D", "plugins.deepgram.keepalive_ms=700"});
  WsClient c = rig.candidate();
  Received got;
  stream(c, got, 3, 10.0);
  ASSERT_TRUE(rig.fake->waitFor([](const auto& e) { return e["event"].asString() == "open"; }));
  // Four seconds without audio: twice Deepgram's idle limit.
  readUntil(
      c, got, [] { return false; }, std::chrono::seconds(4));
  EXPECT_GE(rig.fake->events("keepalive").size(), 3u);
  EXPECT_TRUE(rig.fake->events("closed").empty()) << "Deepgram never gave up on the stream";
  EXPECT_TRUE(got.typed("stt_warning", "code").empty());
}

TEST(Deepgram, TextModeMakesTheSameTurns) {
  Parleyd p({"-D", std::string("auth.operator_tokens=") + kOperatorToken, "-D",
             "plugins.load=rooms,deepgram", "-D", "plugins.deepgram.silence_ms=300"});
  EXPECT_TRUE(p.waitForErr("text mode", std::chrono::seconds(5)));
  WsClient c = WsClient::connect(
      p.port(), "/ws/voice?token=" + std::string(kOperatorToken) + "&room_id=" + kRoom);
  c.sendText(R"({"type":"candidate_transcript","text":"I built it","is_final":false})");
  c.sendText(
      R"({"type":"candidate_transcript","text":"I built it with two colleagues","is_final":true})");
  Received got;
  readUntil(
      c, got, [&] { return !got.typed("transcript", "text").empty(); }, std::chrono::seconds(5));
  EXPECT_EQ(got.typed("partial_transcript", "text"), std::vector<std::string>{"I built it"});
  EXPECT_EQ(got.typed("transcript", "text"),
            std::vector<std::string>{"I built it with two colleagues"});
  auto m = get(p.port(), "/api/system/metrics", bearer(kOperatorToken)).json();
  EXPECT_EQ(m->getValue<int>("latency_samples"), 1);
}

}  // namespace
}  // namespace parley::test
