// Loading real plugin libraries, including deliberately broken ones: each refusal names the file
// or plugin and what is wrong, a required failure stops start-up, an optional one is skipped.
#include <gtest/gtest.h>

#include <parley/sdk/abi.hpp>

#include "parley/sdk/abi.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"

namespace parley::test {
namespace {

const std::string kFixtures = PARLEY_FIXTURE_DIR;

struct Refusal {
  std::string load;
  std::string message;
};
void PrintTo(const Refusal& r, std::ostream* os) {
  *os << "plugins.load=" << r.load;
}

class BrokenPlugin : public ::testing::TestWithParam<Refusal> {};

TEST_P(BrokenPlugin, RequiredStopsStartupWithPreciseMessage) {
  RunResult r = runParleyd(fixtureArgs(GetParam().load, {"-D", "http.port=0"}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(GetParam().message), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("listening on"), std::string::npos) << "it must not serve";
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, BrokenPlugin,
    ::testing::Values(
        Refusal{"abi_major",
                kFixtures + "/abi_major.so: ABI sdk_major mismatch: expected 1, found 2"},
        Refusal{"abi_minor", kFixtures + "/abi_minor.so: ABI sdk_minor too new: expected at most " +
                                 std::to_string(PARLEY_SDK_VERSION_MINOR) + ", found " +
                                 std::to_string(PARLEY_SDK_VERSION_MINOR + 1)},
        Refusal{"abi_toolchain",
                kFixtures + "/abi_toolchain.so: ABI toolchain mismatch: expected '" +
                    std::string(sdk::currentAbiRecord().toolchain) + "', found 'msvc-19/msvcprt'"},
        Refusal{"abi_static_init",
                kFixtures + "/abi_static_init.so: ABI sdk_major mismatch: expected 1, found 2"},
        Refusal{"no_factory", kFixtures + "/no_factory.so: no parley_plugin_factory symbol"},
        Refusal{
            "factory_throws",
            "plugin 'factory_throws' create: the factory threw: cannot construct factory_throws"},
        Refusal{"start_throws", "plugin 'start_throws' start: threw: start_throws cannot start"},
        Refusal{"fixture_ok,dup_metric",
                "plugin 'dup_metric' start: threw: metric 'fixture_events' registered by "
                "'dup_metric' is already registered by 'fixture_ok'"},
        Refusal{"cycle_a,cycle_b", "plugin dependency cycle: cycle_a -> cycle_b -> cycle_a"},
        Refusal{"needs_missing",
                "plugin 'needs_missing' depends on 'not_loaded', which is not in plugins.load"},
        Refusal{"wrong_id", "wrong_id.so describes itself as 'impostor', not 'wrong_id'"},
        Refusal{"absent", kFixtures + "/absent.so: cannot load"},
        Refusal{"fixture_ok,fixture_ok", "plugins.load: 'fixture_ok' is listed twice"}),
    [](const auto& info) {
      std::string name = info.param.load;
      for (char& c : name)
        if (c == ',') c = '_';
      return name;
    });

TEST(Plugins, ARefusedPluginsStaticInitialisersNeverRun) {
  const RunResult r = runParleyd(fixtureArgs("abi_static_init"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("ABI sdk_major mismatch"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("STATIC INITIALISER RAN"), std::string::npos)
      << "the library was loaded before its record was checked:\n"
      << r.err;
}

TEST(Plugins, APluginBuiltAgainstSdk11StillLoads) {
  Parleyd p(fixtureArgs("legacy_v11"));
  auto r = get(p.port(), "/legacy");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"sdk\":\"1.1\"}");
}

TEST(Plugins, OptionalFailureIsSkippedAndReportedInReadyz) {
  Parleyd p(fixtureArgs("fixture_ok,abi_major,start_throws",
                        {"-D", "plugins.optional=abi_major,start_throws"}));
  auto ready = get(p.port(), "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_NE(ready.body.find("\"id\":\"abi_major\",\"state\":\"skipped\""), std::string::npos)
      << ready.body;
  EXPECT_NE(ready.body.find("ABI sdk_major mismatch"), std::string::npos) << ready.body;
  // The log line (stderr) can arrive after "listening on" (stdout): wait for it.
  EXPECT_TRUE(p.waitForErr("optional plugin 'start_throws' skipped", std::chrono::seconds(5)))
      << p.err();
  // What start_throws registered before throwing was revoked with it.
  EXPECT_EQ(get(p.port(), "/start_throws").status, 404);
  EXPECT_EQ(get(p.port(), "/fixture/hello").status, 200);
}

TEST(Plugins, DependenciesStartFirstAndStopLast) {
  Parleyd p(fixtureArgs("fixture_dep,fixture_ok"));
  // "listening on" (stdout) can overtake the plugins' log lines (stderr): wait for the last one.
  ASSERT_TRUE(p.waitForErr("started plugin 'fixture_dep'", std::chrono::seconds(5))) << p.err();
  const std::string err = p.err();
  EXPECT_LT(err.find("started plugin 'fixture_ok'"), err.find("started plugin 'fixture_dep'"));
  // fixture_dep found fixture_ok's service, and its events reach fixture_ok's subscription.
  auto ping = http(p.port(), "POST", "/fixture/ping");
  EXPECT_EQ(ping.body, "{\"service_found\":true}");
  auto metrics = get(p.port(), "/api/system/metrics", bearer(kOperatorToken));
  EXPECT_EQ(metrics.json()->getValue<int>("fixture_events"), 1);

  EXPECT_EQ(p.terminate(), 0);
  const std::string all = p.err();
  EXPECT_LT(all.find("stopped plugin 'fixture_dep'"), all.find("stopped plugin 'fixture_ok'"));
}

TEST(Plugins, UnhealthyPluginMakesReadyzFail) {
  Parleyd p(fixtureArgs("fixture_ok", {"-D", "plugins.fixture_ok.ready=false"}));
  auto ready = get(p.port(), "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.header("Retry-After"), "1");
  EXPECT_NE(ready.body.find("configured not ready"), std::string::npos) << ready.body;
  EXPECT_EQ(get(p.port(), "/healthz").status, 200) << "alive even when not ready";
}

TEST(Plugins, CheckConfigListsPluginsAndKeys) {
  RunResult r = runParleyd(fixtureArgs("fixture_ok", {"--check-config"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("plugin fixture_ok 1.2.3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("plugins.fixture_ok.limit (default '5')"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("configuration OK"), std::string::npos);
}

TEST(Plugins, CheckConfigFailsOnRequiredPluginProblem) {
  RunResult r = runParleyd(fixtureArgs("abi_minor", {"--check-config"}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("ABI sdk_minor too new"), std::string::npos) << r.err;
}

TEST(Plugins, PluginConfigIsValidatedAgainstDeclaredKeys) {
  RunResult unknown =
      runParleyd(fixtureArgs("fixture_ok", {"-D", "plugins.fixture_ok.colour=red"}));
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("plugins.fixture_ok.colour: unknown key"), std::string::npos)
      << unknown.err;

  RunResult range = runParleyd(fixtureArgs("fixture_ok", {"-D", "plugins.fixture_ok.limit=11"}));
  EXPECT_NE(range.exit_code, 0);
  EXPECT_NE(range.err.find("plugins.fixture_ok.limit: 11 is outside the allowed range [1, 10]"),
            std::string::npos)
      << range.err;

  RunResult refused =
      runParleyd(fixtureArgs("fixture_ok", {"-D", "plugins.fixture_ok.greeting=forbidden"}));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("'forbidden' is refused by the plugin"), std::string::npos)
      << refused.err;
}

TEST(Plugins, PluginKeysComeFromTheEnvironment) {
  Parleyd p(fixtureArgs("fixture_ok"), {{"PARLEY_PLUGINS_FIXTURE_OK_GREETING", "from-env"}});
  EXPECT_EQ(get(p.port(), "/fixture/hello").body, "{\"greeting\":\"from-env\"}");
}

}  // namespace
}  // namespace parley::test
