// The SQLite store, through Poco Data: one file, written by one instance. WAL mode, so readers
// (a snapshot) do not wait for the journal's writes.
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Path.h>

#include <mutex>

#include "store.hpp"

namespace parley::share {

namespace {

using namespace Poco::Data::Keywords;
using Poco::Data::Session;

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, StoreLimits limits)
      : path_(path), limits_(limits), db_(open(path)) {
    db_ << "PRAGMA journal_mode = WAL", now;
    db_ << "PRAGMA busy_timeout = 5000", now;
    db_ << "PRAGMA synchronous = NORMAL", now;
    db_ << "CREATE TABLE IF NOT EXISTS sessions (session_id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
           "room_id TEXT NOT NULL, participant TEXT NOT NULL, started_at REAL NOT NULL, "
           "ended_at REAL NOT NULL DEFAULT 0, end_reason TEXT NOT NULL DEFAULT '', "
           "dropped INTEGER NOT NULL DEFAULT 0)",
        now;
    db_ << "CREATE TABLE IF NOT EXISTS entries (id INTEGER PRIMARY KEY AUTOINCREMENT, "
           "session_id TEXT NOT NULL, ts REAL NOT NULL, kind TEXT NOT NULL, by_session TEXT NOT "
           "NULL, data TEXT NOT NULL)",
        now;
    db_ << "CREATE INDEX IF NOT EXISTS entries_of_session ON entries (session_id, id)", now;
    db_ << "CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, session_id TEXT NOT NULL, "
           "room_id TEXT NOT NULL, owner TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL "
           "NOT NULL, revoked_at REAL NOT NULL DEFAULT 0)",
        now;
    db_ << "CREATE INDEX IF NOT EXISTS tokens_of_session ON tokens (session_id)", now;
  }

  std::string name() const override { return "sqlite " + path_; }

  void beginSession(const SessionRecord& s) override {
    guarded([&] {
      SessionRecord r = s;
      db_ << "INSERT OR IGNORE INTO sessions (session_id, owner, room_id, participant, started_at) "
             "VALUES (?, ?, ?, ?, ?)",
          use(r.session_id), use(r.owner), use(r.room_id), use(r.participant), use(r.started_at),
          now;
    });
  }

  void append(const std::string& session_id, const std::vector<Entry>& entries) override {
    guarded([&] {
      std::string id = session_id;
      db_.begin();
      try {
        for (Entry e : entries)
          db_ << "INSERT INTO entries (session_id, ts, kind, by_session, data) VALUES (?, ?, ?, ?, "
                 "?)",
              use(id), use(e.ts), use(e.kind), use(e.by), use(e.data), now;
        Poco::Int64 count = 0;
        db_ << "SELECT COUNT(*) FROM entries WHERE session_id = ?", into(count), use(id), now;
        Poco::Int64 excess = count - static_cast<Poco::Int64>(limits_.max_entries);
        if (excess > 0) {
          db_ << "DELETE FROM entries WHERE id IN (SELECT id FROM entries WHERE session_id = ? "
                 "ORDER BY id LIMIT ?)",
              use(id), use(excess), now;
          db_ << "UPDATE sessions SET dropped = dropped + ? WHERE session_id = ?", use(excess),
              use(id), now;
        }
        db_.commit();
      } catch (...) {
        db_.rollback();
        throw;
      }
    });
  }

  void endSession(const std::string& session_id, double at, const std::string& reason) override {
    guarded([&] {
      std::string id = session_id, why = reason;
      db_ << "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE session_id = ?", use(at),
          use(why), use(id), now;
    });
  }

  std::optional<SessionRecord> session(const std::string& session_id) override {
    std::optional<SessionRecord> out;
    guarded([&] {
      std::string id = session_id;
      std::vector<std::string> owner, room, participant, reason;
      std::vector<double> started, ended;
      std::vector<Poco::Int64> dropped;
      db_ << "SELECT owner, room_id, participant, started_at, ended_at, end_reason, dropped FROM "
             "sessions WHERE session_id = ?",
          into(owner), into(room), into(participant), into(started), into(ended), into(reason),
          into(dropped), use(id), now;
      if (owner.empty()) return;
      out = SessionRecord{id,         owner[0], room[0],   participant[0],
                          started[0], ended[0], reason[0], dropped[0]};
    });
    return out;
  }

