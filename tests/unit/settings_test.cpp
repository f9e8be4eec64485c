#include "core/app/settings.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "parley/sdk/errors.hpp"

extern char** environ;

namespace parley::core {
namespace {

namespace fs = std::filesystem;

const std::string kExeDir = "/opt/parley/bin";

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Each test starts from an environment without PARLEY_* variables, gets its own directory for
// properties files, and leaves the environment as it found it.
class SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("parley-settings-" + std::to_string(::getpid()) + "-" + info->name());
    fs::create_directories(dir_);
    for (char** e = environ; e && *e; ++e) {
      const std::string entry = *e;
      const auto eq = entry.find('=');
      if (entry.rfind("PARLEY_", 0) == 0 && eq != std::string::npos)
        saved_.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
    }
    for (const auto& [name, value] : saved_) ::unsetenv(name.c_str());
  }

  void TearDown() override {
    for (const auto& name : set_) ::unsetenv(name.c_str());
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void SetEnv(const std::string& name, const std::string& value) {
    ::setenv(name.c_str(), value.c_str(), 1);
    set_.push_back(name);
  }

  std::string Write(const std::string& body, const std::string& name = "parleyd.properties") {
    const fs::path path = dir_ / name;
    std::ofstream(path) << body;
    return path.string();
  }

  // The ConfigError message loadSettings throws, or "" with a failure.
  std::string Refusal(const std::string& file, const Defines& defines = {}) {
    try {
      loadSettings(file, defines, kExeDir);
    } catch (const sdk::ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no ConfigError";
    return "";
  }

  fs::path dir_;

 private:
  std::vector<std::pair<std::string, std::string>> saved_;
  std::vector<std::string> set_;
};

TEST_F(SettingsTest, EmbeddedDefaultsWithoutAFile) {
  Settings s = loadSettings("", {}, kExeDir);
  EXPECT_EQ(s.source, "embedded defaults");
  EXPECT_EQ(s.http.host, "127.0.0.1");
  EXPECT_EQ(s.http.port, 8080);
  EXPECT_EQ(s.loop_threads, 2);
  EXPECT_EQ(s.worker_threads, 4);
  EXPECT_EQ(s.http.max_connections, 10000);
  EXPECT_EQ(s.http.max_body_bytes, 1048576);
  EXPECT_EQ(s.auth.leeway_sec, 30);
  EXPECT_TRUE(s.auth.operator_tokens.empty());
  EXPECT_TRUE(s.auth.hs256_secret.empty());
  EXPECT_EQ(s.log_level, "information");
  EXPECT_EQ(s.shutdown_deadline_ms, 10000);
  EXPECT_EQ(s.plugins_load, (std::vector<std::string>{"rooms", "deepgram", "answers", "assist",
                                                      "share_tokens", "console"}))
      << "every plugin needing no outside service";
  EXPECT_TRUE(s.plugins_optional.empty());
  EXPECT_TRUE(s.plugin_sections.empty());
  // The plugin directory is found relative to the binary.
  EXPECT_EQ(s.plugins_dir.rfind(kExeDir + "/../", 0), 0u) << s.plugins_dir;
  EXPECT_TRUE(Has(s.plugins_dir, "parley/plugins")) << s.plugins_dir;
}

TEST_F(SettingsTest, FileValues) {
  const std::string file = Write(
      "# comment\n"
      "http.host = 0.0.0.0\n"
      "http.port = 9090\n"
      "ws.loop_threads = 1\n"
      "auth.operator_tokens = tok-one , tok-two\n"
      "plugins.dir = /srv/plugins\n"
      "plugins.load = echo, rooms\n"
      "plugins.optional = rooms\n"
      "log.level = debug\n"
      "shutdown.deadline_ms = 2500\n");
  Settings s = loadSettings(file, {}, kExeDir);
  EXPECT_EQ(s.source, file);
  EXPECT_EQ(s.http.host, "0.0.0.0");
  EXPECT_EQ(s.http.port, 9090);
  EXPECT_EQ(s.loop_threads, 1);
  EXPECT_EQ(s.auth.operator_tokens, (std::vector<std::string>{"tok-one", "tok-two"}));
  EXPECT_EQ(s.plugins_dir, "/srv/plugins");
  EXPECT_EQ(s.plugins_load, (std::vector<std::string>{"echo", "rooms"}));
  EXPECT_EQ(s.plugins_optional, (std::set<std::string>{"rooms"}));
  EXPECT_EQ(s.log_level, "debug");
  EXPECT_EQ(s.shutdown_deadline_ms, 2500);
  EXPECT_EQ(s.http.header_timeout_ms, 10000);  // untouched keys keep their defaults
}

TEST_F(SettingsTest, EnvironmentOverridesTheFile) {
  const std::string file = Write("http.port = 9090\nhttp.host = 10.0.0.1\n");
  SetEnv("PARLEY_HTTP_PORT", "9191");
  SetEnv("PARLEY_AUTH_JWT_LEEWAY_SEC", " 5 ");  // trimmed like file values
  Settings s = loadSettings(file, {}, kExeDir);
  EXPECT_EQ(s.http.port, 9191);
  EXPECT_EQ(s.http.host, "10.0.0.1");
  EXPECT_EQ(s.auth.leeway_sec, 5);
  // Without a file too.
  EXPECT_EQ(loadSettings("", {}, kExeDir).http.port, 9191);
}

TEST_F(SettingsTest, DefinesOverrideTheEnvironment) {
  const std::string file = Write("http.port = 9090\n");
  SetEnv("PARLEY_HTTP_PORT", "9191");
  Settings s = loadSettings(file, {{"http.port", "9292"}, {"log.level", "trace"}}, kExeDir);
  EXPECT_EQ(s.http.port, 9292);
  EXPECT_EQ(s.log_level, "trace");
}

TEST_F(SettingsTest, UnknownKeyNamesKeyAndFile) {
  const std::string file = Write("http.prot = 8081\n");
  const std::string msg = Refusal(file);
  EXPECT_TRUE(Has(msg, "http.prot")) << msg;
  EXPECT_TRUE(Has(msg, file)) << msg;
}

TEST_F(SettingsTest, UnknownDefineNamesKeyAndOrigin) {
  const std::string msg = Refusal("", {{"http.prot", "8081"}});
  EXPECT_TRUE(Has(msg, "http.prot")) << msg;
  EXPECT_TRUE(Has(msg, "-D")) << msg;
  EXPECT_FALSE(Refusal("", {{"", "x"}}).empty());
}

TEST_F(SettingsTest, MalformedValueNamesTheKey) {
  const std::string file = Write("http.port = abc\n");
  const std::string msg = Refusal(file);
  EXPECT_TRUE(Has(msg, "http.port")) << msg;
  EXPECT_TRUE(Has(msg, file)) << msg;
}

TEST_F(SettingsTest, OutOfRangeNamesTheKeyAndWhereItCameFrom) {
  std::string msg = Refusal(Write("http.port = 70000\n"));
  EXPECT_TRUE(Has(msg, "http.port")) << msg;
  SetEnv("PARLEY_WORKERS_THREADS", "0");
  msg = Refusal("");
  EXPECT_TRUE(Has(msg, "workers.threads")) << msg;
  EXPECT_TRUE(Has(msg, "PARLEY_WORKERS_THREADS")) << msg;
}

TEST_F(SettingsTest, NonexistentFileThrows) {
  const std::string missing = (dir_ / "nope.properties").string();
  const std::string msg = Refusal(missing);
  EXPECT_TRUE(Has(msg, missing)) << msg;
}

TEST_F(SettingsTest, LogLevelIsValidated) {
  for (const char* level :
       {"fatal", "critical", "error", "warning", "notice", "information", "debug", "trace"})
    EXPECT_EQ(loadSettings("", {{"log.level", level}}, kExeDir).log_level, level);
  const std::string msg = Refusal("", {{"log.level", "verbose"}});
  EXPECT_TRUE(Has(msg, "log.level")) << msg;
}

TEST_F(SettingsTest, PluginSectionsAreCollectedById) {
  const std::string file = Write(
      "plugins.load = echo, rooms\n"
      "plugins.echo.greeting = hello there \n"
      "plugins.echo.times = 3\n"
      "plugins.rooms.max_rooms = 50\n");
  Settings s = loadSettings(file, {{"plugins.rooms.region", "eu"}}, kExeDir);
  ASSERT_EQ(s.plugin_sections.size(), 2u);
  EXPECT_EQ(s.plugin_sections["echo"],
            (std::map<std::string, std::string>{{"greeting", "hello there"}, {"times", "3"}}));
  EXPECT_EQ(s.plugin_sections["rooms"],
            (std::map<std::string, std::string>{{"max_rooms", "50"}, {"region", "eu"}}));
}

TEST_F(SettingsTest, PluginKeyForAPluginNotLoadedNamesTheKey) {
  const std::string file = Write("plugins.load = echo\nplugins.ehco.greeting = hi\n");
  const std::string msg = Refusal(file);
  EXPECT_TRUE(Has(msg, "plugins.ehco.greeting")) << msg;
  EXPECT_TRUE(Has(msg, file)) << msg;
  // Likewise with no plugins at all, and from -D.
  const std::string def = Refusal("", {{"plugins.echo.greeting", "hi"}});
  EXPECT_TRUE(Has(def, "plugins.echo.greeting")) << def;
}

TEST_F(SettingsTest, PluginKeyWithoutAKeyPartIsUnknown) {
  const std::string msg = Refusal(Write("plugins.load = echo\nplugins.echo = 1\n"));
  EXPECT_TRUE(Has(msg, "plugins.echo")) << msg;
}

TEST_F(SettingsTest, PluginEnvironmentReachesItsSection) {
  const std::string file = Write("plugins.load = echo\nplugins.echo.greeting = from-file\n");
  SetEnv("PARLEY_PLUGINS_ECHO_GREETING", "from-env");
  SetEnv("PARLEY_PLUGINS_ECHO_MAX_TURNS", "7");
  SetEnv("PARLEY_PLUGINS_ROOMS_MAX", "1");  // rooms is not loaded: not its business here
  Settings s = loadSettings(file, {}, kExeDir);
  EXPECT_EQ(s.plugin_sections["echo"],
            (std::map<std::string, std::string>{{"greeting", "from-env"}, {"max_turns", "7"}}));
  EXPECT_EQ(s.plugin_sections.count("rooms"), 0u);
  // -D still wins over the environment.
  s = loadSettings(file, {{"plugins.echo.greeting", "from-define"}}, kExeDir);
  EXPECT_EQ(s.plugin_sections["echo"]["greeting"], "from-define");
}

TEST_F(SettingsTest, LongestPluginIdClaimsItsEnvironment) {
  SetEnv("PARLEY_PLUGINS_A_B_KEY", "for-a_b");
  SetEnv("PARLEY_PLUGINS_A_KEY", "for-a");
  Settings s = loadSettings("", {{"plugins.load", "a,a_b"}}, kExeDir);
  EXPECT_EQ(s.plugin_sections["a_b"], (std::map<std::string, std::string>{{"key", "for-a_b"}}));
  EXPECT_EQ(s.plugin_sections["a"], (std::map<std::string, std::string>{{"key", "for-a"}}));
}

TEST_F(SettingsTest, OptionalPluginMustBeLoaded) {
  const std::string msg = Refusal(Write("plugins.load = echo\nplugins.optional = rooms\n"));
  EXPECT_TRUE(Has(msg, "plugins.optional")) << msg;
  EXPECT_TRUE(Has(msg, "rooms")) << msg;
}

}  // namespace
}  // namespace parley::core
