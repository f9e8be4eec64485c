// parleyd's configuration: embedded defaults, then the properties file, then the environment
// (PARLEY_<KEY>, dots as underscores, upper-case), then -D key=value. Every key is declared with
// a type and a doc string; an unknown key or a bad value is an error that names the key.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/http/bearer_auth.hpp"
#include "core/http/http_server.hpp"
#include "core/plugins/host.hpp"
#include "core/upstream/upstream_client.hpp"
#include "core/ws/ws_server.hpp"
#include "parley/sdk/config.hpp"

namespace parley::core {

struct Settings {
  std::string source;  // the file read, or "embedded defaults"
  HttpSettings http;
  ws::WsSettings ws;
  UpstreamSettings upstream;
  int loop_threads = 2;
  int worker_threads = 4;
  std::size_t worker_queue = 4096;
  BearerAuthConfig auth;
  std::string plugins_dir;
  std::vector<std::string> plugins_load;
  std::set<std::string> plugins_optional;
  ConfigSections plugin_sections;  // plugins.<id>.<key>, by id
  std::string log_level;
  int shutdown_deadline_ms = 10000;
  std::vector<std::string> warnings;  // for the log, once it is set up
};

using Defines = std::vector<std::pair<std::string, std::string>>;

// The core's own keys. `exe_dir` anchors the default plugins.dir next to the binary.
std::vector<sdk::ConfigKey> coreConfigKeys(const std::string& exe_dir);

// Throws sdk::ConfigError naming the key (and where its value came from) on any problem.
Settings loadSettings(const std::string& file, const Defines& defines, const std::string& exe_dir);

}  // namespace parley::core
