// share_tokens: time-limited, revocable read access to a session. Journals what every session saw
// and said (in SQLite or Redis, written off the event loops), issues and revokes share tokens
// (stored as hashes), serves the redacted snapshot a token reads, and admits a token's holder to
// the room as a read-only viewer, closed the moment the token is revoked or expires.
#include <parley/sdk/errors.hpp>
#include <parley/sdk/plugin.hpp>
#include <parley/sdk/services/rooms.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <variant>

#include "journal.hpp"
#include "redis.hpp"
#include "token.hpp"

namespace parley::share {
namespace {

using namespace parley::sdk;
using json::Value;

constexpr int kCloseRevoked = 4403;  // close codes of a viewer whose token ended
constexpr int kCloseExpired = 4401;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const std::string& param(const Fields& fields, const std::string& name) {
  static const std::string kNone;
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  return kNone;
}

// The default database: systemd's StateDirectory= when there is one, else the user's state dir.
std::string defaultSqlitePath() {
  if (const char* state = std::getenv("STATE_DIRECTORY"); state && *state)
    return std::string(state) + "/share_tokens.db";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/parley/share_tokens.db";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/state/parley/share_tokens.db";
}

// Unix time, read from the plugin scope's clock (so the SDK's test host can move it).
class WallClock {
 public:
  explicit WallClock(const Scope& scope) : scope_(scope), steady0_(scope.now()) {
    using namespace std::chrono;
    epoch0_ = duration<double>(system_clock::now().time_since_epoch()).count();
  }
  double now() const {
    return epoch0_ + std::chrono::duration<double>(scope_.now() - steady0_).count();
  }

 private:
  const Scope& scope_;
  Scope::Clock::time_point steady0_;
  double epoch0_ = 0;
};

// Tokens neither revoked nor expired, by hash: the share_tokens_active gauge counts them at
// scrape, with no storage call on the loop that scrapes.
class ActiveTokens {
 public:
  void replace(std::map<std::string, double> all) {
    std::lock_guard lock(mutex_);
    expiry_ = std::move(all);
  }
  void add(const std::string& hash, double expires_at) {
    std::lock_guard lock(mutex_);
    expiry_[hash] = expires_at;
  }
  void remove(const std::vector<std::string>& hashes) {
    std::lock_guard lock(mutex_);
    for (const auto& h : hashes) expiry_.erase(h);
  }
  std::int64_t count(double now) const {
    std::lock_guard lock(mutex_);
    std::int64_t n = 0;
    for (const auto& [hash, expires] : expiry_) n += expires > now;
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, double> expiry_;
};

// This instance's sessions: the journaled ones by room, and the viewers by share id. A journaled
// session is its own id string (SessionInfo::id, alive until its handler's onClose), not a copy:
// every idle session pays for this.
class LocalSessions {
 public:
  // Returns the room's key, for forget(): it stays while the room has a journaled session.
  const std::string* journal(const std::string& session_id, const std::string& room) {
    std::lock_guard lock(mutex_);
    auto it = rooms_.try_emplace(room).first;
    it->second.push_back(&session_id);
    return &it->first;
  }
  void forget(const std::string& session_id, const std::string* room) {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(*room);
    auto& ids = it->second;
    ids.erase(std::remove(ids.begin(), ids.end(), &session_id), ids.end());
    if (ids.empty()) rooms_.erase(it);
  }
  bool journaled(const std::string& session, const std::string& room) const {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(room);
    return it != rooms_.end() && std::any_of(it->second.begin(), it->second.end(),
                                             [&](const std::string* id) { return *id == session; });
  }
  std::vector<std::string> inRoom(const std::string& room) const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> ids;
    if (auto it = rooms_.find(room); it != rooms_.end())
      for (const std::string* id : it->second) ids.push_back(*id);
    return ids;
  }
  void viewer(const std::string& share_id, const SessionPtr& s) {
    std::lock_guard lock(mutex_);
    viewers_[share_id][s->info().id] = s;
  }
  void viewerGone(const std::string& share_id, const std::string& session) {
    std::lock_guard lock(mutex_);
    auto it = viewers_.find(share_id);
    if (it == viewers_.end()) return;
    it->second.erase(session);
    if (it->second.empty()) viewers_.erase(it);
  }
  // Ends the viewers that hold one of `share_ids`.
  void closeViewers(const std::vector<std::string>& share_ids, int code, const std::string& why) {
    std::vector<SessionPtr> closing;
    {
      std::lock_guard lock(mutex_);
      for (const auto& id : share_ids)
        if (auto it = viewers_.find(id); it != viewers_.end())
          for (const auto& [sid, s] : it->second) closing.push_back(s);
    }
    for (const auto& s : closing) s->close(DisconnectReason::kOther, code, why);
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::vector<const std::string*>> rooms_;
  std::unordered_map<std::string, std::unordered_map<std::string, SessionPtr>> viewers_;
};

struct Shared {
  std::shared_ptr<Store> store;
  std::shared_ptr<WriteQueue> writer;
  std::unique_ptr<WallClock> clock;
  LocalSessions local;
  ActiveTokens active;
  std::shared_ptr<Counter> revoked = std::make_shared<Counter>();
  std::shared_ptr<RoomsService> rooms;
  std::size_t max_entries = 1000;
};

// A participant's session: begun and ended in the journal.
class Journaled final : public SessionHandler {
 public:
  Journaled(Shared& shared, Session& session, std::string room)
      : shared_(shared), session_(session) {
    const SessionInfo& info = session.info();
    SessionRecord record{info.id, info.user, room, info.participant, shared.clock->now(), 0, "", 0};
    room_ = shared_.local.journal(info.id, room);
    shared_.writer->push([record](Store& s) { s.beginSession(record); });
  }
  // Also without onClose (the plugin stopping under a live session): LocalSessions must never
  // hold the id of a session it no longer follows.
  ~Journaled() override { forget(); }
  void onClose(DisconnectReason reason) override {
    const std::string id = session_.info().id;
    forget();
    shared_.writer->push([id, at = shared_.clock->now(), why = std::string(reasonName(reason))](
                             Store& s) { s.endSession(id, at, why); });
  }

