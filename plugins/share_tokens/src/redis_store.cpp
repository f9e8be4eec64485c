// The Redis store, for several instances: every instance reads and writes the same keys, so a
// token made on one works on all, and a revocation counts everywhere at once. Keys (after the
// prefix, "parley:" by default):
//   share:session:{id}  hash   owner room_id participant started_at ended_at end_reason dropped
//   share:journal:{id}  list   entries as JSON, oldest first, trimmed to the bound
//   share:token:{hash}  hash   session_id room_id owner created_at expires_at [revoked_at]
//   share:tokens:{id}   set    the hashes of a session's tokens
//   share:active        zset   hash -> expires_at, of tokens not revoked
// Sessions and journals expire `retention_sec` after their last write; tokens that long after
// their expiry.
#include <parley/sdk/json.hpp>

#include <cmath>
#include <mutex>

#include "redis.hpp"
#include "store.hpp"

namespace parley::share {

namespace {

using Args = std::vector<std::string>;

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

std::string str(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
             ? std::string(r->str, r->len)
             : std::string();
}

class RedisStore final : public Store {
 public:
  RedisStore(const redis::Settings& settings, std::string prefix, StoreLimits limits)
      : settings_(settings), prefix_(std::move(prefix)), limits_(limits) {}

  std::string name() const override { return "redis " + settings_.where(); }

  void beginSession(const SessionRecord& s) override {
    const std::string key = sessionKey(s.session_id);
    run({{"HSETNX", key, "owner", s.owner},
         {"HSETNX", key, "room_id", s.room_id},
         {"HSETNX", key, "participant", s.participant},
         {"HSETNX", key, "started_at", number(s.started_at)},
         {"EXPIRE", key, retention()}});
  }

  void append(const std::string& session_id, const std::vector<Entry>& entries) override {
    if (entries.empty()) return;
    const std::string journal = journalKey(session_id);
    Args push = {"RPUSH", journal};
    for (const Entry& e : entries) {
      sdk::json::Writer w;
      w.beginObject().field("ts", e.ts, 6).field("kind", e.kind).field("by", e.by);
      w.key("data").raw(e.data).endObject();
      push.push_back(w.take());
    }
    auto replies = run({push, {"EXPIRE", journal, retention()}});
    const long long length = replies[0]->integer;
    const long long excess = length - static_cast<long long>(limits_.max_entries);
    if (excess > 0) {
      const std::string session = sessionKey(session_id);
      run({{"LTRIM", journal, std::to_string(excess), "-1"},
           {"HINCRBY", session, "dropped", std::to_string(excess)}});
    }
    run({{"EXPIRE", sessionKey(session_id), retention()}});
  }

  void endSession(const std::string& session_id, double at, const std::string& reason) override {
    const std::string key = sessionKey(session_id);
    run({{"HSET", key, "ended_at", number(at), "end_reason", reason},
         {"EXPIRE", key, retention()},
         {"EXPIRE", journalKey(session_id), retention()}});
  }

  std::optional<SessionRecord> session(const std::string& session_id) override {
    auto replies = run({{"HGETALL", sessionKey(session_id)}});
    const redisReply* r = replies[0].get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return std::nullopt;
    SessionRecord s;
    s.session_id = session_id;
    for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
      const std::string field = str(r->element[i]), value = str(r->element[i + 1]);
      if (field == "owner")
        s.owner = value;
      else if (field == "room_id")
        s.room_id = value;
      else if (field == "participant")
        s.participant = value;
      else if (field == "started_at")
        s.started_at = std::atof(value.c_str());
      else if (field == "ended_at")
        s.ended_at = std::atof(value.c_str());
      else if (field == "end_reason")
        s.end_reason = value;
      else if (field == "dropped")
        s.dropped = std::atoll(value.c_str());
    }
    if (s.owner.empty()) return std::nullopt;  // only the journal's expiry refresh was left
    return s;
  }

  std::vector<Entry> entries(const std::string& session_id) override {
    auto replies = run({{"LRANGE", journalKey(session_id), "0", "-1"}});
    std::vector<Entry> out;
    const redisReply* r = replies[0].get();
    for (std::size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
      sdk::json::Value v;
      if (!sdk::json::parse(str(r->element[i]), v)) continue;
      sdk::json::Writer data;
      data.value(v["data"]);
      out.push_back({v["ts"].asNumber(), std::string(v["kind"].asString()),
                     std::string(v["by"].asString()), data.take()});
    }
    return out;
  }

  void addToken(const TokenRecord& t) override {
    const std::string key = tokenKey(t.hash);
    const auto keep_until = static_cast<long long>(std::ceil(t.expires_at + limits_.retention_sec));
    run({{"HSET", key, "session_id", t.session_id, "room_id", t.room_id, "owner", t.owner,
          "created_at", number(t.created_at), "expires_at", number(t.expires_at)},
         {"EXPIREAT", key, std::to_string(keep_until)},
         {"SADD", tokensKey(t.session_id), t.hash},
         {"EXPIREAT", tokensKey(t.session_id), std::to_string(keep_until)},
         {"ZADD", activeKey(), number(t.expires_at), t.hash}});
  }

