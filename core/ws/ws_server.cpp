#include "core/ws/ws_server.hpp"

#include <Poco/Logger.h>
#include <Poco/UUIDGenerator.h>

#include <sys/socket.h>

#include <chrono>
#include <future>
#include <map>

#include "core/http/bearer_auth.hpp"
#include "core/http/url.hpp"
#include "core/runtime/access_registry.hpp"
#include "core/runtime/worker_pool.hpp"
#include "core/ws/handshake.hpp"
#include "core/ws/message.hpp"
#include "parley/sdk/errors.hpp"
#include "parley/sdk/json.hpp"

namespace parley::core {

// What an admitted upgrade carries from admit() to adopt(). Its slot under ws.max_connections is
// given back if the connection never becomes a session.
struct UpgradeHandler::Admission {
  sdk::SessionInfo info;
  sdk::json::Value claims;
  std::string response;  // the 101
  std::atomic<int>* slots = nullptr;
  ~Admission() {
    if (slots) slots->fetch_sub(1);
  }
};

namespace ws {

namespace {

using sdk::DisconnectReason;
constexpr std::size_t kReasons = 7;  // DisconnectReason::kClientDisconnect .. kOther

sdk::Response refusal(int status, std::string_view code, std::string_view message) {
  return sdk::Response::error(status, code, message);
}

std::int64_t unixMillis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

struct WsServer::Handler {
  enum class Kind { kRaw, kJson, kBinary, kOpen, kClose, kAttach };
  Kind kind = Kind::kRaw;
  std::string owner;
  const std::string* key = nullptr;  // kAttach: `owner` interned, what sessions' handlers() hold
  sdk::RunOn where = sdk::RunOn::kLoop;
  sdk::WebSockets::MessageHandler on_message;
  sdk::WebSockets::JsonHandler on_json;
  sdk::WebSockets::BinaryHandler on_binary;
  sdk::WebSockets::OpenHandler on_open;
  sdk::WebSockets::CloseHandler on_close;
  sdk::SessionHandlerSpec spec;
  sdk::WebSockets::HandlerFactory factory;
  CallGate gate;
};

WsServer::WsServer(const WsSettings& settings, const BearerAuth& auth, const AccessRegistry& access,
                   WorkerPool& workers, Poco::Logger& log, ErrorSink on_error)
    : settings_(settings),
      auth_(auth),
      access_(access),
      workers_(workers),
      log_(log),
      on_error_(std::move(on_error)),
      ping_frame_(std::make_shared<const std::string>(encodeFrame(Opcode::kPing, ""))),
      heartbeats_(settings.ping_interval),
      disconnects_(std::make_shared<sdk::CategoryCounter>(kReasons)) {}

WsServer::~WsServer() = default;

std::string WsServer::verifierOwner(const UpgradeRequest& request) const {
  sdk::Fields query;
  if (request.query.empty() || !parseQuery(request.query, query)) return {};
  return access_.verifierOwner(query);
}

UpgradeHandler::Decision WsServer::admit(const UpgradeRequest& request) {
  const RequestHead& head = request.head;
  if (head.method != "GET") {
    sdk::Response r = refusal(405, "method_not_allowed", "a websocket upgrade is a GET");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  if (!headerHasToken(head.header("upgrade"), "websocket") ||
      !headerHasToken(head.header("connection"), "upgrade"))
    return refusal(400, "bad_request", "expected a websocket upgrade request");
  if (head.header("sec-websocket-version") != "13") {
    sdk::Response r = refusal(426, "upgrade_required", "only websocket version 13 is supported");
    r.headers.emplace_back("Sec-WebSocket-Version", "13");
    return r;
  }
  const std::string& key = head.header("sec-websocket-key");
  if (!validKey(key))
    return refusal(400, "bad_request", "Sec-WebSocket-Key must be 16 bytes in base64");

  sdk::Fields query;
  if (!parseQuery(request.query, query))
    return refusal(400, "bad_request", "the query string is not valid URL encoding");
  // Browsers cannot set headers on a websocket, and a query string ends up in access logs: a
  // credential may come as a subprotocol instead, "parley.auth.<param>.<value>", beside
  // "parley.v1", which the answer then selects (a browser fails a handshake that offered
  // subprotocols and got none back).
  bool offered_v1 = false;
  for (std::string_view proto : headerList(head.header("sec-websocket-protocol"))) {
    constexpr std::string_view kAuth = "parley.auth.";
    if (proto == "parley.v1") {
      offered_v1 = true;
    } else if (proto.substr(0, kAuth.size()) == kAuth) {
      proto.remove_prefix(kAuth.size());
      const auto dot = proto.find('.');
      const std::string param(proto.substr(0, dot));
      if (dot == std::string_view::npos || !access_.isCredential(param))
        return refusal(400, "bad_request",
                       "a parley.auth subprotocol is parley.auth.<credential>.<value>, for a "
                       "credential parameter such as token or share");
      query.emplace_back(param, std::string(proto.substr(dot + 1)));
    }
  }
  const sdk::Credentials credentials{request.path, query, head.headers};

  auto admission = std::make_shared<Admission>();
  sdk::SessionInfo& info = admission->info;
  std::string participant;
  if (std::optional<sdk::Grant> grant = access_.verify(credentials)) {
    // A plugin's credential (a share token): it alone decides.
    if (!grant->ok) return refusal(grant->status, grant->code, grant->message);
    info.user = grant->subject;
    participant = grant->participant;
    admission->claims = std::move(grant->claims);
  } else {
    // Browsers cannot set headers on a websocket: the bearer may come in the query.
    std::string token;
    for (const auto& [name, value] : query)
      if (name == "token" || name == "access_token") token = value;
    const std::string& authorization = head.header("authorization");
    AuthResult who = token.empty() || !authorization.empty()
                         ? auth_.authenticateHeader(authorization)
                         : auth_.authenticateToken(token);
    if (!who.ok) {
      sdk::Response r = refusal(401, who.code, who.message);
      r.headers.emplace_back("WWW-Authenticate",
                             who.code == "missing_token"
                                 ? "Bearer realm=\"parley\""
                                 : "Bearer realm=\"parley\", error=\"invalid_token\"");
      return r;
    }
    info.user = who.subject;
    info.is_operator = who.is_operator;
    admission->claims = std::move(who.claims);
  }
  for (const auto& field : query)
    if (!access_.isCredential(field.first)) info.query.push_back(field);
  info.participant = participant.empty() ? info.param("participant", "candidate") : participant;

  const sdk::Admission candidate{credentials, info.user, info.is_operator, info.participant,
                                 admission->claims};
  sdk::Grant admitted = access_.admit(candidate);
  if (!admitted.ok) return refusal(admitted.status, admitted.code, admitted.message);

  if (!accepting_ || connections_.fetch_add(1) >= settings_.max_connections) {
    if (accepting_) connections_.fetch_sub(1);
    sdk::Response r = refusal(503, "overloaded", "the server is at its websocket connection limit");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  admission->slots = &connections_;
  info.id = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
  admission->response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      acceptKey(key) + (offered_v1 ? "\r\nSec-WebSocket-Protocol: parley.v1" : "") + "\r\n\r\n";
  return admission;
}

void WsServer::adopt(std::shared_ptr<Admission> admission, int fd, net::EventLoop& loop,
                     std::string early_bytes) {
  admission->slots = nullptr;  // the session holds the slot now, until closed()
  if (settings_.socket_send_buffer_bytes > 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &settings_.socket_send_buffer_bytes,
               sizeof settings_.socket_send_buffer_bytes);
  const ConnectionLimits limits{settings_.max_message_bytes, settings_.max_send_queue_bytes,
                                settings_.max_queued_work_bytes, 256};
  auto c = std::make_shared<Connection>(*this, loop, fd, std::move(admission->info),
                                        std::move(admission->claims), limits);
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_[c->info().id] = c;
  }
  connections_gauge_->add(1);
  c->begin(std::move(admission->response), std::move(early_bytes));
}

std::vector<std::shared_ptr<Connection>> WsServer::live() const {
  std::vector<std::shared_ptr<Connection>> all;
  std::lock_guard lock(sessions_mutex_);
  for (const auto& [id, c] : sessions_) all.push_back(c);
  return all;
}

void WsServer::closeAll() {
  accepting_ = false;
  for (auto& c : live())
    c->loop().post([c] {
      c->close(DisconnectReason::kOther, close_code::kGoingAway, "server shutting down", true);
    });
}

void WsServer::abortAll() {
  // Whatever did not answer in time is dropped, still counted once, on its own loop.
  for (auto& c : live()) c->loop().post([c] { c->abort(DisconnectReason::kOther); });
}

void WsServer::opened(const std::shared_ptr<Connection>& c) {
  std::vector<std::shared_ptr<Handler>> opens, attaches;
  {
    std::shared_lock lock(handlers_mutex_);
    opens = open_;
    attaches = attach_;
  }
  for (auto& h : opens)
    run(
        h, c, [&] { h->on_open(c); }, "open handler");
  c->handlers().reserve(attaches.size());  // exactly: growth by doubling wastes a third per session
  for (auto& h : attaches) {
    CallGate::Pass pass(h->gate);
    if (!pass || c->finished()) continue;
    try {
      if (auto handler = h->factory(c)) c->handlers().push_back({h->key, std::move(handler)});
    } catch (const std::exception& e) {
      on_error_(h->owner, std::string("session handler factory threw: ") + e.what());
    } catch (...) {
      on_error_(h->owner, "session handler factory threw a non-exception");
    }
  }
}

void WsServer::closed(const std::shared_ptr<Connection>& c, DisconnectReason reason) {
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(c->info().id);
  }
  // No close callback runs while, or before, a worker message of the session does.
  c->afterWork([this, c, reason] { runClose(c, reason); });
}

void WsServer::runClose(const std::shared_ptr<Connection>& c, DisconnectReason reason) {
  std::vector<std::shared_ptr<Handler>> closes, attaches;
  {
    std::shared_lock lock(handlers_mutex_);
    closes = close_;
    attaches = attach_;
  }
  // Plugins' session objects first, dependents before what they depend on (reverse attach order).
  auto& handlers = c->handlers();
  for (auto it = handlers.rbegin(); it != handlers.rend(); ++it) {
    for (auto& h : attaches) {
      if (h->key != it->owner) continue;
      sdk::SessionHandler* handler = it->handler.get();
      run(
          h, c, [&] { handler->onClose(reason); }, "session handler's close");
    }
  }
  while (!handlers.empty()) handlers.pop_back();
  for (auto& h : closes)
    run(
        h, c, [&] { h->on_close(c, reason); }, "close handler");
  c->loopScope().close();
  disconnects_->inc(static_cast<std::size_t>(reason));
  connections_gauge_->sub(1);
  connections_.fetch_sub(1);
}

void WsServer::run(const std::shared_ptr<Handler>& h, const std::shared_ptr<Connection>& c,
                   const std::function<void()>& call, const std::string& what) {
  CallGate::Pass pass(h->gate);
  if (!pass) return;
  try {
    call();
  } catch (const std::exception& e) {
    on_error_(h->owner, what + " threw: " + e.what());
    if (c->open()) sendError(c, "internal_error", "the server failed to handle the message");
  } catch (...) {
    on_error_(h->owner, what + " threw a non-exception");
    if (c->open()) sendError(c, "internal_error", "the server failed to handle the message");
  }
}

void WsServer::sendError(const std::shared_ptr<Connection>& c, std::string_view code,
                         std::string_view message) {
  c->send(sdk::errorEvent(code, message, c->info().id));
}

void WsServer::dispatchText(const std::shared_ptr<Connection>& c, std::string& json) {
  MessageKind kind = classifyMessage(json);
  if (!kind.error_code.empty()) return sendError(c, kind.error_code, kind.error_message);
  const std::string& type = kind.type;
  // The core's own messages.
  if (type == "ping") {
    sdk::json::Writer w;
    w.beginObject().field("type", "pong").field("session_id", c->info().id);
    return c->send(w.field("ts", unixMillis()).endObject().take());
  }
  if (type == "pong") return;
  if (type == "stop")
    return c->close(DisconnectReason::kStopCommand, close_code::kNormal, "stop", true);

  std::shared_ptr<Handler> h;
  {
    std::shared_lock lock(handlers_mutex_);
    auto it = by_type_.find(type);
    if (it != by_type_.end()) h = it->second;
  }
  if (!h) return sendError(c, "unknown_type", "no handler for message type '" + type + "'");
  if (h->kind == Handler::Kind::kAttach) {
    sdk::SessionHandler* handler = c->attached(h->owner);
    if (!handler)
      return sendError(c, "unsupported", "'" + type + "' is not handled in this session");
    return run(
        h, c, [&] { handler->onMessage(type, kind.message); },
        "session handler for '" + type + "'");
  }
  auto message = std::make_shared<const sdk::json::Value>(std::move(kind.message));
  deliver(h, c, type, std::make_shared<const std::string>(std::move(json)), std::move(message));
}

void WsServer::deliver(const std::shared_ptr<Handler>& h, const std::shared_ptr<Connection>& c,
                       const std::string& type, std::shared_ptr<const std::string> text,
                       std::shared_ptr<const sdk::json::Value> message) {
  const std::string what = "handler for '" + type + "'";
  auto call = [this, h, c, text, message, what] {
    run(
        h, c,
        [&] {
          if (h->kind == Handler::Kind::kJson)
            h->on_json(c, *message);
          else
            h->on_message(c, *text);
        },
        what);
  };
  if (h->where == sdk::RunOn::kLoop) return call();
  c->queueWork(h->owner, text->size(), std::move(call));
}

void WsServer::dispatchBinary(const std::shared_ptr<Connection>& c, std::string& bytes) {
  std::vector<std::shared_ptr<Handler>> handlers;
  {
    std::shared_lock lock(handlers_mutex_);
    handlers = binary_;
  }
  if (handlers.empty()) return;  // nobody consumes audio: dropping it is not an error
  auto shared = std::make_shared<const std::string>(std::move(bytes));
  for (auto& h : handlers) {
    if (h->kind == Handler::Kind::kAttach) {
      if (sdk::SessionHandler* handler = c->attached(h->owner))
        run(
            h, c, [&] { handler->onBinary(*shared); }, "session handler's binary");
      continue;
    }
    auto call = [this, h, c, shared] {
      run(
          h, c, [&] { h->on_binary(c, *shared); }, "binary handler");
    };
    if (h->where == sdk::RunOn::kLoop)
      call();
    else
      c->queueWork(h->owner, shared->size(), std::move(call));
  }
}

void WsServer::slowConsumer(const std::string& session_id, std::size_t queued) {
  log_.warning("session %s closed: its send queue reached %z bytes (slow consumer)", session_id,
               queued);
}

sdk::EncodedFrame WsServer::appPing(const std::string& session_id) const {
  sdk::json::Writer w;
  w.beginObject().field("type", "ping").field("ts", unixMillis());
  return encodeText(w.field("session_id", session_id).endObject().str());
}

sdk::EncodedFrame WsServer::encodeText(std::string_view json) const {
  return std::make_shared<const std::string>(encodeFrame(Opcode::kText, json));
}

void WsServer::broadcast(const std::vector<sdk::SessionPtr>& to, const sdk::EncodedFrame& frame) {
  if (!frame || frame->empty()) return;
  // One task per loop, not per recipient; a session the core did not make is skipped.
  std::map<net::EventLoop*, std::vector<std::shared_ptr<Connection>>> by_loop;
  for (const auto& s : to) {
    auto c = std::dynamic_pointer_cast<Connection>(s);
    if (c && c->reserve(frame->size())) by_loop[&c->loop()].push_back(std::move(c));
  }
  for (auto& [loop, conns] : by_loop) {
    auto deliver = [conns = std::move(conns), frame] {
      for (const auto& c : conns) c->push(frame);
    };
    if (loop->inLoopThread())
      deliver();
    else
      loop->post(std::move(deliver));
  }
}

sdk::SessionPtr WsServer::find(const std::string& session_id) const {
  std::lock_guard lock(sessions_mutex_);
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? nullptr : it->second;
}

std::shared_ptr<sdk::Revoker> WsServer::keep(std::vector<std::shared_ptr<Handler>>& list,
                                             std::shared_ptr<Handler> handler) {
  {
    std::unique_lock lock(handlers_mutex_);
    list.push_back(handler);
  }
  return std::make_shared<sdk::Revoker>([this, &list, raw = handler.get()] {
    std::shared_ptr<Handler> gone;
    {
      std::unique_lock lock(handlers_mutex_);
      for (auto it = list.begin(); it != list.end(); ++it)
        if (it->get() == raw) {
          gone = *it;
          list.erase(it);
          break;
        }
    }
    if (gone) gone->gate.close();
  });
}

std::shared_ptr<sdk::Revoker> WsServer::claimType(const std::string& type,
                                                  std::shared_ptr<Handler> h) {
  if (type == "ping" || type == "pong" || type == "stop")
    throw sdk::RegistrationError("message type '" + type + "' (from '" + h->owner +
                                 "') is handled by the core");
  {
    std::unique_lock lock(handlers_mutex_);
    auto [it, fresh] = by_type_.emplace(type, h);
    if (!fresh)
      throw sdk::RegistrationError("message type '" + type + "' registered by '" + h->owner +
                                   "' is already handled by '" + it->second->owner + "'");
  }
  return std::make_shared<sdk::Revoker>([this, type, raw = h.get()] {
    std::shared_ptr<Handler> gone;
    {
      std::unique_lock lock(handlers_mutex_);
      auto it = by_type_.find(type);
      if (it != by_type_.end() && it->second.get() == raw) {
        gone = it->second;
        by_type_.erase(it);
      }
    }
    if (gone) gone->gate.close();
  });
}

std::shared_ptr<sdk::Revoker> WsServer::onMessage(const std::string& owner, const std::string& type,
                                                  sdk::WebSockets::MessageHandler handler,
                                                  sdk::RunOn where) {
  auto h = std::make_shared<Handler>();
  h->owner = owner;
  h->where = where;
  h->on_message = std::move(handler);
  return claimType(type, std::move(h));
}

std::shared_ptr<sdk::Revoker> WsServer::onJson(const std::string& owner, const std::string& type,
                                               sdk::WebSockets::JsonHandler handler,
                                               sdk::RunOn where) {
  auto h = std::make_shared<Handler>();
  h->kind = Handler::Kind::kJson;
  h->owner = owner;
  h->where = where;
  h->on_json = std::move(handler);
  return claimType(type, std::move(h));
}

std::shared_ptr<sdk::Revoker> WsServer::onBinary(const std::string& owner,
                                                 sdk::WebSockets::BinaryHandler handler,
                                                 sdk::RunOn where) {
  auto h = std::make_shared<Handler>();
  h->kind = Handler::Kind::kBinary;
  h->owner = owner;
  h->where = where;
  h->on_binary = std::move(handler);
  return keep(binary_, std::move(h));
}

std::shared_ptr<sdk::Revoker> WsServer::onOpen(const std::string& owner,
                                               sdk::WebSockets::OpenHandler handler) {
  auto h = std::make_shared<Handler>();
  h->kind = Handler::Kind::kOpen;
  h->owner = owner;
  h->on_open = std::move(handler);
  return keep(open_, std::move(h));
}

std::shared_ptr<sdk::Revoker> WsServer::onClose(const std::string& owner,
                                                sdk::WebSockets::CloseHandler handler) {
  auto h = std::make_shared<Handler>();
  h->kind = Handler::Kind::kClose;
  h->owner = owner;
  h->on_close = std::move(handler);
  return keep(close_, std::move(h));
}

std::shared_ptr<sdk::Revoker> WsServer::attach(const std::string& owner,
                                               sdk::SessionHandlerSpec spec,
                                               sdk::WebSockets::HandlerFactory factory) {
  if (!factory)
    throw sdk::RegistrationError("session handler factory (from '" + owner + "') is empty");
  auto h = std::make_shared<Handler>();
  h->kind = Handler::Kind::kAttach;
  h->owner = owner;
  h->spec = std::move(spec);
  h->factory = std::move(factory);
  {
    std::unique_lock lock(handlers_mutex_);
    for (const auto& other : attach_)
      if (other->owner == owner)
        throw sdk::RegistrationError("plugin '" + owner + "' attaches a session handler already");
    h->key = &*owner_keys_.insert(owner).first;  // kept for the server's life: few, and reused
  }
  // Claimed together: if one type is taken, none is.
  std::vector<std::shared_ptr<sdk::Revoker>> parts;
  try {
    for (const auto& type : h->spec.messages) parts.push_back(claimType(type, h));
  } catch (...) {
    for (auto& p : parts) p->revoke();
    throw;
  }
  parts.push_back(keep(attach_, h));
  if (h->spec.binary) parts.push_back(keep(binary_, h));
  return std::make_shared<sdk::Revoker>([this, parts, h] {
    for (auto& p : parts) p->revoke();  // the gate is closed: no call starts
    // The plugin's objects in live sessions go now, each on its session's loop.
    std::map<net::EventLoop*, std::vector<std::shared_ptr<Connection>>> by_loop;
    for (auto& c : live()) by_loop[&c->loop()].push_back(std::move(c));
    for (auto& [loop, conns] : by_loop) {
      auto drop = [&conns, key = h->key] {
        for (auto& c : conns) {
          auto& handlers = c->handlers();
          for (auto it = handlers.begin(); it != handlers.end();)
            it = it->owner == key ? handlers.erase(it) : std::next(it);
        }
      };
      if (loop->inLoopThread()) {
        drop();
        continue;
      }
      std::promise<void> done;
      if (loop->post([&] {
            drop();
            done.set_value();
          }))
        done.get_future().wait();
      else
        drop();  // the loop has stopped: nothing else touches these sessions
    }
  });
}

}  // namespace ws
}  // namespace parley::core
