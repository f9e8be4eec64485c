#include "core/ws/ws_server.hpp"

#include <Poco/Base64Encoder.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/SHA1Engine.h>
#include <Poco/String.h>
#include <Poco/Timestamp.h>
#include <Poco/UUIDGenerator.h>

#include <sstream>
#include <thread>

#include "core/http/bearer_auth.hpp"
#include "core/http/url.hpp"
#include "core/runtime/serial_workers.hpp"
#include "core/ws/message.hpp"
#include "parley/sdk/errors.hpp"
#include "parley/sdk/json.hpp"

namespace parley::core::ws {

namespace {

using sdk::DisconnectReason;

// Poco reads ahead while parsing the upgrade request; whatever it read past the headers is the
// client's first frames. HTTPSession exposes those bytes only to subclasses, so reach them through
// pointers to members taken in a subclass's scope (a legal way to use a protected accessor).
struct SessionAccess : Poco::Net::HTTPSession {
  static std::string takeBuffered(Poco::Net::HTTPSession& s) {
    auto buffered = &SessionAccess::buffered;
    auto read = &SessionAccess::read;
    const int n = (s.*buffered)();
    std::string bytes(static_cast<std::size_t>(std::max(0, n)), '\0');
    if (n > 0) bytes.resize(static_cast<std::size_t>((s.*read)(bytes.data(), n)));
    return bytes;
  }
};

std::string acceptKey(const std::string& key) {
  Poco::SHA1Engine sha1;
  sha1.update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  const auto& digest = sha1.digest();
  std::ostringstream out;
  Poco::Base64Encoder b64(out);
  b64.write(reinterpret_cast<const char*>(digest.data()),
            static_cast<std::streamsize>(digest.size()));
  b64.close();
  return out.str();
}

bool headerHasToken(const std::string& value, const char* token) {
  std::istringstream in(value);
  std::string part;
  while (std::getline(in, part, ','))
    if (Poco::icompare(Poco::trim(part), token) == 0) return true;
  return false;
}

void refuse(Poco::Net::HTTPServerResponse& resp, int status, std::string_view code,
            std::string_view message) {
  const std::string body = sdk::jsonError(code, message);
  resp.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  resp.setContentType("application/json");
  resp.sendBuffer(body.data(), body.size());
}

}  // namespace

struct WsServer::Handler {
  std::string owner;
  sdk::RunOn where = sdk::RunOn::kLoop;
  sdk::WebSockets::MessageHandler on_message;
  sdk::WebSockets::BinaryHandler on_binary;
  sdk::WebSockets::OpenHandler on_open;
  sdk::WebSockets::CloseHandler on_close;
  CallGate gate;
};

struct WsServer::Loop {
  std::unique_ptr<EventLoop> loop;
  // The loop owns its connections; everyone else holds them weakly or for one call.
  std::unordered_map<const Connection*, std::shared_ptr<Connection>> live;
  // Sorted by due time, since every entry is pushed at now + the same interval: a tick pops only
  // what is due, whatever the number of idle connections.
  std::deque<std::pair<Connection::Clock::time_point, std::weak_ptr<Connection>>> heartbeats;
  std::vector<std::weak_ptr<Connection>> closing;
};

WsServer::WsServer(const WsSettings& settings, const BearerAuth& auth, Poco::Logger& log,
                   ErrorSink on_error)
    : settings_(settings),
      auth_(auth),
      log_(log),
      on_error_(std::move(on_error)),
      ping_frame_(std::make_shared<const std::string>(encodeFrame(Opcode::kPing, ""))) {}

WsServer::~WsServer() {
  shutdown(std::chrono::milliseconds(0));
}

void WsServer::start() {
  const auto tick = std::clamp<std::chrono::milliseconds>(
      settings_.ping_interval / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  for (int i = 0; i < settings_.loop_threads; ++i) {
    auto slot = std::make_unique<Loop>();
    Loop* raw = slot.get();
    slot->loop = std::make_unique<EventLoop>("ws-" + std::to_string(i), tick,
                                             [this, raw] { this->tick(*raw); });
    loops_.push_back(std::move(slot));
  }
  workers_ = std::make_unique<SerialWorkers>(settings_.worker_threads);
  for (auto& l : loops_) l->loop->start();
  accepting_ = true;
}

void WsServer::shutdown(std::chrono::milliseconds deadline) {
  if (loops_.empty() || stopped_) return;
  accepting_ = false;
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(sessions_mutex_);
    for (auto& [id, weak] : sessions_)
      if (auto c = weak.lock()) open.push_back(c);
  }
  for (auto& c : open)
    c->loop().post([c] {
      c->close(DisconnectReason::kOther, close_code::kGoingAway, "server shutting down", true);
    });
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (connections_.load() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Whatever did not answer in time is dropped, still counted once, on its own loop.
  for (auto& c : open) c->loop().post([c] { c->abort(DisconnectReason::kOther); });
  // Workers first: their handlers may still post to the loops. The loops are joined but kept
  // until this object goes, since plugin threads may still hold sessions that post to them.
  if (workers_) workers_->shutdown();
  for (auto& l : loops_) l->loop->stop();
  stopped_ = true;
}

void WsServer::upgrade(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
  if (req.getMethod() != "GET") {
    resp.set("Allow", "GET");
    return refuse(resp, 405, "method_not_allowed", "a websocket upgrade is a GET");
  }
  if (!headerHasToken(req.get("Upgrade", ""), "websocket") ||
      !headerHasToken(req.get("Connection", ""), "upgrade"))
    return refuse(resp, 400, "bad_request", "expected a websocket upgrade request");
  if (req.get("Sec-WebSocket-Version", "") != "13") {
    resp.set("Sec-WebSocket-Version", "13");
    return refuse(resp, 426, "upgrade_required", "only websocket version 13 is supported");
  }
  const std::string key = Poco::trim(req.get("Sec-WebSocket-Key", ""));
  if (key.size() != 24) return refuse(resp, 400, "bad_request", "missing Sec-WebSocket-Key");

  sdk::Fields query;
  const auto qmark = req.getURI().find('?');
  if (qmark != std::string::npos &&
      !parseQuery(std::string_view(req.getURI()).substr(qmark + 1), query))
    return refuse(resp, 400, "bad_request", "the query string is not valid URL encoding");
  // Browsers cannot set headers on a websocket: the token may come in the query.
  std::string token;
  for (const auto& [name, value] : query)
    if (name == "token" || name == "access_token") token = value;
  AuthResult who = token.empty() || req.has("Authorization")
                       ? auth_.authenticateHeader(req.get("Authorization", ""))
                       : auth_.authenticateToken(token);
  if (!who.ok) {
    resp.set("WWW-Authenticate", who.code == "missing_token"
                                     ? "Bearer realm=\"parley\""
                                     : "Bearer realm=\"parley\", error=\"invalid_token\"");
    return refuse(resp, 401, who.code, who.message);
  }
  if (!accepting_ || connections_.fetch_add(1) >= settings_.max_connections) {
    if (accepting_) connections_.fetch_sub(1);
    resp.set("Retry-After", "1");
    return refuse(resp, 503, "overloaded", "the server is at its websocket connection limit");
  }

  sdk::SessionInfo info;
  info.id = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
  info.user = who.subject;
  info.is_operator = who.is_operator;
  info.query = std::move(query);
  info.participant = info.param("participant", "candidate");

  resp.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_SWITCHING_PROTOCOLS);
  resp.set("Upgrade", "websocket");
  resp.set("Connection", "Upgrade");
  resp.set("Sec-WebSocket-Accept", acceptKey(key));
  resp.send().flush();

  auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(req);
  std::string early = SessionAccess::takeBuffered(impl.session());
  Poco::Net::StreamSocket socket = impl.detachSocket();
  socket.setBlocking(false);
  socket.setNoDelay(true);
  if (settings_.socket_send_buffer_bytes > 0)
    socket.setSendBufferSize(settings_.socket_send_buffer_bytes);

  Loop& slot = *loops_[next_loop_.fetch_add(1) % loops_.size()];
  ConnectionLimits limits{settings_.max_message_bytes, settings_.max_send_queue_bytes};
  auto conn = std::make_shared<Connection>(*this, *slot.loop, std::move(socket), std::move(info),
                                           std::move(early), limits);
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_[conn->info().id] = conn;
  }
  slot.loop->post([this, conn, &slot] {
    slot.live.emplace(conn.get(), conn);
    slot.heartbeats.emplace_back(Connection::Clock::now() + settings_.ping_interval, conn);
    conn->begin();
  });
}