  std::optional<TokenRecord> token(const std::string& hash) override {
    auto replies = run({{"HGETALL", tokenKey(hash)}});
    const redisReply* r = replies[0].get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return std::nullopt;
    TokenRecord t;
    t.hash = hash;
    for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
      const std::string field = str(r->element[i]), value = str(r->element[i + 1]);
      if (field == "session_id")
        t.session_id = value;
      else if (field == "room_id")
        t.room_id = value;
      else if (field == "owner")
        t.owner = value;
      else if (field == "created_at")
        t.created_at = std::atof(value.c_str());
      else if (field == "expires_at")
        t.expires_at = std::atof(value.c_str());
      else if (field == "revoked_at")
        t.revoked_at = std::atof(value.c_str());
    }
    return t;
  }

  std::vector<std::string> revoke(const std::string& session_id, const std::string& hash,
                                  double at) override {
    std::vector<std::string> candidates;
    if (!hash.empty()) {
      auto member = run({{"SISMEMBER", tokensKey(session_id), hash}});
      if (member[0]->integer == 1) candidates.push_back(hash);
    } else {
      auto members = run({{"SMEMBERS", tokensKey(session_id)}});
      for (std::size_t i = 0; i < members[0]->elements; ++i)
        candidates.push_back(str(members[0]->element[i]));
    }
    std::vector<std::string> revoked;
    for (const auto& h : candidates) {
      auto t = token(h);
      if (!t || t->revoked_at > 0 || t->expires_at <= at) continue;
      // HSETNX: of two instances revoking at once, one sets it and counts it.
      auto set = run({{"HSETNX", tokenKey(h), "revoked_at", number(at)}, {"ZREM", activeKey(), h}});
      if (set[0]->integer == 1) revoked.push_back(h);
    }
    return revoked;
  }

  std::map<std::string, double> activeTokens(double now) override {
    auto replies = run({{"ZREMRANGEBYSCORE", activeKey(), "-inf", number(now)},
                        {"ZRANGEBYSCORE", activeKey(), "(" + number(now), "+inf", "WITHSCORES"}});
    std::map<std::string, double> out;
    const redisReply* r = replies[1].get();
    for (std::size_t i = 0; i + 1 < r->elements; i += 2)
      out[str(r->element[i])] = std::atof(str(r->element[i + 1]).c_str());
    return out;
  }

  void forget(double) override {}  // keys expire by themselves

 private:
  std::string sessionKey(const std::string& id) const { return prefix_ + "share:session:" + id; }
  std::string journalKey(const std::string& id) const { return prefix_ + "share:journal:" + id; }
  std::string tokenKey(const std::string& hash) const { return prefix_ + "share:token:" + hash; }
  std::string tokensKey(const std::string& id) const { return prefix_ + "share:tokens:" + id; }
  std::string activeKey() const { return prefix_ + "share:active"; }
  std::string retention() const {
    return std::to_string(static_cast<long long>(limits_.retention_sec));
  }

  // Sends the commands in one round trip and returns their replies. A broken connection is
  // opened again once; an error reply or a second failure throws StoreError.
  std::vector<redis::Reply> run(const std::vector<Args>& commands) {
    std::lock_guard lock(mutex_);
    for (int attempt = 0;; ++attempt) {
      if (!context_) {
        std::string error;
        context_ = redis::connect(settings_, error);
        if (!context_) throw StoreError(error);
      }
      std::vector<redis::Reply> replies;
      bool broken = false;
      for (const Args& args : commands) {
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (const auto& a : args) {
          argv.push_back(a.data());
          lengths.push_back(a.size());
        }
        redisAppendCommandArgv(context_.get(), static_cast<int>(argv.size()), argv.data(),
                               lengths.data());
      }
      for (std::size_t i = 0; i < commands.size() && !broken; ++i) {
        void* raw = nullptr;
        broken = redisGetReply(context_.get(), &raw) != REDIS_OK;
        if (!broken) replies.emplace_back(static_cast<redisReply*>(raw));
      }
      if (!broken) {
        // Every reply is read before any error is raised: none is left for the next call.
        for (std::size_t i = 0; i < replies.size(); ++i)
          if (replies[i]->type == REDIS_REPLY_ERROR)
            throw StoreError("Redis " + settings_.where() + ": " + str(replies[i].get()) + " (" +
                             commands[i][0] + ")");
        return replies;
      }
      const std::string why = context_->errstr;
      context_.reset();
      if (attempt == 1) throw StoreError("Redis " + settings_.where() + ": " + why);
    }
  }

  redis::Settings settings_;
  std::string prefix_;
  StoreLimits limits_;
  std::mutex mutex_;
  redis::Context context_;
};

}  // namespace

std::unique_ptr<Store> openRedis(const redis::Settings& settings, std::string key_prefix,
                                 StoreLimits limits) {
  return std::make_unique<RedisStore>(settings, std::move(key_prefix), limits);
}

}  // namespace parley::share