 private:
  void forget() {
    if (room_) shared_.local.forget(session_.info().id, room_);
    room_ = nullptr;
  }

  Shared& shared_;
  Session& session_;
  const std::string* room_;  // LocalSessions' key; null once forgotten
};

// A share token's holder in the room: closed when its token expires (revocation closes it
// through LocalSessions::closeViewers).
class Viewer final : public SessionHandler {
 public:
  Viewer(Shared& shared, const SessionPtr& session) : shared_(shared), id_(session->info().id) {
    share_id_ = std::string(session->claims()["share_id"].asString());
    shared_.local.viewer(share_id_, session);
    const double left = session->claims()["expires_at"].asNumber() - shared_.clock->now();
    Session* s = session.get();
    expiry_ = s->scope().after(
        std::chrono::milliseconds(static_cast<std::int64_t>(std::max(0.0, left) * 1000)),
        [s] { s->close(DisconnectReason::kOther, kCloseExpired, "share token expired"); });
  }
  void onClose(DisconnectReason) override {
    expiry_.cancel();
    shared_.local.viewerGone(share_id_, id_);
  }

 private:
  Shared& shared_;
  std::string id_, share_id_;
  Timer expiry_;
};

class ShareTokens final : public Plugin {
 public:
  Descriptor describe() const override {
    Descriptor d;
    d.id = "share_tokens";
    d.version = "1.0.0";
    d.summary = "Session journals, share tokens, read-only snapshots and live viewers.";
    d.dependencies = {"rooms"};
    d.config = {
        {"ttl_sec", ConfigType::kInt, "86400", "How long a share token lives, in seconds.", 60,
         31536000},
        {"store", ConfigType::kString, "sqlite",
         "sqlite: a file, for one instance; redis: for several instances."},
        {"sqlite_path", ConfigType::kString, "",
         "The SQLite file; empty: $STATE_DIRECTORY/share_tokens.db (systemd's StateDirectory=), "
         "else ~/.local/state/parley/share_tokens.db."},
        {"journal_max_entries", ConfigType::kInt, "1000",
         "Journal entries kept per session; past it the oldest go (and are counted).", 10, 100000},
        {"retention_sec", ConfigType::kInt, "604800",
         "Journals and tokens are forgotten this long after their session ended or their token "
         "expired.",
         3600, 315360000},
        {"redis_key_prefix", ConfigType::kString, "parley:", "Prefix of the keys in Redis."},
    };
    for (auto key : redis::settingsKeys("redis_")) {
      key.doc += " (store = redis)";
      d.config.push_back(std::move(key));
    }
    return d;
  }

  void configure(const PluginConfig& cfg) override {
    const std::string& store = cfg.getString("store");
    if (store != "sqlite" && store != "redis")
      throw ConfigError("plugins.share_tokens.store: '" + store + "' is neither sqlite nor redis");
  }

