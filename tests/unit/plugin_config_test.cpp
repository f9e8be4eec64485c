#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "parley/sdk/config.hpp"
#include "parley/sdk/errors.hpp"

namespace parley::sdk {
namespace {

using Values = std::map<std::string, std::string>;

ConfigKey Key(std::string name, ConfigType type, std::string def = "",
              std::optional<double> min = {}, std::optional<double> max = {}, bool secret = false) {
  ConfigKey k;
  k.name = std::move(name);
  k.type = type;
  k.default_value = std::move(def);
  k.doc = "test key";
  k.min = min;
  k.max = max;
  k.secret = secret;
  return k;
}

std::vector<ConfigKey> EchoKeys() {
  return {Key("greeting", ConfigType::kString, "hello"),
          Key("port", ConfigType::kInt, "8080", 1, 65535),
          Key("verbose", ConfigType::kBool, "false"),
          Key("ratio", ConfigType::kDouble, "0.5", 0.0, 1.0), Key("rooms", ConfigType::kList, "")};
}

// The ConfigError message the constructor throws for `values`, or "" with a failure.
std::string Refusal(const std::string& id, std::vector<ConfigKey> keys, Values values) {
  try {
    PluginConfig cfg(id, std::move(keys), std::move(values));
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError";
  return "";
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(PluginConfigTest, DefaultsApply) {
  PluginConfig cfg("echo", EchoKeys(), {});
  EXPECT_EQ(cfg.pluginId(), "echo");
  EXPECT_EQ(cfg.keys().size(), 5u);
  EXPECT_EQ(cfg.getString("greeting"), "hello");
  EXPECT_EQ(cfg.getInt("port"), 8080);
  EXPECT_FALSE(cfg.getBool("verbose"));
  EXPECT_DOUBLE_EQ(cfg.getDouble("ratio"), 0.5);
  EXPECT_TRUE(cfg.getList("rooms").empty());
}

TEST(PluginConfigTest, ValuesOverrideDefaults) {
  PluginConfig cfg("echo", EchoKeys(),
                   {{"greeting", "hi there"},
                    {"port", "443"},
                    {"verbose", "yes"},
                    {"ratio", "1e-1"},
                    {"rooms", "a,b"}});
  EXPECT_EQ(cfg.getString("greeting"), "hi there");
  EXPECT_EQ(cfg.getInt("port"), 443);
  EXPECT_DOUBLE_EQ(cfg.getDouble("ratio"), 0.1);
  EXPECT_TRUE(cfg.getBool("verbose"));
  EXPECT_EQ(cfg.getList("rooms"), (std::vector<std::string>{"a", "b"}));
}

TEST(PluginConfigTest, IntsParse) {
  std::vector<ConfigKey> keys = {Key("n", ConfigType::kInt, "0")};
  EXPECT_EQ(PluginConfig("p", keys, {{"n", "42"}}).getInt("n"), 42);
  EXPECT_EQ(PluginConfig("p", keys, {{"n", "-7"}}).getInt("n"), -7);
  EXPECT_EQ(PluginConfig("p", keys, {{"n", "9000000000"}}).getInt("n"), 9000000000LL);
}

TEST(PluginConfigTest, BoolAcceptsTheUsualSpellings) {
  std::vector<ConfigKey> keys = {Key("flag", ConfigType::kBool, "false")};
  for (const char* t : {"true", "yes", "on", "1"})
    EXPECT_TRUE(PluginConfig("p", keys, {{"flag", t}}).getBool("flag")) << t;
  for (const char* f : {"false", "no", "off", "0"})
    EXPECT_FALSE(PluginConfig("p", keys, {{"flag", f}}).getBool("flag")) << f;
}

TEST(PluginConfigTest, BadValuesNameTheQualifiedKey) {
  struct Case {
    const char* key;
    const char* value;
  };
  for (const Case& c : {Case{"port", "abc"}, Case{"port", "12x"}, Case{"port", ""},
                        Case{"port", "1.5"}, Case{"verbose", "maybe"}, Case{"verbose", ""},
                        Case{"ratio", "half"}, Case{"ratio", "nan"}, Case{"ratio", "inf"}}) {
    std::string msg = Refusal("echo", EchoKeys(), {{c.key, c.value}});
    EXPECT_TRUE(Has(msg, std::string("plugins.echo.") + c.key)) << c.value << ": " << msg;
  }
}

TEST(PluginConfigTest, BoundsAreEnforced) {
  std::string msg = Refusal("echo", EchoKeys(), {{"port", "0"}});
  EXPECT_TRUE(Has(msg, "plugins.echo.port")) << msg;
  msg = Refusal("echo", EchoKeys(), {{"port", "65536"}});
  EXPECT_TRUE(Has(msg, "plugins.echo.port")) << msg;
  msg = Refusal("echo", EchoKeys(), {{"ratio", "1.01"}});
  EXPECT_TRUE(Has(msg, "plugins.echo.ratio")) << msg;
  msg = Refusal("echo", EchoKeys(), {{"ratio", "-0.1"}});
  EXPECT_TRUE(Has(msg, "plugins.echo.ratio")) << msg;
  // The bounds themselves are allowed.
  EXPECT_NO_THROW(PluginConfig("echo", EchoKeys(), {{"port", "1"}, {"ratio", "0"}}));
  EXPECT_NO_THROW(PluginConfig("echo", EchoKeys(), {{"port", "65535"}, {"ratio", "1"}}));
}

TEST(PluginConfigTest, DefaultIsValidatedToo) {
  std::string msg = Refusal("echo", {Key("port", ConfigType::kInt, "lots")}, {});
  EXPECT_TRUE(Has(msg, "plugins.echo.port")) << msg;
}

// Secrets appear nowhere in messages: neither when malformed nor when out of range.
TEST(PluginConfigTest, SecretValuesNeverAppearInMessages) {
  const std::string secret = "8675309123";
  std::vector<ConfigKey> keys = {Key("pin", ConfigType::kInt, "1", 0, 9999, true)};
  std::string msg = Refusal("vault", keys, {{"pin", secret + "x"}});
  EXPECT_TRUE(Has(msg, "plugins.vault.pin")) << msg;
  EXPECT_FALSE(Has(msg, secret)) << msg;

  msg = Refusal("vault", keys, {{"pin", secret}});
  EXPECT_TRUE(Has(msg, "plugins.vault.pin")) << msg;
  EXPECT_FALSE(Has(msg, secret)) << "out-of-range message leaks the secret: " << msg;
}

TEST(PluginConfigTest, UnknownKeyIsNamed) {
  std::string msg = Refusal("echo", EchoKeys(), {{"greting", "hi"}});
  EXPECT_TRUE(Has(msg, "plugins.echo.greting")) << msg;
}

TEST(PluginConfigTest, EmptyPluginIdUsesBareKeyNames) {
  std::vector<ConfigKey> keys = {Key("http.port", ConfigType::kInt, "8080", 0, 65535)};
  std::string msg = Refusal("", keys, {{"http.port", "abc"}});
  EXPECT_EQ(msg.rfind("http.port", 0), 0u) << msg;
  EXPECT_FALSE(Has(msg, "plugins.")) << msg;
  msg = Refusal("", keys, {{"http.prot", "1"}});
  EXPECT_EQ(msg.rfind("http.prot", 0), 0u) << msg;
  EXPECT_FALSE(Has(msg, "plugins.")) << msg;
  PluginConfig cfg("", keys, {});
  EXPECT_EQ(cfg.getInt("http.port"), 8080);
}

TEST(PluginConfigTest, ListsAreTrimmedWithoutEmpties) {
  std::vector<ConfigKey> keys = {Key("rooms", ConfigType::kList)};
  PluginConfig cfg("p", keys, {{"rooms", " a , b,, \tc ,  ,"}});
  EXPECT_EQ(cfg.getList("rooms"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(PluginConfig("p", keys, {{"rooms", " , ,"}}).getList("rooms").empty());
  EXPECT_EQ(PluginConfig("p", keys, {{"rooms", "one"}}).getList("rooms"),
            (std::vector<std::string>{"one"}));
}

TEST(PluginConfigTest, GetterOnUndeclaredKeyOrWrongTypeThrows) {
  PluginConfig cfg("echo", EchoKeys(), {});
  try {
    cfg.getString("nope");
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(Has(e.what(), "plugins.echo.nope")) << e.what();
  }
  EXPECT_THROW(cfg.getInt("greeting"), ConfigError);
  EXPECT_THROW(cfg.getString("port"), ConfigError);
  EXPECT_THROW(cfg.getBool("ratio"), ConfigError);
  EXPECT_THROW(cfg.getDouble("verbose"), ConfigError);
  EXPECT_THROW(cfg.getList("greeting"), ConfigError);
  EXPECT_THROW(cfg.getDouble("port"), ConfigError);  // no silent int-to-double reads
}

TEST(PluginConfigTest, ValidateChecksOneValue) {
  ConfigKey port = Key("port", ConfigType::kInt, "1", 1, 10);
  EXPECT_NO_THROW(PluginConfig::validate("plugins.x.port", port, "5"));
  EXPECT_THROW(PluginConfig::validate("plugins.x.port", port, "11"), ConfigError);
  try {
    PluginConfig::validate("plugins.x.port", port, "five");
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(Has(e.what(), "plugins.x.port")) << e.what();
  }
  // Strings and lists take any text.
  EXPECT_NO_THROW(PluginConfig::validate("k", Key("s", ConfigType::kString), "{}%,"));
}

TEST(PluginConfigTest, DefaultConstructedHasNoKeys) {
  PluginConfig cfg;
  EXPECT_TRUE(cfg.keys().empty());
  EXPECT_THROW(cfg.getString("anything"), ConfigError);
}

}  // namespace
}  // namespace parley::sdk
