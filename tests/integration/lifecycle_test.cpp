// Start-up on embedded defaults and a clean SIGTERM: in-flight requests finish, plugins stop in
// reverse order, and a deadline bounds how long stragglers may keep the process.
#include <gtest/gtest.h>

#include <future>
#include <regex>

#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"

namespace parley::test {
namespace {

TEST(Lifecycle, EmbeddedDefaultsPrintAWorkingOperatorToken) {
  Parleyd p({});
  std::smatch m;
  const std::string out = p.out();
  static const std::regex kToken("Authorization: Bearer ([0-9a-f]{32,})");
  ASSERT_TRUE(std::regex_search(out, m, kToken)) << out;
  EXPECT_NE(out.find("config: embedded defaults"), std::string::npos);
  EXPECT_EQ(get(p.port(), "/api/system/metrics", bearer(m[1])).status, 200);
  EXPECT_EQ(get(p.port(), "/api/system/metrics", bearer("guess")).status, 401);
}

TEST(Lifecycle, SigtermLetsInFlightRequestsFinish) {
  Parleyd p(fixtureArgs("fixture_dep,fixture_ok"));
  auto slow = std::async(std::launch::async,
                         [port = p.port()] { return get(port, "/fixture/slow?ms=1000"); });
  // SIGTERM once the request is being handled; it must still get its answer.
  ASSERT_TRUE(p.waitForErr("slow request started", std::chrono::seconds(20)));
  EXPECT_EQ(p.terminate(), 0);
  HttpResult r = slow.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"slow\":true}");
  const std::string log = p.err();
  const auto draining = log.find("stopping: draining HTTP connections");
  ASSERT_NE(draining, std::string::npos) << log;
  EXPECT_LT(draining, log.find("stopped plugin 'fixture_dep'"));
  EXPECT_LT(log.find("stopped plugin 'fixture_dep'"), log.find("stopped plugin 'fixture_ok'"));
  EXPECT_NE(log.find("Information parleyd: stopped"), std::string::npos);
}

TEST(Lifecycle, AtTheShutdownDeadlineStragglersAreClosedAndParleydExits) {
  // The docs: what is still open at shutdown.deadline_ms is closed; if a plugin's handler still
  // runs then, parleyd exits at once with status 1, naming the plugin, without stopping plugins
  // under it (nor waiting a second deadline for it).
  Parleyd p(fixtureArgs("fixture_ok", {"-D", "shutdown.deadline_ms=300"}));
  auto slow = std::async(std::launch::async, [port = p.port()] {
    try {
      return get(port, "/fixture/slow?ms=8000").status;
    } catch (const std::exception&) {
      return -1;
    }
  });
  ASSERT_TRUE(p.waitForErr("slow request started", std::chrono::seconds(20)));
  EXPECT_EQ(p.terminate(), 1) << p.err();
  EXPECT_EQ(slow.get(), -1) << "the straggler's connection is closed, without an answer";
  const std::string log = p.err();
  EXPECT_NE(log.find("shutdown deadline reached; remaining connections were closed"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("blocking work still running (plugin: fixture_ok)"), std::string::npos) << log;
  EXPECT_EQ(log.find("stopped plugin 'fixture_ok'"), std::string::npos) << log;
}

}  // namespace
}  // namespace parley::test
