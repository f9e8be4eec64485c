// A plugin's configuration: the keys it declares in describe(), and the validated values the core
// hands to configure() and start(). Keys live under plugins.<id>.<key> in parleyd.properties, can
// come from the environment as PARLEY_PLUGINS_<ID>_<KEY>, and from the command line with -D.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "parley/sdk/export.hpp"

namespace parley::sdk {

enum class ConfigType { kString, kInt, kBool, kDouble, kList };

struct ConfigKey {
  ConfigKey() = default;
  ConfigKey(std::string name_, ConfigType type_, std::string default_value_, std::string doc_,
            std::optional<double> min_ = {}, std::optional<double> max_ = {}, bool secret_ = false)
      : name(std::move(name_)),
        type(type_),
        default_value(std::move(default_value_)),
        doc(std::move(doc_)),
        min(min_),
        max(max_),
        secret(secret_) {}

  std::string name;  // [a-z][a-z0-9_]*, without the plugins.<id>. prefix
  ConfigType type = ConfigType::kString;
  std::string default_value;  // as it would be written in the file
  std::string doc;            // one sentence for operators; shown by parleyd --check-config
  std::optional<double> min;  // bounds for kInt and kDouble
  std::optional<double> max;
  bool secret = false;  // never printed
};

// Values already checked against their declared type and bounds; a getter on an undeclared key or
// of the wrong type throws ConfigError. (The core validates its own keys the same way, with an
// empty plugin id.)
class PARLEY_SDK_API PluginConfig {
 public:
  PluginConfig() = default;
  PluginConfig(std::string plugin_id, std::vector<ConfigKey> keys,
               std::map<std::string, std::string> values);

  const std::string& getString(const std::string& key) const;
  std::int64_t getInt(const std::string& key) const;
  bool getBool(const std::string& key) const;
  double getDouble(const std::string& key) const;
  std::vector<std::string> getList(const std::string& key) const;  // comma-separated, trimmed

  const std::string& pluginId() const { return plugin_id_; }
  const std::vector<ConfigKey>& keys() const { return keys_; }

  // Parses `text` as `key` would be; throws ConfigError naming plugins.<id>.<key> on a bad value.
  static void validate(const std::string& qualified_name, const ConfigKey& key,
                       const std::string& text);

 private:
  const ConfigKey& declared(const std::string& key, ConfigType type) const;
  std::string qualified(const std::string& key) const;
  std::string plugin_id_;
  std::vector<ConfigKey> keys_;
  std::map<std::string, std::string> values_;
};

}  // namespace parley::sdk