void WsServer::tick(Loop& slot) {
  const auto now = Connection::Clock::now();
  while (!slot.heartbeats.empty() && slot.heartbeats.front().first <= now) {
    auto weak = std::move(slot.heartbeats.front().second);
    slot.heartbeats.pop_front();
    if (auto c = weak.lock())
      if (c->heartbeat(now, settings_.idle_timeout))
        slot.heartbeats.emplace_back(now + settings_.ping_interval, std::move(weak));
  }
  // Connections waiting for the peer's close frame get a grace period, then are dropped.
  auto& closing = slot.closing;
  for (std::size_t i = 0; i < closing.size();) {
    auto c = closing[i].lock();
    if (c && c->closingExpired(now)) c->abort(DisconnectReason::kOther);
    if (!c || c->finished()) {
      closing[i] = std::move(closing.back());
      closing.pop_back();
    } else {
      ++i;
    }
  }
}

WsServer::Loop& WsServer::slotOf(const Connection& c) {
  for (auto& l : loops_)
    if (l->loop.get() == &c.loop()) return *l;
  throw std::logic_error("a connection of no loop");
}

void WsServer::closing(const std::shared_ptr<Connection>& c) {
  slotOf(*c).closing.push_back(c);
}

void WsServer::opened(const std::shared_ptr<Connection>& c) {
  std::vector<std::shared_ptr<Handler>> handlers;
  {
    std::shared_lock lock(handlers_mutex_);
    handlers = open_;
  }
  for (auto& h : handlers)
    run(
        h, c, [&] { h->on_open(c); }, "open handler");
}

