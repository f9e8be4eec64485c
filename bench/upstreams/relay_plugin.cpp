// bench_upstream: the server side of bench/upstreams/sse_relay.sh and idle_upstreams.sh, on the
// SDK 1.2 surface the streaming plugins use. Built only with PARLEY_BENCH, never installed.
//
// - {"type":"bench_sse_start","url":"http://..."}: the session opens one streamed HTTP request
//   (Context::upstreams().http) on its own scope, splits the body with SseSplitter, and sends each
//   event's data to the session as {"type":"bench_chunk","data":...,"session_id":...}. With
//   "scope":"shared", the request runs on one plugin scope for every session instead (the answers
//   plugin's arrangement), and the events reach the session with Session::send from there.
// - {"type":"bench_idle_open","count":N,"url":"ws://..."}: N upstream websockets (no idle timeout)
//   spread over the plugin's own scopes, one per event loop; {"type":"bench_idle_opened","open":K,
//   "failed":F} once each has opened or failed. {"type":"bench_idle_close"} drops them all
//   ({"type":"bench_idle_closed"}).
#include <parley/sdk/plugin.hpp>

#include <atomic>

namespace {

using namespace parley::sdk;

// The idle upstreams on one of the plugin's scopes; touched only on that scope.
struct Pool {
  std::shared_ptr<Scope> scope;
  std::vector<std::unique_ptr<WebSocketClient>> clients;
};

struct Idle {
  std::vector<std::shared_ptr<Pool>> pools;
  std::atomic<long> expected{0}, open{0}, failed{0}, closed_pools{0};
};

class Relay final : public SessionHandler {
 public:
  Relay(Session& session, std::weak_ptr<Session> self, Upstreams& upstreams,
        std::shared_ptr<Idle> idle)
      : session_(session), self_(std::move(self)), upstreams_(upstreams), idle_(std::move(idle)) {}

  ~Relay() override {
    // The shared scope's stream goes on that scope, where its callbacks run.
    if (shared_)
      idle_->pools[0]->scope->post([stream = std::move(shared_)] { stream->exchange.reset(); });
  }

  void onMessage(std::string_view type, const json::Value& m) override {
    if (type == "bench_sse_start" && m["scope"].asString() == "shared")
      return startShared(std::string(m["url"].asString()));
    if (type == "bench_sse_start") return startSse(std::string(m["url"].asString()));
    if (type == "bench_idle_open")
      return openIdle(m["count"].asInt(0), std::string(m["url"].asString()));
    if (type == "bench_idle_close") return closeIdle();
  }

 private:
  void startSse(const std::string& url) {
    HttpRequest request;
    request.url = url;
    request.headers = {{"Accept", "text/event-stream"}};
    request.timeouts.idle = std::chrono::milliseconds(0);
    HttpCallbacks callbacks;
    callbacks.on_head = [this](int status, const Fields&) { status_ = status; };
    callbacks.on_body = [this](std::string_view piece) {
      if (status_ != 200) return;
      sse_.feed(piece, [this](const SseSplitter::Event& e) {
        json::Writer w;
        w.beginObject().field("type", "bench_chunk").field("data", e.data);
        session_.send(w.field("session_id", session_.info().id).endObject().take());
      });
    };
    callbacks.on_done = [this](const UpstreamResult& r) {
      json::Writer w;
      w.beginObject().field("type", "bench_sse_done").field("ok", r.ok());
      w.field("message", r.message).field("status", status_);
      session_.send(w.field("session_id", session_.info().id).endObject().take());
    };
    exchange_ = upstreams_.http(session_.scope(), std::move(request), std::move(callbacks));
  }

  // The same relay with every stream's upstream on one plugin scope (one event loop), as the
  // answers plugin runs its streams: the events reach sessions on the other loop by a post.
  struct SharedStream {
    int status = 0;
    SseSplitter sse;
    std::weak_ptr<Session> to;
    std::string id;
    std::unique_ptr<HttpExchange> exchange;
  };

  void startShared(const std::string& url) {
    shared_ = std::make_shared<SharedStream>();
    shared_->to = self_;
    shared_->id = session_.info().id;
    Upstreams* upstreams = &upstreams_;
    std::shared_ptr<Scope> scope = idle_->pools[0]->scope;
    scope->post([upstreams, scope, url, stream = shared_] {
      SharedStream* st = stream.get();  // alive while its exchange is: dropped on this scope
      HttpRequest request;
      request.url = url;
      request.headers = {{"Accept", "text/event-stream"}};
      request.timeouts.idle = std::chrono::milliseconds(0);
      HttpCallbacks callbacks;
      callbacks.on_head = [st](int status, const Fields&) { st->status = status; };
      callbacks.on_body = [st](std::string_view piece) {
        if (st->status != 200) return;
        st->sse.feed(piece, [st](const SseSplitter::Event& e) {
          auto to = st->to.lock();
          if (!to) return;
          json::Writer w;
          w.beginObject().field("type", "bench_chunk").field("data", e.data);
          to->send(w.field("session_id", st->id).endObject().take());
        });
      };
      stream->exchange = upstreams->http(*scope, std::move(request), std::move(callbacks));
    });
  }

