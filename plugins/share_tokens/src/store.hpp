// Where share tokens and session journals live: SQLite (one instance; the embedded default) or
// Redis (several instances). Every call may block: the plugin calls them on the worker pool only.
// Each store serialises its own calls; a failure throws StoreError.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace parley::redis {
struct Settings;
}

namespace parley::share {

struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Times are Unix seconds.
struct SessionRecord {
  std::string session_id, owner, room_id, participant;
  double started_at = 0, ended_at = 0;  // ended_at: 0 while the session is live
  std::string end_reason;
  std::int64_t dropped = 0;  // journal entries dropped past the bound (the oldest go first)
};

// One thing that happened in a session.
struct Entry {
  double ts = 0;
  std::string kind;  // question | turn | answer | hint | tone
  std::string by;    // the session it is about (turns, hints, tone events), or empty
  std::string data;  // a JSON object
};

struct TokenRecord {
  std::string hash, session_id, room_id, owner;
  double created_at = 0, expires_at = 0;
  double revoked_at = 0;  // 0: not revoked
};

class Store {
 public:
  virtual ~Store() = default;
  virtual std::string name() const = 0;  // "sqlite /var/lib/parley/share_tokens.db", ...

  // Journals. append() keeps the newest `max_entries` of a session, counting what it drops.
  virtual void beginSession(const SessionRecord& session) = 0;
  virtual void append(const std::string& session_id, const std::vector<Entry>& entries) = 0;
  virtual void endSession(const std::string& session_id, double at, const std::string& reason) = 0;
  virtual std::optional<SessionRecord> session(const std::string& session_id) = 0;
  virtual std::vector<Entry> entries(const std::string& session_id) = 0;

  // Tokens, by the hash of the token.
  virtual void addToken(const TokenRecord& token) = 0;
  virtual std::optional<TokenRecord> token(const std::string& hash) = 0;
  // Revokes the session's tokens that are neither revoked nor expired at `at` (only `hash`, when
  // given); returns the hashes this call revoked. Two instances revoking at once count each
  // token once.
  virtual std::vector<std::string> revoke(const std::string& session_id, const std::string& hash,
                                          double at) = 0;
  // Tokens neither revoked nor expired at `now`: hash -> expires_at.
  virtual std::map<std::string, double> activeTokens(double now) = 0;
  // Forgets journals of sessions that ended, and tokens that expired, before `before`.
  virtual void forget(double before) = 0;
};

struct StoreLimits {
  std::size_t max_entries = 1000;  // per session
  double retention_sec = 604800;   // Redis: how long keys outlive their session or token
};

// Opens (and creates) the SQLite database at `path`. Throws StoreError.
std::unique_ptr<Store> openSqlite(const std::string& path, StoreLimits limits);
// A Redis store; it connects on first use and again after a failure.
std::unique_ptr<Store> openRedis(const redis::Settings& settings, std::string key_prefix,
                                 StoreLimits limits);

}  // namespace parley::share