void WsServer::closed(const std::shared_ptr<Connection>& c, DisconnectReason reason) {
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(c->info().id);
  }
  std::vector<std::shared_ptr<Handler>> handlers;
  {
    std::shared_lock lock(handlers_mutex_);
    handlers = close_;
  }
  for (auto& h : handlers)
    run(
        h, c, [&] { h->on_close(c, reason); }, "close handler");
  slotOf(*c).live.erase(c.get());  // the caller keeps it alive to the end of the iteration
  connections_.fetch_sub(1);
}

void WsServer::run(const std::shared_ptr<Handler>& h, const std::shared_ptr<Connection>& c,
                   std::function<void()> call, const std::string& what) {
  CallGate::Pass pass(h->gate);
  if (!pass) return;
  try {
    call();
  } catch (const std::exception& e) {
    on_error_(h->owner, what + " threw: " + e.what());
    if (c->open()) sendError(c, "internal_error", "the server failed to handle the message");
  } catch (...) {
    on_error_(h->owner, what + " threw a non-exception");
  }
}

void WsServer::sendError(const std::shared_ptr<Connection>& c, std::string_view code,
                         std::string_view message) {
  std::string json = "{\"type\":\"error\",\"code\":";
  sdk::appendJsonString(json, code);
  json += ",\"message\":";
  sdk::appendJsonString(json, message);
  json += ",\"session_id\":";
  sdk::appendJsonString(json, c->info().id);
  c->send(json + "}");
}