  void openIdle(std::int64_t count, const std::string& url) {
    auto idle = idle_;
    idle->expected = count;
    idle->open = idle->failed = 0;
    std::weak_ptr<Session> who = self_;
    auto settled = [idle, who] {
      if (idle->open + idle->failed != idle->expected) return;
      if (auto s = who.lock()) {
        json::Writer w;
        w.beginObject().field("type", "bench_idle_opened").field("open", idle->open.load());
        w.field("failed", idle->failed.load());
        s->send(w.field("session_id", s->info().id).endObject().take());
      }
    };
    const std::size_t pools = idle->pools.size();
    for (std::size_t p = 0; p < pools; ++p) {
      const std::int64_t mine =
          count / static_cast<std::int64_t>(pools) +
          (static_cast<std::int64_t>(p) < count % static_cast<std::int64_t>(pools));
      auto pool = idle->pools[p];
      Upstreams* upstreams = &upstreams_;  // the handler may be gone when this runs
      pool->scope->post([upstreams, pool, mine, url, idle, settled] {
        for (std::int64_t i = 0; i < mine; ++i) {
          WebSocketRequest request;
          request.url = url;
          request.timeouts.idle = std::chrono::milliseconds(0);
          WebSocketCallbacks callbacks;
          auto done = std::make_shared<bool>(false);
          callbacks.on_open = [idle, settled, done](const Fields&, const std::string&) {
            *done = true;
            ++idle->open;
            settled();
          };
          callbacks.on_close = [idle, settled, done](const UpstreamResult&) {
            if (*done) return;
            *done = true;
            ++idle->failed;
            settled();
          };
          pool->clients.push_back(
              upstreams->webSocket(*pool->scope, std::move(request), std::move(callbacks)));
        }
      });
    }
  }

  void closeIdle() {
    auto idle = idle_;
    idle->closed_pools = 0;
    std::weak_ptr<Session> who = self_;
    for (auto& pool : idle->pools)
      pool->scope->post([pool, idle, who] {
        pool->clients.clear();
        pool->clients.shrink_to_fit();
        if (++idle->closed_pools != static_cast<long>(idle->pools.size())) return;
        if (auto s = who.lock()) {
          json::Writer w;
          w.beginObject().field("type", "bench_idle_closed");
          s->send(w.field("session_id", s->info().id).endObject().take());
        }
      });
  }

  Session& session_;
  std::weak_ptr<Session> self_;
  Upstreams& upstreams_;
  std::shared_ptr<Idle> idle_;
  int status_ = 0;
  SseSplitter sse_;
  std::unique_ptr<HttpExchange> exchange_;
  std::shared_ptr<SharedStream> shared_;
};

class UpstreamBench final : public Plugin {
 public:
  Descriptor describe() const override {
    Descriptor d;
    d.id = "bench_upstream";
    d.version = "1.0";
    d.summary = "benchmark: SSE relay and idle upstream websockets";
    d.config = {{"idle_scopes", ConfigType::kInt, "2",
                 "Scopes the idle upstreams are spread over (one per event loop).", 1, 64}};
    return d;
  }

  void start(Context& ctx) override {
    idle_ = std::make_shared<Idle>();
    for (std::int64_t i = 0; i < ctx.config().getInt("idle_scopes"); ++i) {
      auto pool = std::make_shared<Pool>();
      pool->scope = ctx.scopes().create();
      idle_->pools.push_back(pool);
    }
    Upstreams* upstreams = &ctx.upstreams();
    auto idle = idle_;
    regs_.push_back(ctx.websockets().attach(
        {{"bench_sse_start", "bench_idle_open", "bench_idle_close"}, /*binary=*/false},
        [upstreams, idle](const SessionPtr& s) -> std::unique_ptr<SessionHandler> {
          return std::make_unique<Relay>(*s, s, *upstreams, idle);
        }));
  }

  void stop() override {
    regs_.clear();
    idle_.reset();
  }

 private:
  std::shared_ptr<Idle> idle_;
  std::vector<Registration> regs_;
};

}  // namespace

PARLEY_PLUGIN(UpstreamBench)