  void start(Context& ctx) override {
    const PluginConfig& cfg = ctx.config();
    ttl_ = static_cast<double>(cfg.getInt("ttl_sec"));
    scope_ = ctx.scopes().create();
    shared_.clock = std::make_unique<WallClock>(*scope_);
    shared_.max_entries = static_cast<std::size_t>(cfg.getInt("journal_max_entries"));
    retention_ = static_cast<double>(cfg.getInt("retention_sec"));
    const StoreLimits limits{shared_.max_entries, retention_};
    redis_ = cfg.getString("store") == "redis";
    try {
      shared_.store =
          redis_ ? std::shared_ptr<Store>(openRedis(redis::readSettings(cfg, "redis_"),
                                                    cfg.getString("redis_key_prefix"), limits))
                 : std::shared_ptr<Store>(openSqlite(cfg.getString("sqlite_path").empty()
                                                         ? defaultSqlitePath()
                                                         : cfg.getString("sqlite_path"),
                                                     limits));
      shared_.active.replace(shared_.store->activeTokens(shared_.clock->now()));
    } catch (const StoreError& e) {
      if (!redis_) throw std::runtime_error(e.what());
      // Redis may come back: the store reconnects on its next call.
      ctx.log().warning(std::string("the share token store is unavailable for now: ") + e.what());
    }
    ctx.log().info("share tokens in " + shared_.store->name());
    shared_.writer = std::make_shared<WriteQueue>(shared_.store, scope_, ctx.log());
    shared_.rooms = ctx.services().find<RoomsService>(kRoomsService);
    if (!shared_.rooms)
      throw std::runtime_error("the rooms service (parley.rooms.v1) is not offered");

    registerMetrics(ctx.metrics());
    registerRoutes(ctx.http());
    regs_.push_back(
        ctx.access().addVerifier("share", [this](const Credentials& c) { return verify(c); }));
    regs_.push_back(ctx.websockets().attach(
        {{}, /*binary=*/false}, [this](const SessionPtr& s) -> std::unique_ptr<SessionHandler> {
          if (isViewer(s->info())) {
            if (s->claims()["share_id"].isString()) return std::make_unique<Viewer>(shared_, s);
            return nullptr;  // a bearer's viewer (open access): nothing to end it
          }
          return std::make_unique<Journaled>(shared_, *s, shared_.rooms->roomOf(s->info().id));
        }));
    follow(ctx.events());
    housekeeping();
  }

  void stop() override {
    regs_.clear();
    upkeep_.clear();
    if (shared_.writer) shared_.writer->flush();  // what the sessions' ends queued
    scope_.reset();
  }

 private:
  void registerMetrics(MetricsRegistry& metrics) {
    regs_.push_back(
        metrics.addComputed("share_tokens_active", "Share tokens neither revoked nor expired.",
                            [this] { return shared_.active.count(shared_.clock->now()); }));
    regs_.push_back(metrics.add("share_tokens_revoked", "Share tokens revoked.", shared_.revoked));
    auto ttl = std::make_shared<Gauge>();
    ttl->set(static_cast<std::int64_t>(ttl_));
    regs_.push_back(
        metrics.add("share_token_ttl_sec", "Configured share token TTL in seconds.", ttl));
  }

  // ---- Who may read --------------------------------------------------------------------------

  // A share token, in ?share= (the websocket) or ?token= (the snapshot). On the worker pool.
  Grant verify(const Credentials& c) {
    std::string token = param(c.query, "share");
    if (token.empty()) token = param(c.query, "token");
    if (token.empty())
      return Grant::refuse(403, "share_token_missing", "a share token is required (?token=)");
    if (!wellFormed(token))
      return Grant::refuse(403, "share_token_invalid", "the share token is not valid");
    const std::string hash = tokenHash(token);
    std::optional<TokenRecord> t;
    try {
      t = shared_.store->token(hash);
    } catch (const StoreError& e) {
      return Grant::refuse(503, "store_unavailable", "share tokens cannot be checked right now");
    }
    if (!t || !sameHash(t->hash, hash))
      return Grant::refuse(403, "share_token_invalid", "the share token is not valid");
    static const std::string kSnapshot = "/api/public/session/";
    if (c.path.rfind(kSnapshot, 0) == 0) {
      const std::string id = lower(
          c.path.substr(kSnapshot.size(), c.path.find('/', kSnapshot.size()) - kSnapshot.size()));
      if (id != t->session_id)
        return Grant::refuse(403, "share_token_wrong_session",
                             "the share token is for another session");
    } else {
      const std::string room = lower(param(c.query, "room_id"));
      if (room.empty())
        return Grant::refuse(400, "bad_request",
                             "a viewer joins with room_id, the shared session's room");
      if (room != t->room_id)
        return Grant::refuse(403, "share_token_wrong_session",
                             "the share token is for another room");
    }
    if (t->revoked_at > 0)
      return Grant::refuse(403, "share_token_revoked", "the share token was revoked");
    if (t->expires_at <= shared_.clock->now())
      return Grant::refuse(403, "share_token_expired", "the share token has expired");
    Grant g = Grant::allow("share:" + shareId(hash));
    g.participant = "viewer";
    json::Writer claims;
    claims.beginObject().field("room_id", t->room_id).field("participant", "viewer");
    claims.field("session_id", t->session_id).field("share_id", shareId(hash));
    claims.field("expires_at", t->expires_at, 3).endObject();
    json::parse(claims.str(), g.claims);
    return g;
  }

