// Configuration as an operator meets it: errors name the key and where it came from, layers
// override in order (file < environment < -D), and the shipped file is valid.
#include <gtest/gtest.h>

#include "parley/sdk/abi.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"

namespace parley::test {
namespace {

constexpr int kExitConfig = 78;  // EX_CONFIG

TEST(Config, UnknownKeyNamesTheKeyAndTheFile) {
  TempDir dir("config");
  const std::string file = dir.path() + "/p.properties";
  writeFile(file, "http.host = 127.0.0.1\nhttp.prot = 9000\n");
  RunResult r = runParleyd({"--config", file});
  EXPECT_EQ(r.exit_code, kExitConfig);
  EXPECT_NE(r.err.find("http.prot: unknown key (from " + file + ")"), std::string::npos) << r.err;
}

TEST(Config, MalformedValueNamesTheKey) {
  TempDir dir("config");
  const std::string file = dir.path() + "/p.properties";
  writeFile(file, "workers.threads = many\n");
  RunResult r = runParleyd({"--config", file});
  EXPECT_EQ(r.exit_code, kExitConfig);
  EXPECT_NE(r.err.find("workers.threads: expected an integer, found 'many'"), std::string::npos)
      << r.err;
  RunResult range = runParleyd({"-D", "http.port=70000"});
  EXPECT_EQ(range.exit_code, kExitConfig);
  EXPECT_NE(range.err.find("http.port: 70000 is outside the allowed range [0, 65535]"),
            std::string::npos)
      << range.err;
}

TEST(Config, MissingFileAndBadArgumentsAreRefused) {
  RunResult missing = runParleyd({"--config", "/nonexistent/parleyd.properties"});
  EXPECT_EQ(missing.exit_code, kExitConfig);
  EXPECT_NE(missing.err.find("/nonexistent/parleyd.properties: no such configuration file"),
            std::string::npos);
  RunResult no_eq = runParleyd({"-D", "http.port"});
  EXPECT_NE(no_eq.exit_code, 0);
  EXPECT_NE(no_eq.err.find("expected key=value"), std::string::npos) << no_eq.err;
  RunResult unknown_option = runParleyd({"--frobnicate"});
  EXPECT_NE(unknown_option.exit_code, 0);
  EXPECT_NE(unknown_option.err.find("frobnicate"), std::string::npos) << unknown_option.err;
}

TEST(Config, SectionOfAnInstalledPluginNotLoadedIsIgnoredWithAWarning) {
  // rooms.so exists next to parleyd; the shipped configuration has a section for it.
  Parleyd p({"-D", "plugins.load=", "-D", "plugins.rooms.question_min_words=5"});
  EXPECT_TRUE(
      p.waitForErr("plugins.rooms.question_min_words is ignored: plugin 'rooms' is not in "
                   "plugins.load",
                   std::chrono::seconds(5)))
      << p.err();
}

TEST(Config, SectionOfNoPluginAtAllIsAnError) {
  RunResult r = runParleyd(fixtureArgs("", {"-D", "plugins.fanout_redis.host=localhost"}));
  EXPECT_EQ(r.exit_code, kExitConfig);
  EXPECT_NE(r.err.find("plugins.fanout_redis.host: plugin 'fanout_redis' is not in plugins.load"),
            std::string::npos)
      << r.err;
}

TEST(Config, SecretsAreNeverEchoed) {
  RunResult r = runParleyd({"-D", "auth.jwt.hs256_secret=tooshort-secret-value"});
  EXPECT_EQ(r.exit_code, kExitConfig);
  EXPECT_NE(r.err.find("32"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("tooshort-secret-value"), std::string::npos) << r.err;
}

TEST(Config, FileThenEnvironmentThenDefine) {
  TempDir dir("config");
  const std::string file = dir.path() + "/p.properties";
  writeFile(file, std::string("http.max_body_bytes = 100\nauth.operator_tokens = ") +
                      kOperatorToken + "\n");
  auto post = [](std::uint16_t port, std::size_t size) {
    return http(port, "POST", "/fixture/echo", bearer(kOperatorToken), std::string(size, 'x'))
        .status;
  };
  std::vector<std::string> base = {"--config", file,
                                   "-D",       std::string("plugins.dir=") + PARLEY_FIXTURE_DIR,
                                   "-D",       "plugins.load=fixture_ok"};
  {
    Parleyd p(base);
    EXPECT_EQ(post(p.port(), 150), 413) << "the file's limit";
  }
  {
    Parleyd p(base, {{"PARLEY_HTTP_MAX_BODY_BYTES", "200"}});
    EXPECT_EQ(post(p.port(), 150), 200) << "the environment overrides the file";
  }
  {
    auto args = base;
    args.insert(args.end(), {"-D", "http.max_body_bytes=120"});
    Parleyd p(args, {{"PARLEY_HTTP_MAX_BODY_BYTES", "200"}});
    EXPECT_EQ(post(p.port(), 150), 413) << "-D overrides the environment";
  }
}

TEST(Config, ShippedFileIsValid) {
  RunResult r = runParleyd(
      {"--config", std::string(PARLEY_SOURCE_DIR) + "/etc/parleyd.properties", "--check-config"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("configuration OK"), std::string::npos) << r.out;
}

TEST(Config, HelpAndVersion) {
  RunResult help = runParleyd({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* option : {"--config", "--check-config", "--define", "--version"})
    EXPECT_NE(help.out.find(option), std::string::npos) << option;
  RunResult version = runParleyd({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find("plugin SDK 1." + std::to_string(PARLEY_SDK_VERSION_MINOR)),
            std::string::npos)
      << version.out;
}

}  // namespace
}  // namespace parley::test