  std::vector<Entry> entries(const std::string& session_id) override {
    std::vector<Entry> out;
    guarded([&] {
      std::string id = session_id;
      std::vector<double> ts;
      std::vector<std::string> kind, by, data;
      db_ << "SELECT ts, kind, by_session, data FROM entries WHERE session_id = ? ORDER BY id",
          into(ts), into(kind), into(by), into(data), use(id), now;
      for (std::size_t i = 0; i < ts.size(); ++i) out.push_back({ts[i], kind[i], by[i], data[i]});
    });
    return out;
  }

  void addToken(const TokenRecord& t) override {
    guarded([&] {
      TokenRecord r = t;
      db_ << "INSERT INTO tokens (hash, session_id, room_id, owner, created_at, expires_at) "
             "VALUES (?, ?, ?, ?, ?, ?)",
          use(r.hash), use(r.session_id), use(r.room_id), use(r.owner), use(r.created_at),
          use(r.expires_at), now;
    });
  }

  std::optional<TokenRecord> token(const std::string& hash) override {
    std::optional<TokenRecord> out;
    guarded([&] {
      std::string h = hash;
      std::vector<std::string> session, room, owner;
      std::vector<double> created, expires, revoked;
      db_ << "SELECT session_id, room_id, owner, created_at, expires_at, revoked_at FROM tokens "
             "WHERE hash = ?",
          into(session), into(room), into(owner), into(created), into(expires), into(revoked),
          use(h), now;
      if (session.empty()) return;
      out = TokenRecord{h, session[0], room[0], owner[0], created[0], expires[0], revoked[0]};
    });
    return out;
  }

  std::vector<std::string> revoke(const std::string& session_id, const std::string& hash,
                                  double at) override {
    std::vector<std::string> revoked;
    guarded([&] {
      std::string id = session_id, h = hash;
      double when = at;
      db_.begin();
      try {
        if (h.empty())
          db_ << "SELECT hash FROM tokens WHERE session_id = ? AND revoked_at = 0 AND expires_at > "
                 "?",
              into(revoked), use(id), use(when), now;
        else
          db_ << "SELECT hash FROM tokens WHERE session_id = ? AND hash = ? AND revoked_at = 0 AND "
                 "expires_at > ?",
              into(revoked), use(id), use(h), use(when), now;
        for (std::string r : revoked)
          db_ << "UPDATE tokens SET revoked_at = ? WHERE hash = ?", use(when), use(r), now;
        db_.commit();
      } catch (...) {
        db_.rollback();
        throw;
      }
    });
    return revoked;
  }

  std::map<std::string, double> activeTokens(double at) override {
    std::map<std::string, double> out;
    guarded([&] {
      double when = at;
      std::vector<std::string> hashes;
      std::vector<double> expires;
      db_ << "SELECT hash, expires_at FROM tokens WHERE revoked_at = 0 AND expires_at > ?",
          into(hashes), into(expires), use(when), now;
      for (std::size_t i = 0; i < hashes.size(); ++i) out[hashes[i]] = expires[i];
    });
    return out;
  }

  void forget(double before) override {
    guarded([&] {
      double when = before;
      db_ << "DELETE FROM entries WHERE session_id IN (SELECT session_id FROM sessions WHERE "
             "ended_at > 0 AND ended_at < ?)",
          use(when), now;
      db_ << "DELETE FROM sessions WHERE ended_at > 0 AND ended_at < ?", use(when), now;
      db_ << "DELETE FROM tokens WHERE expires_at < ?", use(when), now;
    });
  }

 private:
  static Session open(const std::string& path) {
    try {
      Poco::Data::SQLite::Connector::registerConnector();
      const Poco::Path parent = Poco::Path(path).parent();
      if (!parent.toString().empty()) Poco::File(parent).createDirectories();
      return Session(Poco::Data::SQLite::Connector::KEY, path);
    } catch (const Poco::Exception& e) {
      throw StoreError("cannot open the SQLite database " + path + ": " + e.displayText());
    }
  }

  template <class F>
  void guarded(F&& f) {
    std::lock_guard lock(mutex_);
    try {
      f();
    } catch (const Poco::Exception& e) {
      throw StoreError("SQLite " + path_ + ": " + e.displayText());
    }
  }

  std::string path_;
  StoreLimits limits_;
  std::mutex mutex_;
  Session db_;
};

}  // namespace

std::unique_ptr<Store> openSqlite(const std::string& path, StoreLimits limits) {
  try {
    return std::make_unique<SqliteStore>(path, limits);
  } catch (const Poco::Exception& e) {
    throw StoreError("cannot prepare the SQLite database " + path + ": " + e.displayText());
  }
}

}  // namespace parley::share
