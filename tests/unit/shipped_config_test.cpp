// etc/parleyd.properties documents every key parleyd knows, with its default, so operators can
// read the whole configuration in one place.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/app/settings.hpp"

namespace parley::core {
namespace {

std::string shipped() {
  std::ifstream f(std::string(PARLEY_SOURCE_DIR) + "/etc/parleyd.properties");
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(ShippedConfig, DocumentsEveryCoreKeyWithItsDefault) {
  const std::string text = shipped();
  ASSERT_FALSE(text.empty());
  for (const auto& key : coreConfigKeys("/opt/parley/bin")) {
    SCOPED_TRACE(key.name);
    if (key.name == "plugins.dir") {
      EXPECT_NE(text.find("\n# plugins.dir = "), std::string::npos);
      continue;
    }
    // "key = default" (or "key =" for an empty default).
    const std::string line = key.default_value.empty()
                                 ? "\n" + key.name + " =\n"
                                 : "\n" + key.name + " = " + key.default_value + "\n";
    const bool set = text.find(line) != std::string::npos;
    const bool commented = text.find("\n# " + key.name + " =") != std::string::npos;
    EXPECT_TRUE(set || commented) << "document it as '" << key.name << " = " << key.default_value
                                  << "'";
    // Every key has a comment line right above it.
    const auto at = text.find(set ? "\n" + key.name + " =" : "\n# " + key.name + " =");
    const auto line_start = text.rfind('\n', at - 1);
    EXPECT_EQ(text.compare(line_start + 1, 1, "#"), 0) << "no doc comment above it";
  }
}

}  // namespace
}  // namespace parley::core
