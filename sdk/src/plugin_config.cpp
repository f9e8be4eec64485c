#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "parley/sdk/config.hpp"
#include "parley/sdk/errors.hpp"

namespace parley::sdk {

namespace {

const char* typeName(ConfigType type) {
  switch (type) {
    case ConfigType::kString: return "a string";
    case ConfigType::kInt: return "an integer";
    case ConfigType::kBool: return "a boolean (true/false)";
    case ConfigType::kDouble: return "a number";
    case ConfigType::kList: return "a comma-separated list";
  }
  return "a value";
}

bool parseInt(const std::string& text, std::int64_t& out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  out = v;
  return true;
}

bool parseDouble(const std::string& text, double& out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v)) return false;
  out = v;
  return true;
}

bool parseBool(const std::string& text, bool& out) {
  if (text == "true" || text == "yes" || text == "on" || text == "1") return out = true, true;
  if (text == "false" || text == "no" || text == "off" || text == "0") return out = false, true;
  return false;
}

std::string formatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace

PluginConfig::PluginConfig(std::string plugin_id, std::vector<ConfigKey> keys,
                           std::map<std::string, std::string> values)
    : plugin_id_(std::move(plugin_id)), keys_(std::move(keys)), values_(std::move(values)) {
  for (const auto& key : keys_) {
    auto it = values_.find(key.name);
    if (it == values_.end()) it = values_.emplace(key.name, key.default_value).first;
    validate(qualified(key.name), key, it->second);
  }
  for (const auto& [name, value] : values_) {
    (void)value;
    bool known = false;
    for (const auto& key : keys_) known = known || key.name == name;
    if (!known)
      throw ConfigError(qualified(name) + ": unknown key" +
                        (plugin_id_.empty()
                             ? std::string()
                             : " (plugin '" + plugin_id_ + "' declares no such key)"));
  }
}

void PluginConfig::validate(const std::string& qualified_name, const ConfigKey& key,
                            const std::string& text) {
  double number = 0;
  bool ok = true;
  switch (key.type) {
    case ConfigType::kString:
    case ConfigType::kList: return;
    case ConfigType::kBool: {
      bool b;
      ok = parseBool(text, b);
      break;
    }
    case ConfigType::kInt: {
      std::int64_t i = 0;
      ok = parseInt(text, i);
      number = static_cast<double>(i);
      break;
    }
    case ConfigType::kDouble: ok = parseDouble(text, number); break;
  }
  const std::string shown = key.secret ? std::string("<secret>") : text;
  if (!ok)
    throw ConfigError(qualified_name + ": expected " + typeName(key.type) + ", found '" + shown +
                      "'");
  if ((key.min && number < *key.min) || (key.max && number > *key.max)) {
    std::string range = "[" + (key.min ? formatNumber(*key.min) : std::string("-inf")) + ", " +
                        (key.max ? formatNumber(*key.max) : std::string("inf")) + "]";
    throw ConfigError(qualified_name + ": " + shown + " is outside the allowed range " + range);
  }
}

std::string PluginConfig::qualified(const std::string& key) const {
  return plugin_id_.empty() ? key : "plugins." + plugin_id_ + "." + key;
}

const ConfigKey& PluginConfig::declared(const std::string& key, ConfigType type) const {
  for (const auto& k : keys_)
    if (k.name == key) {
      if (k.type != type)
        throw ConfigError(qualified(key) + " is declared as " + typeName(k.type) + ", read as " +
                          typeName(type));
      return k;
    }
  throw ConfigError(qualified(key) + ": not a declared key");
}

const std::string& PluginConfig::getString(const std::string& key) const {
  declared(key, ConfigType::kString);
  return values_.at(key);
}

std::int64_t PluginConfig::getInt(const std::string& key) const {
  declared(key, ConfigType::kInt);
  std::int64_t v = 0;
  parseInt(values_.at(key), v);
  return v;
}

bool PluginConfig::getBool(const std::string& key) const {
  declared(key, ConfigType::kBool);
  bool v = false;
  parseBool(values_.at(key), v);
  return v;
}

double PluginConfig::getDouble(const std::string& key) const {
  declared(key, ConfigType::kDouble);
  double v = 0;
  parseDouble(values_.at(key), v);
  return v;
}

std::vector<std::string> PluginConfig::getList(const std::string& key) const {
  declared(key, ConfigType::kList);
  std::vector<std::string> out;
  const std::string& text = values_.at(key);
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string item = trim(text.substr(pos, comma - pos));
    if (!item.empty()) out.push_back(item);
    pos = comma + 1;
  }
  return out;
}

}  // namespace parley::sdk