  // ---- Routes --------------------------------------------------------------------------------

  void registerRoutes(HttpRoutes& http) {
    regs_.push_back(http.add("POST", "/api/session/{id}/share", AuthPolicy::kBearer,
                             [this](const Request& r) { return share(r); }));
    regs_.push_back(http.add("POST", "/api/share/{id}/revoke", AuthPolicy::kBearer,
                             [this](const Request& r) { return revoke(r); }));
    RouteSpec snapshot;
    snapshot.method = "GET";
    snapshot.pattern = "/api/public/session/{id}/snapshot";
    snapshot.verifier = "share";
    regs_.push_back(http.add(snapshot, [this](const Request& r) { return this->snapshot(r); }));
  }

  // The session, if it is the caller's; else the answer to give.
  std::variant<SessionRecord, Response> ownSession(const Request& r) {
    const std::string id = lower(r.pathParam("id"));
    shared_.writer->flush();  // a session that just began is in the store
    std::optional<SessionRecord> s = shared_.store->session(id);
    if (!s) return Response::error(404, "not_found", "no such session: " + id);
    if (s->owner != r.principal.subject)
      return Response::error(403, "forbidden", "the session belongs to another user");
    return *s;
  }

  Response share(const Request& r) {
    return withStore([&] {
      auto own = ownSession(r);
      if (auto* refusal = std::get_if<Response>(&own)) return *refusal;
      const SessionRecord& s = std::get<SessionRecord>(own);
      const std::string token = newToken();
      const double now = shared_.clock->now();
      TokenRecord t{tokenHash(token), s.session_id, s.room_id, s.owner, now, now + ttl_, 0};
      shared_.store->addToken(t);
      shared_.active.add(t.hash, t.expires_at);
      json::Writer w;
      w.beginObject().field("share_token", token);
      w.field("share_path", "/ws/voice?room_id=" + s.room_id + "&share=" + token);
      w.field("public_api_path",
              "/api/public/session/" + s.session_id + "/snapshot?token=" + token);
      w.field("expires_at", t.expires_at, 3).field("ttl_sec", static_cast<std::int64_t>(ttl_));
      Response out = Response::json(201, w.endObject().take());
      out.headers.emplace_back("Cache-Control", "no-store");
      return out;
    });
  }

  Response revoke(const Request& r) {
    std::string hash;
    if (!r.body.empty()) {
      Value body;
      if (!json::parse(r.body, body) || !body.isObject())
        return Response::error(400, "bad_request", "the body must be a JSON object, or empty");
      const Value& token = body["token"];
      if (!token.isNull() && !token.isString())
        return Response::error(400, "bad_request", "\"token\" must be a string");
      if (token.isString()) {
        if (!wellFormed(token.asString()))
          return Response::error(400, "bad_request", "\"token\" is not a share token");
        hash = tokenHash(token.asString());
      }
    }
    return withStore([&] {
      auto own = ownSession(r);
      if (auto* refusal = std::get_if<Response>(&own)) return *refusal;
      const SessionRecord& s = std::get<SessionRecord>(own);
      const std::vector<std::string> revoked =
          shared_.store->revoke(s.session_id, hash, shared_.clock->now());
      ended(s, revoked);
      json::Writer w;
      w.beginObject().field("session_id", s.session_id).field("revoked_count", revoked.size());
      return Response::json(200, w.field("token_filtered", !hash.empty()).endObject().take());
    });
  }

  // Revoked tokens: counted, dropped from the gauge, their viewers closed here and, through the
  // room (relayed to other instances), everywhere.
  void ended(const SessionRecord& s, const std::vector<std::string>& hashes) {
    if (hashes.empty()) return;
    shared_.revoked->inc(hashes.size());
    shared_.active.remove(hashes);
    std::vector<std::string> ids;
    json::Writer w;
    w.beginObject().field("type", "share_revoked").field("room_id", s.room_id);
    w.field("session_id", s.session_id)
        .field("revoked_count", hashes.size())
        .key("share_ids")
        .beginArray();
    for (const auto& h : hashes) {
      ids.push_back(shareId(h));
      w.value(ids.back());
    }
    shared_.local.closeViewers(ids, kCloseRevoked, "share token revoked");
    shared_.rooms->broadcast(s.room_id, w.endArray().endObject().take());
  }