void WsServer::dispatchText(const std::shared_ptr<Connection>& c, std::string& json) {
  const MessageKind kind = classifyMessage(json);
  if (!kind.error_code.empty()) return sendError(c, kind.error_code, kind.error_message);
  const std::string& type = kind.type;
  // The core's own messages.
  if (type == "ping") {
    std::string pong = "{\"type\":\"pong\",\"session_id\":";
    sdk::appendJsonString(pong, c->info().id);
    pong += ",\"ts\":" + std::to_string(Poco::Timestamp().epochMicroseconds() / 1000) + "}";
    return c->send(pong);
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
  if (h->where == sdk::RunOn::kLoop)
    return run(
        h, c, [&] { h->on_message(c, json); }, "handler for '" + type + "'");
  workers_->post(c->info().id, [this, h, c, json = std::move(json), type] {
    run(
        h, c, [&] { h->on_message(c, json); }, "handler for '" + type + "'");
  });
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
    if (h->where == sdk::RunOn::kLoop) {
      run(
          h, c, [&] { h->on_binary(c, *shared); }, "binary handler");
      continue;
    }
    workers_->post(c->info().id, [this, h, c, shared] {
      run(
          h, c, [&] { h->on_binary(c, *shared); }, "binary handler");
    });
  }
}

void WsServer::slowConsumer(const std::string& session_id, std::size_t queued) {
  log_.warning("session %s closed: its send queue reached %z bytes (slow consumer)", session_id,
               queued);
}

sdk::EncodedFrame WsServer::appPing(const std::string& session_id) const {
  std::string json =
      "{\"type\":\"ping\",\"ts\":" + std::to_string(Poco::Timestamp().epochMicroseconds() / 1000) +
      ",\"session_id\":";
  sdk::appendJsonString(json, session_id);
  return encodeText(json + "}");
}

sdk::EncodedFrame WsServer::encodeText(std::string_view json) const {
  return std::make_shared<const std::string>(encodeFrame(Opcode::kText, json));
}

void WsServer::broadcast(const std::vector<sdk::SessionPtr>& to, const sdk::EncodedFrame& frame) {
  if (!frame || frame->empty()) return;
  // One task per loop, not per recipient.
  std::map<EventLoop*, std::vector<std::shared_ptr<Connection>>> by_loop;
  for (const auto& s : to) {
    auto c = std::static_pointer_cast<Connection>(s);
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
  return it == sessions_.end() ? nullptr : it->second.lock();
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

std::shared_ptr<sdk::Revoker> WsServer::onMessage(const std::string& owner, const std::string& type,
                                                  sdk::WebSockets::MessageHandler handler,
                                                  sdk::RunOn where) {
  if (type == "ping" || type == "pong" || type == "stop")
    throw sdk::RegistrationError("message type '" + type + "' (from '" + owner +
                                 "') is handled by the core");
  auto h = std::make_shared<Handler>();
  h->owner = owner;
  h->where = where;
  h->on_message = std::move(handler);
  {
    std::unique_lock lock(handlers_mutex_);
    auto [it, fresh] = by_type_.emplace(type, h);
    if (!fresh)
      throw sdk::RegistrationError("message type '" + type + "' registered by '" + owner +
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

std::shared_ptr<sdk::Revoker> WsServer::onBinary(const std::string& owner,
                                                 sdk::WebSockets::BinaryHandler handler,
                                                 sdk::RunOn where) {
  auto h = std::make_shared<Handler>();
  h->owner = owner;
  h->where = where;
  h->on_binary = std::move(handler);
  return keep(binary_, std::move(h));
}

std::shared_ptr<sdk::Revoker> WsServer::onOpen(const std::string& owner,
                                               sdk::WebSockets::OpenHandler handler) {
  auto h = std::make_shared<Handler>();
  h->owner = owner;
  h->on_open = std::move(handler);
  return keep(open_, std::move(h));
}

std::shared_ptr<sdk::Revoker> WsServer::onClose(const std::string& owner,
                                                sdk::WebSockets::CloseHandler handler) {
  auto h = std::make_shared<Handler>();
  h->owner = owner;
  h->on_close = std::move(handler);
  return keep(close_, std::move(h));
}

}  // namespace parley::core::ws
