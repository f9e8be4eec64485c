#include "core/app/settings.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "parley/sdk/errors.hpp"

extern char** environ;

namespace parley::core {

namespace {

using sdk::ConfigKey;
using sdk::ConfigType;

// Every plugin that works without outside services; those needing Redis or API keys are opt-in.
constexpr const char* kDefaultPlugins = "rooms, deepgram, answers, assist, share_tokens, console";

std::string envName(const std::string& key) {
  std::string out = "PARLEY_";
  for (char c : key) out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(c)));
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void flatten(const Poco::Util::AbstractConfiguration& cfg, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  Poco::Util::AbstractConfiguration::Keys keys;
  cfg.keys(prefix, keys);
  for (const auto& k : keys) {
    const std::string full = prefix.empty() ? k : prefix + "." + k;
    if (cfg.hasOption(full)) out[full] = cfg.getRawString(full);
    flatten(cfg, full, out);
  }
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace

std::vector<ConfigKey> coreConfigKeys(const std::string& exe_dir) {
  using T = ConfigType;
  return {
      ConfigKey("http.host", T::kString, "127.0.0.1", "Address to listen on."),
      ConfigKey("http.port", T::kInt, "8080", "TCP port to listen on; 0 picks a free one.", 0,
                65535),
      ConfigKey("http.max_connections", T::kInt, "10000",
                "Open HTTP connections allowed (websockets count under ws.max_connections); "
                "beyond it clients get 503 with Retry-After.",
                1, 1000000),
      ConfigKey("http.max_body_bytes", T::kInt, "1048576",
                "Largest request body accepted (413 beyond).", 0, 1 << 30),
      ConfigKey("http.max_header_bytes", T::kInt, "16384",
                "Largest request head, request line and header fields together (431 beyond).", 1024,
                1048576),
      ConfigKey("http.max_headers", T::kInt, "100", "Most header fields in a request (431 beyond).",
                1, 10000),
      ConfigKey("http.header_timeout_ms", T::kInt, "10000",
                "A request head must arrive whole within this time of its first byte, however "
                "the bytes trickle in (408 otherwise).",
                100, 600000),
      ConfigKey("http.request_deadline_ms", T::kInt, "30000",
                "A request body must arrive whole within this time of its head (408 otherwise).",
                100, 3600000),
      ConfigKey("http.keepalive_timeout_ms", T::kInt, "5000",
                "An idle kept-alive connection is closed after this long.", 100, 600000),
      ConfigKey("http.max_keepalive_requests", T::kInt, "10000",
                "Requests served on one connection before it is closed.", 1, 10000000),
      ConfigKey("ws.loop_threads", T::kInt, "2",
                "Event-loop threads serving every connection: HTTP, websockets and upstreams.", 1,
                64),
      ConfigKey("workers.threads", T::kInt, "4",
                "Threads for work that may block (storage, blocking handlers, name lookups).", 1,
                256),
      ConfigKey("workers.max_queued", T::kInt, "4096",
                "Blocking work that may wait for a worker; beyond it requests get 503 and "
                "sessions stop being read until it drains.",
                1, 1000000),
      ConfigKey("ws.max_connections", T::kInt, "10000",
                "Open websocket connections allowed; beyond it upgrades get 503.", 1, 1000000),
      ConfigKey("ws.max_message_bytes", T::kInt, "65536",
                "Largest client message, after reassembly; beyond it: close 1009.", 125, 16777216),
      ConfigKey("ws.max_send_queue_bytes", T::kInt, "1048576",
                "Bytes queued for one client before it is disconnected as a slow consumer.", 1024,
                1073741824),
      ConfigKey("ws.max_queued_work_bytes", T::kInt, "1048576",
                "Bytes of one session's messages waiting for worker handlers; past it the "
                "session is not read until they drain.",
                1024, 1073741824),
      ConfigKey("ws.socket_send_buffer_bytes", T::kInt, "0",
                "Kernel send buffer per websocket (SO_SNDBUF); 0 keeps the kernel's autotuning, "
                "which can hold megabytes per connection before ws.max_send_queue_bytes applies.",
                0, 67108864),
      ConfigKey("ws.ping_interval_ms", T::kInt, "25000",
                "Protocol and application pings to every session, this often (each loop checks its "
                "sessions every quarter of it, at most every second).",
                10, 3600000),
      ConfigKey("ws.idle_timeout_ms", T::kInt, "60000",
                "A session that sends nothing (not even a pong) for this long is closed "
                "(socket_closed), at its next heartbeat.",
                10, 86400000),
      ConfigKey("upstream.tls_ca_file", T::kString, "",
                "A PEM file of CAs trusted for outbound TLS beside the system's store (a private "
                "CA); empty for none."),
      ConfigKey("upstream.dns_cache_sec", T::kInt, "60",
                "How long a resolved upstream name is reused.", 0, 86400),
      ConfigKey(
          "auth.operator_tokens", T::kList, "",
          "Static bearer tokens for operators and monitoring, comma-separated. When neither these "
          "nor a JWT key is set, parleyd generates one token per run and prints it.",
          {}, {}, true),
      ConfigKey("auth.jwt.hs256_secret", T::kString, "",
                "Shared secret (at least 32 bytes) for HS256 JWTs; empty disables HS256.", {}, {},
                true),
      ConfigKey("auth.jwt.public_key_file", T::kString, "",
                "PEM public key for RS256 (RSA) or ES256 (EC P-256) JWTs; empty disables them."),
      ConfigKey("auth.jwt.leeway_sec", T::kInt, "30", "Clock skew tolerated on exp and nbf.", 0,
                600),
      ConfigKey("plugins.dir", T::kString, exe_dir + "/" PARLEY_PLUGIN_DIR_FROM_BIN,
                "Directory holding <id>.so plugin libraries."),
      ConfigKey("plugins.load", T::kList, kDefaultPlugins,
                "Plugin ids to load, in order (dependencies still start first)."),
      ConfigKey(
          "plugins.optional", T::kList, "",
          "Plugin ids that may fail to load or start; they are skipped and reported. Any other "
          "plugin that fails stops start-up."),
      ConfigKey("log.level", T::kString, "information",
                "One of: fatal, critical, error, warning, notice, information, debug, trace."),
      ConfigKey("shutdown.deadline_ms", T::kInt, "10000",
                "On SIGTERM, in-flight requests and websocket sessions get this long, together, "
                "to finish before what is left is closed.",
                0, 600000),
  };
}

Settings loadSettings(const std::string& file, const Defines& defines, const std::string& exe_dir) {
  // Where each value came from, for error messages.
  std::map<std::string, std::string> values, origin;
  if (!file.empty()) {
    if (!Poco::File(file).exists()) throw sdk::ConfigError(file + ": no such configuration file");
    try {
      Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg(
          new Poco::Util::PropertyFileConfiguration(file));
      flatten(*cfg, "", values);
    } catch (const Poco::Exception& e) {
      throw sdk::ConfigError(file + ": " + e.displayText());
    }
    for (const auto& [k, v] : values) origin[k] = file;
  }
  const std::vector<ConfigKey> core_keys = coreConfigKeys(exe_dir);
  for (const auto& k : core_keys)
    if (const char* env = std::getenv(envName(k.name).c_str())) {
      values[k.name] = env;
      origin[k.name] = "environment " + envName(k.name);
    }
  for (const auto& [k, v] : defines) {
    if (k.empty()) throw sdk::ConfigError("-D " + k + "=" + v + ": the key is empty");
    values[k] = v;
    origin[k] = "-D";
  }

  // Core keys first: they say which plugins exist, and so which plugins.<id>.* keys may.
  std::map<std::string, std::string> core_values;
  std::map<std::string, std::map<std::string, std::string>> plugin_values;
  for (const auto& [k, v] : values) {
    const bool core = std::any_of(core_keys.begin(), core_keys.end(),
                                  [&](const ConfigKey& c) { return c.name == k; });
    if (core || k.rfind("plugins.", 0) != 0) core_values[k] = trim(v);
  }
  sdk::PluginConfig core;
  try {
    core = sdk::PluginConfig("", core_keys, core_values);
  } catch (const sdk::ConfigError& e) {
    std::string msg = e.what();
    for (const auto& [k, o] : origin)
      if (msg.rfind(k + ":", 0) == 0) msg += " (from " + o + ")";
    throw sdk::ConfigError(msg);
  }

  Settings s;
  s.source = file.empty() ? "embedded defaults" : file;
  s.http.host = core.getString("http.host");
  s.http.port = static_cast<int>(core.getInt("http.port"));
  s.http.max_connections = static_cast<int>(core.getInt("http.max_connections"));
  s.http.max_body_bytes = core.getInt("http.max_body_bytes");
  s.http.max_header_bytes = static_cast<std::size_t>(core.getInt("http.max_header_bytes"));
  s.http.max_headers = static_cast<std::size_t>(core.getInt("http.max_headers"));
  s.http.header_timeout_ms = static_cast<int>(core.getInt("http.header_timeout_ms"));
  s.http.request_deadline_ms = static_cast<int>(core.getInt("http.request_deadline_ms"));
  s.http.keepalive_timeout_ms = static_cast<int>(core.getInt("http.keepalive_timeout_ms"));
  s.http.max_keepalive_requests = static_cast<int>(core.getInt("http.max_keepalive_requests"));
  s.loop_threads = static_cast<int>(core.getInt("ws.loop_threads"));
  s.worker_threads = static_cast<int>(core.getInt("workers.threads"));
  s.worker_queue = static_cast<std::size_t>(core.getInt("workers.max_queued"));
  s.ws.max_connections = static_cast<int>(core.getInt("ws.max_connections"));
  s.ws.max_message_bytes = static_cast<std::size_t>(core.getInt("ws.max_message_bytes"));
  s.ws.max_send_queue_bytes = static_cast<std::size_t>(core.getInt("ws.max_send_queue_bytes"));
  s.ws.max_queued_work_bytes = static_cast<std::size_t>(core.getInt("ws.max_queued_work_bytes"));
  s.ws.socket_send_buffer_bytes = static_cast<int>(core.getInt("ws.socket_send_buffer_bytes"));
  s.ws.ping_interval = std::chrono::milliseconds(core.getInt("ws.ping_interval_ms"));
  s.ws.idle_timeout = std::chrono::milliseconds(core.getInt("ws.idle_timeout_ms"));
  s.upstream.tls_ca_file = core.getString("upstream.tls_ca_file");
  s.upstream.dns_cache = std::chrono::seconds(core.getInt("upstream.dns_cache_sec"));
  s.auth.operator_tokens = core.getList("auth.operator_tokens");
  s.auth.hs256_secret = core.getString("auth.jwt.hs256_secret");
  s.auth.public_key_file = core.getString("auth.jwt.public_key_file");
  s.auth.leeway_sec = static_cast<int>(core.getInt("auth.jwt.leeway_sec"));
  s.plugins_dir = core.getString("plugins.dir");
  s.plugins_load = core.getList("plugins.load");
  for (const auto& id : core.getList("plugins.optional")) s.plugins_optional.insert(id);
  s.log_level = core.getString("log.level");
  s.shutdown_deadline_ms = static_cast<int>(core.getInt("shutdown.deadline_ms"));

  static const char* const kLevels[] = {"fatal",  "critical",    "error", "warning",
                                        "notice", "information", "debug", "trace"};
  if (std::none_of(std::begin(kLevels), std::end(kLevels),
                   [&](const char* l) { return s.log_level == l; }))
    throw sdk::ConfigError("log.level: '" + s.log_level + "' is not a log level");
  for (const auto& id : s.plugins_optional)
    if (std::find(s.plugins_load.begin(), s.plugins_load.end(), id) == s.plugins_load.end())
      throw sdk::ConfigError("plugins.optional: '" + id + "' is not in plugins.load");

  // plugins.<id>.<key>: from the file and -D, then PARLEY_PLUGINS_<ID>_<KEY> from the
  // environment (the longest matching id wins, so "a" never steals "a_b"'s variables).
  std::vector<std::string> ids = s.plugins_load;
  std::sort(ids.begin(), ids.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
  for (char** env = environ; env && *env; ++env) {
    std::string entry = *env;
    auto eq = entry.find('=');
    for (const auto& id : ids) {
      const std::string prefix = envName("plugins." + id) + "_";
      if (entry.compare(0, prefix.size(), prefix) != 0 || eq <= prefix.size()) continue;
      const std::string k =
          "plugins." + id + "." + lower(entry.substr(prefix.size(), eq - prefix.size()));
      if (origin[k] != "-D") {
        values[k] = entry.substr(eq + 1);
        origin[k] = "environment " + entry.substr(0, eq);
      }
      break;
    }
  }
  for (const auto& [k, v] : values) {
    if (k.rfind("plugins.", 0) != 0 || core_values.count(k)) continue;
    const std::string rest = k.substr(8);
    auto dot = rest.find('.');
    const std::string id = rest.substr(0, dot);
    if (dot == std::string::npos)
      throw sdk::ConfigError(k + ": unknown key (from " + origin[k] + ")");
    if (std::find(s.plugins_load.begin(), s.plugins_load.end(), id) == s.plugins_load.end()) {
      // The section of a plugin that exists but is switched off is kept for when it is switched
      // on; a section that names no plugin at all is a mistake.
      if (!Poco::File(s.plugins_dir + "/" + id + ".so").exists())
        throw sdk::ConfigError(k + ": plugin '" + id + "' is not in plugins.load (from " +
                               origin[k] + ")");
      s.warnings.push_back(k + " is ignored: plugin '" + id + "' is not in plugins.load");
      continue;
    }
    s.plugin_sections[id][rest.substr(dot + 1)] = trim(v);
  }
  return s;
}

}  // namespace parley::core
