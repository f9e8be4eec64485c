// `cmake --install` into a fresh prefix gives a runnable tree, and the SDK it installs builds the
// example plugin out of tree, which the installed parleyd then loads.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"

namespace parley::test {
namespace {

namespace fs = std::filesystem;

class Installed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("install");
    prefix_ = dir_->path() + "/prefix";
    RunResult r = runCommand({PARLEY_CMAKE, "--install", PARLEY_BINARY_DIR, "--prefix", prefix_});
    install_ok_ = r.exit_code == 0;
    install_log_ = r.out + r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(install_ok_) << install_log_; }

  static TempDir* dir_;
  static std::string prefix_;
  static bool install_ok_;
  static std::string install_log_;
};
TempDir* Installed::dir_ = nullptr;
std::string Installed::prefix_;
bool Installed::install_ok_ = false;
std::string Installed::install_log_;

TEST_F(Installed, TreeHasBinaryPluginsConfigAndUnit) {
  EXPECT_TRUE(fs::exists(prefix_ + "/bin/parleyd"));
  EXPECT_TRUE(fs::is_directory(prefix_ + "/lib/parley/plugins"));
  EXPECT_TRUE(fs::exists(prefix_ + "/lib/cmake/ParleySDK/ParleySDKConfig.cmake"));
  EXPECT_TRUE(fs::exists(prefix_ + "/include/parley/sdk/plugin.hpp"));
  EXPECT_TRUE(fs::exists(prefix_ + "/etc/parley/parleyd.env.example"));
  for (const char* copy : {"answers.md", "assist/rules.ini", "assist/lexicons.txt"})
    EXPECT_TRUE(fs::exists(prefix_ + "/etc/parley/" + copy)) << copy << ", to copy and edit";

  const std::string config = readFile(prefix_ + "/etc/parley/parleyd.properties");
  EXPECT_NE(config.find("\nplugins.dir = " + prefix_ + "/lib/parley/plugins\n"), std::string::npos);
  const std::string unit = readFile(prefix_ + "/lib/systemd/system/parleyd.service");
  EXPECT_NE(unit.find("ExecStart=" + prefix_ + "/bin/parleyd --config " + prefix_ +
                      "/etc/parley/parleyd.properties"),
            std::string::npos)
      << unit;
  for (const char* line : {"NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                           "DynamicUser=yes", "Restart=on-failure", "EnvironmentFile=-"})
    EXPECT_NE(unit.find(line), std::string::npos) << line;
}

TEST_F(Installed, InstalledServerStartsOnInstalledConfig) {
  const std::string etc = prefix_ + "/etc/parley/";
  Parleyd p({"--config", etc + "parleyd.properties",  // and the installed copies of the data
             "-D", "plugins.answers.answers_file=" + etc + "answers.md", "-D",
             "plugins.assist.rules_file=" + etc + "assist/rules.ini", "-D",
             "plugins.assist.lexicons_file=" + etc + "assist/lexicons.txt"},
            {}, prefix_ + "/bin/parleyd");
  EXPECT_EQ(get(p.port(), "/healthz").status, 200);
  EXPECT_EQ(get(p.port(), "/readyz").status, 200);
  // The console's pages, from share/parley/console of the installation.
  EXPECT_TRUE(fs::exists(prefix_ + "/share/parley/console/index.html"));
  EXPECT_EQ(get(p.port(), "/").status, 200);
  EXPECT_EQ(get(p.port(), "/console/vendor/uplot/LICENSE").status, 200);
  EXPECT_EQ(p.terminate(), 0);
}

TEST_F(Installed, ExamplePluginBuildsOutOfTreeAndLoads) {
  const std::string build = dir_->path() + "/hello-build";
  RunResult configure =
      runCommand({PARLEY_CMAKE, "-S", std::string(PARLEY_SOURCE_DIR) + "/sdk/examples/hello", "-B",
                  build, "-DCMAKE_PREFIX_PATH=" + prefix_, "-DCMAKE_BUILD_TYPE=Release"});
  ASSERT_EQ(configure.exit_code, 0) << configure.out << configure.err;
  RunResult compile = runCommand({PARLEY_CMAKE, "--build", build, "-j2"});
  ASSERT_EQ(compile.exit_code, 0) << compile.out << compile.err;
  ASSERT_TRUE(fs::exists(build + "/hello.so"));
  // Its unit tests run on the installed ParleySDK::testing.
  RunResult unit = runCommand({PARLEY_CTEST, "--test-dir", build, "--output-on-failure"});
  EXPECT_EQ(unit.exit_code, 0) << unit.out << unit.err;
  EXPECT_NE(unit.out.find("100% tests passed"), std::string::npos) << unit.out;

  // Deployed as an operator would: into the plugin directory, next to the shipped plugins.
  fs::copy_file(build + "/hello.so", prefix_ + "/lib/parley/plugins/hello.so",
                fs::copy_options::overwrite_existing);
  Parleyd p(
      {"--config", prefix_ + "/etc/parley/parleyd.properties", "-D", "plugins.load=rooms,hello",
       "-D", std::string("auth.operator_tokens=") + kOperatorToken},
      {}, prefix_ + "/bin/parleyd");
  auto hello = get(p.port(), "/hello?name=parley");
  ASSERT_EQ(hello.status, 200) << hello.body;
  EXPECT_EQ(hello.json()->getValue<std::string>("message"), "Hello from a Parley plugin");
  EXPECT_EQ(hello.json()->getValue<std::string>("name"), "parley");
  auto metrics = get(p.port(), "/api/system/metrics", bearer(kOperatorToken));
  EXPECT_EQ(metrics.json()->getValue<int>("hello_requests"), 1) << metrics.body;
}

}  // namespace
}  // namespace parley::test