  Response snapshot(const Request& r) {
    return withStore([&] {
      std::string token = r.queryParam("token");
      if (token.empty()) token = r.queryParam("share");
      const std::optional<TokenRecord> t = shared_.store->token(tokenHash(token));
      shared_.writer->flush();
      const std::optional<SessionRecord> s =
          t ? shared_.store->session(t->session_id) : std::nullopt;
      if (!t || !s) return Response::error(404, "not_found", "the shared session is gone");
      Response out = Response::json(200, snapshotJson(*s, shared_.store->entries(s->session_id),
                                                      shared_.max_entries, t->expires_at));
      out.headers.emplace_back("Cache-Control", "no-store");
      return out;
    });
  }

  template <class F>
  Response withStore(F&& f) {
    try {
      return f();
    } catch (const StoreError& e) {
      Response r =
          Response::error(503, "store_unavailable", "the share token store is unavailable");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
  }

  // ---- What the journals record --------------------------------------------------------------

  void follow(EventBus& bus) {
    auto own = [this, &bus](const char* topic, std::optional<Entry> (*make)(double, const Value&)) {
      regs_.push_back(bus.subscribe(topic, [this, make](const Event& e) {
        Value v;
        if (!json::parse(e.json, v)) return;
        const std::string session(v["session_id"].asString());
        if (!shared_.local.journaled(session, shared_.rooms->roomOf(session))) return;
        if (auto entry = make(shared_.clock->now(), v))
          shared_.writer->push([session, entry = *entry](Store& s) { s.append(session, {entry}); });
      }));
    };
    own("turn.finalized", &turnEntry);
    own("assist.hint", &hintEntry);

    regs_.push_back(
        shared_.rooms->onEvent([this](const std::string& room, const std::string& json) {
          if (json.find("\"interviewer_question\"") == std::string::npos &&
              json.find("\"answer_suggestion_done\"") == std::string::npos &&
              json.find("_event\"") == std::string::npos &&
              json.find("\"interruption_simulation\"") == std::string::npos &&
              json.find("\"share_revoked\"") == std::string::npos)
            return;  // answer chunks and captions, mostly
          Value v;
          if (!json::parse(json, v)) return;
          const std::string type(v["type"].asString());
          if (type == "share_revoked") {
            std::vector<std::string> ids;
            for (const auto& id : v["share_ids"].items()) ids.emplace_back(id.asString());
            return shared_.local.closeViewers(ids, kCloseRevoked, "share token revoked");
          }
          const double now = shared_.clock->now();
          std::optional<Entry> entry;
          if (type == "interviewer_question")
            entry = questionEntry(now, v);
          else if (type == "answer_suggestion_done")
            entry = answerEntry(now, v);
          else if (type == "tone_shift_event" || type == "pressure_spike_event" ||
                   type == "interruption_simulation")
            entry = toneEntry(now, v);
          const auto sessions = shared_.local.inRoom(room);
          if (!entry || sessions.empty()) return;
          shared_.writer->push([sessions, entry = *entry](Store& s) {
            for (const auto& id : sessions) s.append(id, {entry});
          });
        }));
  }

  // The gauge's view of other instances' tokens (Redis), and forgetting old journals.
  void housekeeping() {
    auto store = shared_.store;
    Shared* shared = &shared_;
    if (redis_)
      upkeep_.push_back(scope_->every(std::chrono::seconds(10), [this, store, shared] {
        scope_->offload(
            [store, shared] {
              try {
                shared->active.replace(store->activeTokens(shared->clock->now()));
              } catch (const StoreError&) {
              }
            },
            [] {});
      }));
    upkeep_.push_back(scope_->every(std::chrono::hours(1), [this, store, shared] {
      const double before = shared->clock->now() - retention_;
      scope_->offload(
          [store, before] {
            try {
              store->forget(before);
            } catch (const StoreError&) {
            }
          },
          [] {});
    }));
  }

  Shared shared_;
  std::shared_ptr<Scope> scope_;
  double ttl_ = 86400, retention_ = 604800;
  bool redis_ = false;
  std::vector<Timer> upkeep_;
  std::vector<Registration> regs_;
};

}  // namespace
}  // namespace parley::share

PARLEY_PLUGIN(parley::share::ShareTokens)
