#include "redis.hpp"

namespace parley::redis {

namespace {

timeval toTimeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000),
          static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

bool command(redisContext* c, std::string& error, const char* what, const char* fmt,
             const char* arg) {
  Reply reply(static_cast<redisReply*>(redisCommand(c, fmt, arg)));
  if (!reply) {
    error = std::string(what) + ": " + c->errstr;
    return false;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    error = std::string(what) + ": " + std::string(reply->str, reply->len);
    return false;
  }
  return true;
}

}  // namespace

std::vector<sdk::ConfigKey> settingsKeys(const std::string& prefix) {
  using sdk::ConfigType;
  return {
      {prefix + "host", ConfigType::kString, "127.0.0.1", "Redis host."},
      {prefix + "port", ConfigType::kInt, "6379", "Redis port.", 1, 65535},
      {prefix + "unix_socket", ConfigType::kString, "",
       "Redis unix socket; wins over host and port."},
      {prefix + "password", ConfigType::kString, "", "Redis AUTH password.", {}, {}, true},
      {prefix + "db", ConfigType::kInt, "0", "Redis database number.", 0, 1024},
      {prefix + "connect_timeout_ms", ConfigType::kInt, "1000", "Redis connect timeout.", 10,
       60000},
      {prefix + "command_timeout_ms", ConfigType::kInt, "1000", "Redis command timeout.", 10,
       60000},
  };
}

Settings readSettings(const sdk::PluginConfig& cfg, const std::string& prefix) {
  Settings s;
  s.host = cfg.getString(prefix + "host");
  s.port = static_cast<int>(cfg.getInt(prefix + "port"));
  s.unix_socket = cfg.getString(prefix + "unix_socket");
  s.password = cfg.getString(prefix + "password");
  s.db = static_cast<int>(cfg.getInt(prefix + "db"));
  s.connect_timeout = std::chrono::milliseconds(cfg.getInt(prefix + "connect_timeout_ms"));
  s.command_timeout = std::chrono::milliseconds(cfg.getInt(prefix + "command_timeout_ms"));
  return s;
}

Context connect(const Settings& s, std::string& error) {
  const timeval connect_timeout = toTimeval(s.connect_timeout);
  Context c(s.unix_socket.empty()
                ? redisConnectWithTimeout(s.host.c_str(), s.port, connect_timeout)
                : redisConnectUnixWithTimeout(s.unix_socket.c_str(), connect_timeout));
  if (!c) {
    error = "cannot allocate a Redis context";
    return nullptr;
  }
  if (c->err) {
    error = "cannot connect to Redis at " + s.where() + ": " + c->errstr;
    return nullptr;
  }
  redisSetTimeout(c.get(), toTimeval(s.command_timeout));
  redisEnableKeepAlive(c.get());
  if (!s.password.empty() && !command(c.get(), error, "AUTH", "AUTH %s", s.password.c_str()))
    return nullptr;
  if (s.db != 0 && !command(c.get(), error, "SELECT", "SELECT %s", std::to_string(s.db).c_str()))
    return nullptr;
  return c;
}

}  // namespace parley::redis
