// One synchronous hiredis connection for the shipped plugins that keep things in Redis (fanout,
// share tokens): their common settings keys, connecting, authenticating, selecting the database,
// and replies that free themselves.
#pragma once

#include <hiredis/hiredis.h>
#include <parley/sdk/config.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace parley::redis {

struct Settings {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;  // wins over host/port when set
  std::string password;
  int db = 0;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{1000};

  std::string where() const {
    return unix_socket.empty() ? host + ":" + std::to_string(port) : unix_socket;
  }
};

// The plugin keys of a Redis connection, each named `prefix` + key ("host", "port",
// "unix_socket", "password", "db", "connect_timeout_ms", "command_timeout_ms"), and reading them.
std::vector<sdk::ConfigKey> settingsKeys(const std::string& prefix = "");
Settings readSettings(const sdk::PluginConfig& config, const std::string& prefix = "");

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// Connects, authenticates and selects the database; on failure returns null and says why.
Context connect(const Settings& settings, std::string& error);

}  // namespace parley::redis
