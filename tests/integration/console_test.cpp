// The web console, end to end: parleyd on its embedded defaults serves the pages, and Debian's
// Chromium, driven by tests/browser/console_check.js (playwright-core), uses them as people
// would: an interviewer and a candidate in one room, a read-only viewer, the dashboard.
#include <gtest/gtest.h>
#include <parley/sdk/json.hpp>

#include <cmath>
#include <filesystem>
#include <regex>

#include "tests/support/fakes.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"
#include "tests/support/speech.hpp"

namespace parley::test {
namespace {

namespace json = sdk::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The link parleyd prints at start-up on its embedded defaults.
std::string consoleLink(const Parleyd& p) {
  static const std::regex kLink("Open the console: (http://\\S+/#token=[0-9a-f]+)");
  std::smatch m;
  waitFor([&] { return std::regex_search(p.out(), kLink); }, milliseconds(5000));
  const std::string out = p.out();
  return std::regex_search(out, m, kLink) ? m[1].str() : std::string();
}

TEST(Console, ServesItsFilesWithValidatorsAndAStrictPolicy) {
  Parleyd p({});
  const HttpResult page = get(p.port(), "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<title>Parley"), std::string::npos);
  EXPECT_EQ(page.header("X-Content-Type-Options"), "nosniff");
  const std::string csp = page.header("Content-Security-Policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;

  const std::string etag = page.header("ETag");
  ASSERT_FALSE(etag.empty());
  const HttpResult again = get(p.port(), "/", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());

  const HttpResult script = get(p.port(), "/console/js/room.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(get(p.port(), "/dashboard").status, 200);
  EXPECT_EQ(get(p.port(), "/console/vendor/uplot/LICENSE").status, 200);
  const HttpResult missing = get(p.port(), "/console/nope.js");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("Content-Type"), "application/json");
  EXPECT_EQ(get(p.port(), "/console/../etc/passwd").status, 404);
}

TEST(Console, AStartUpLineCarriesTheTokenOnlyInTheFragment) {
  Parleyd p({});
  const std::string link = consoleLink(p);
  ASSERT_FALSE(link.empty()) << p.out();
  EXPECT_EQ(link.rfind("http://127.0.0.1:" + std::to_string(p.port()) + "/#token=", 0), 0u);
  // With tokens configured, it points at the console without one.
  Parleyd q({"-D", "auth.operator_tokens=operator-secret-token"});
  EXPECT_TRUE(
      waitFor([&] { return q.out().find("Console: http://127.0.0.1:") != std::string::npos; },
              milliseconds(5000)))
      << q.out();
  EXPECT_EQ(q.out().find("operator-secret-token"), std::string::npos);
}

TEST(Console, AnInterviewInTheBrowser) {
  // One state directory for both runs of parleyd, as a deployment has: share links outlive a
  // restart.
  TempDir state("console-state");
  TempDir signal("console-signal");
  const Env env = {{"STATE_DIRECTORY", state.path()}};
  // The embedded defaults, with suggestions paced slower (120 ms a chunk, not 40): on a loaded
  // machine the browser must still get its second question in while the first one streams.
  const std::vector<std::string> pace = {"-D", "plugins.answers.chunk_delay_ms=120"};
  auto p = std::make_unique<Parleyd>(pace, env);
  const std::string link = consoleLink(*p);
  ASSERT_FALSE(link.empty()) << p->out();
  const std::string token = link.substr(link.find("#token=") + 7);
  const std::string base = link.substr(0, link.find("/#token="));
  const std::uint16_t port = p->port();

  // Screenshots for docs/: PARLEY_SCREENSHOTS_DIR=docs/screenshots refreshes the README's.
  const char* shots_env = std::getenv("PARLEY_SCREENSHOTS_DIR");
  const std::string shots =
      shots_env ? shots_env : std::string(PARLEY_BINARY_DIR) + "/tests/browser/screenshots";
  std::filesystem::create_directories(shots);
  const std::string restart_file = signal.path() + "/restarted";
  Background browser({PARLEY_NODE,
                      std::string(PARLEY_BINARY_DIR) + "/tests/browser/console_check.js", "--link",
                      link, "--shots", shots, "--restart-signal", restart_file});

  // Mid-way, parleyd restarts on the same port with the same token: the pages must recover.
  if (browser.waitForOut("RESTART-NOW", milliseconds(180000))) {
    EXPECT_EQ(p->terminate(), 0);
    p = std::make_unique<Parleyd>(
        std::vector<std::string>{"-D", "http.port=" + std::to_string(port), "-D",
                                 "auth.operator_tokens=" + token, pace[0], pace[1]},
        env);
    writeFile(restart_file, "");
  }
  ASSERT_TRUE(browser.waitForOut("{\"console_errors\"", milliseconds(120000)))
      << browser.out() << browser.err();
  const std::string out = browser.out();
  json::Value seen;
  ASSERT_TRUE(json::parse(out.substr(out.rfind("{\"console_errors\"")), seen)) << out;
  ASSERT_TRUE(seen["failure"].isNull()) << seen["failure"].asString() << "\n" << browser.err();

  // The token moved from the address bar to the tab's sessionStorage.
  EXPECT_EQ(seen["address_after_link"].asString(), base + "/");
  EXPECT_EQ(seen["token_in_session_storage"].asString(), token);
  EXPECT_EQ(seen["candidate_room"].asString(), seen["room"].asString());
  EXPECT_EQ(seen["candidate_mic_note"].asString().empty(), false);

  // The candidate typed an answer; the interviewer saw it as a turn.
  EXPECT_EQ(seen["interviewer_transcript"].asString(),
            "Candidate: I led the migration of our billing service and cut the deploy time in "
            "half");

  // Both saw the first suggestion stream to completion; the second was cancelled by the third.
  for (const char* who : {"interviewer", "candidate"}) {
    const std::string w = who;
    EXPECT_EQ(seen["q1_" + w]["state"].asString(), "completed") << who;
    EXPECT_GT(seen["q1_" + w]["text"].asString().size(), 50u) << who;
    EXPECT_EQ(seen["q2_" + w]["state"].asString(), "cancelled") << who;
    EXPECT_EQ(seen["q3_" + w]["state"].asString(), "completed") << who;
  }
  EXPECT_EQ(seen["q1_interviewer"]["text"].asString(), seen["q1_candidate"]["text"].asString());

  // The read-only link: the secret left the address bar; the viewer is in the room, cannot ask.
  EXPECT_TRUE(seen["share_link_has_token"].asBool());
  EXPECT_EQ(seen["viewer_address"].asString(), base + "/");
  EXPECT_EQ(seen["viewer_room"].asString(), seen["room"].asString());
  EXPECT_EQ(seen["viewer_question"].asString(),
            "What is the hardest bug you have fixed and how did you find it");
  EXPECT_TRUE(seen["viewer_ask_disabled"].asBool());
  EXPECT_EQ(seen["viewer_refusal"].asString().rfind("Refused:", 0), 0u);
  EXPECT_NE(seen["viewer_refusal"].asString().find("forbidden"), std::string::npos);

  // The dashboard: four charts with their series drawn; the server's connection count.
  const json::Value& pixels = seen["dashboard_chart_pixels"];
  ASSERT_EQ(pixels.size(), 4u);
  for (std::size_t i = 0; i < pixels.size(); ++i)
    EXPECT_GT(pixels[i].asInt(), 100) << "chart " << i;
  EXPECT_EQ(seen["dashboard_connections"].asInt(), 3);  // interviewer, candidate, viewer
  EXPECT_EQ(seen["dashboard_connections"].asInt(), seen["metrics_connections"].asInt());
  EXPECT_EQ(seen["dashboard_plugins"].asInt(), 6);
  EXPECT_EQ(seen["dashboard_ready"].asString(), "ready");

  // After the restart: the dashboard said so, and every page reconnected to its room.
  EXPECT_NE(seen["restart_notice"].asString().find("restarted"), std::string::npos);
  for (const char* who : {"interviewer", "candidate", "viewer"})
    EXPECT_EQ(seen[std::string(who) + "_room_after_restart"].asString(), seen["room"].asString())
        << who;
  EXPECT_EQ(seen["dashboard_connections_after_restart"].asInt(), 3);
  EXPECT_EQ(seen["q4_candidate"]["state"].asString(), "completed");
  // The dashboard's last-minute average, from the raw pairs of two snapshots, over the one stream
  // since the restart: the since-start average, to its last digit. The pair's total is printed
  // with two more digits than the average and rounded again in the page, so the last digit may
  // differ by one (1.807 against 1.808 for a total of 1.80750).
  const json::Value& averages = seen["stream_duration_averages"];
  ASSERT_EQ(averages.size(), 2u);
  const std::string windowed(averages[0].asString()), since_start(averages[1].asString());
  ASSERT_NE(windowed, "—");
  ASSERT_NE(since_start.find('.'), std::string::npos) << since_start;
  const double last_digit =
      std::pow(10.0, -static_cast<double>(since_start.size() - since_start.find('.') - 1));
  EXPECT_NEAR(std::stod(windowed), std::stod(since_start), 1.01 * last_digit)
      << windowed << " against " << since_start;

  // No credential ever travelled in a URL (which access logs keep): they ride in subprotocols.
  ASSERT_GT(seen["websocket_urls"].size(), 3u);
  for (std::size_t i = 0; i < seen["websocket_urls"].size(); ++i) {
    const std::string url(seen["websocket_urls"][i].asString());
    EXPECT_EQ(url.find(token), std::string::npos) << url;
    EXPECT_EQ(url.find("share="), std::string::npos) << url;
    EXPECT_EQ(url.find("token="), std::string::npos) << url;
  }

  // Each console error or CSP violation is listed in the output.
  EXPECT_EQ(seen["console_errors"].size(), 0u) << out;
  EXPECT_EQ(seen["csp_violations"].size(), 0u) << out;
  for (const char* shot : {"console-room.png", "console-viewer.png", "console-dashboard.png",
                           "console-candidate-phone.png"})
    EXPECT_TRUE(std::filesystem::exists(shots + "/" + shot)) << shot;
}

TEST(Console, TheCandidatesMicrophoneStreamsAs16kHzPcmInDeepgramMode) {
  TempDir dir("console-deepgram");
  const std::string script = dir.path() + "/script.json";
  writeFile(script, deepgramScript({"we cut the deploy time in half last year"}));
  FakeServer deepgram("deepgram_fake.py", {"--api-key", "test-key", "--script", script});
  const std::string token = "console-operator-token";
  Parleyd p(
      {"-D", "auth.operator_tokens=" + token, "-D", "plugins.deepgram.api_key=test-key", "-D",
       "plugins.deepgram.url=ws://127.0.0.1:" + std::to_string(deepgram.port()) + "/v1/listen",
       "-D", "plugins.deepgram.silence_ms=300"});
  const std::string link = "http://127.0.0.1:" + std::to_string(p.port()) + "/#token=" + token;
  const RunResult run =
      runCommand({PARLEY_NODE, std::string(PARLEY_BINARY_DIR) + "/tests/browser/console_check.js",
                  "--link", link, "--scenario", "microphone"},
                 {}, seconds(120));
  json::Value seen;
  ASSERT_TRUE(json::parse(run.out.substr(run.out.rfind("{\"console_errors\"")), seen)) << run.out;
  ASSERT_TRUE(seen["failure"].isNull()) << seen["failure"].asString() << "\n" << run.err;

  EXPECT_NE(seen["candidate_mic_note"].asString().find("server"), std::string::npos);
  EXPECT_EQ(seen["mic_pressed"].asString(), "true");
  EXPECT_EQ(seen["mic_released"].asString(), "false");
  // The fake Deepgram heard the script only because audio came in at the real-time rate.
  EXPECT_EQ(seen["interviewer_transcript"].asString(),
            "Candidate: we cut the deploy time in half last year");

  // What reached Deepgram: 40 ms frames of 16-bit PCM at 16 kHz (32,000 bytes a second).
  std::vector<json::Value> audio = deepgram.events("audio");
  ASSERT_GE(audio.size(), 3u);
  const json::Value& first = audio.front();
  const json::Value* last = &audio.front();
  for (const auto& a : audio)
    if (a["monotonic"].isNumber()) last = &a;
  EXPECT_EQ(first["bytes"].asInt(), first["frames"].asInt() * 1280);
  const double seconds_between = (*last)["monotonic"].asNumber() - first["monotonic"].asNumber();
  ASSERT_GT(seconds_between, 1.0);
  const double rate = ((*last)["bytes"].asInt() - first["bytes"].asInt()) / seconds_between;
  EXPECT_NEAR(rate, 32000, 32000 * 0.15) << "bytes per second";
  EXPECT_EQ(seen["console_errors"].size(), 0u) << run.out;
  EXPECT_EQ(seen["csp_violations"].size(), 0u) << run.out;
}

}  // namespace
}  // namespace parley::test
