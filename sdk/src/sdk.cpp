// Out-of-line anchors for the SDK's exported types, and the small helpers they need. One copy of
// each vtable and type_info lives here, in libparley_sdk, shared by parleyd and every plugin.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "parley/sdk/context.hpp"
#include "parley/sdk/errors.hpp"
#include "parley/sdk/json.hpp"
#include "parley/sdk/plugin.hpp"
#include "parley/sdk/services/rooms.hpp"

namespace parley::sdk {

namespace {
thread_local int t_callback_depth = 0;
}  // namespace

void detail::enterCallback() noexcept {
  ++t_callback_depth;
}
void detail::leaveCallback() noexcept {
  --t_callback_depth;
}

struct Revoker::State {
  enum class Phase { kActive, kRevoking, kRevoked };
  std::function<void()> undo;
  std::mutex mutex;
  std::condition_variable finished;
  Phase phase = Phase::kActive;
  std::thread::id revoker;
};

Revoker::Revoker(std::function<void()> undo) : state_(new State) {
  state_->undo = std::move(undo);
}
Revoker::~Revoker() = default;

// Whoever comes second (the core stopping a plugin while the plugin drops its handle) waits for
// the first to finish: when revoke() returns, the undo has completed, whoever ran it. Except a
// second caller that is itself a running callback: the first may be waiting for it to return.
void Revoker::revoke() noexcept {
  using Phase = State::Phase;
  std::unique_lock lock(state_->mutex);
  if (state_->phase == Phase::kRevoking && state_->revoker != std::this_thread::get_id() &&
      t_callback_depth == 0)
    state_->finished.wait(lock, [&] { return state_->phase == Phase::kRevoked; });
  if (state_->phase != Phase::kActive) return;
  state_->phase = Phase::kRevoking;
  state_->revoker = std::this_thread::get_id();
  std::function<void()> undo = std::move(state_->undo);
  lock.unlock();
  try {
    if (undo) undo();
  } catch (...) {
    // Undo actions only erase from core tables; there is nobody to report to during teardown.
  }
  lock.lock();
  state_->phase = Phase::kRevoked;
  state_->finished.notify_all();
}

bool Revoker::revoked() const noexcept {
  std::lock_guard lock(state_->mutex);
  return state_->phase != State::Phase::kActive;
}

ConfigError::~ConfigError() = default;
RegistrationError::~RegistrationError() = default;
HttpError::~HttpError() = default;
MetricsRegistry::~MetricsRegistry() = default;
HttpRoutes::~HttpRoutes() = default;
Logger::~Logger() = default;
EventBus::~EventBus() = default;
Timers::~Timers() = default;
Services::~Services() = default;
Context::~Context() = default;
Plugin::~Plugin() = default;
Session::~Session() = default;
WebSockets::~WebSockets() = default;
RoomsService::~RoomsService() = default;
RoomStateStore::~RoomStateStore() = default;
Scope::~Scope() = default;
Scope::Watch::~Watch() = default;
Scopes::~Scopes() = default;
Upstreams::~Upstreams() = default;
WebSocketClient::~WebSocketClient() = default;
HttpExchange::~HttpExchange() = default;
Access::~Access() = default;
detail::Cancellable::~Cancellable() = default;
SessionHandler::~SessionHandler() = default;
void SessionHandler::onMessage(std::string_view, const json::Value&) {}
void SessionHandler::onBinary(std::string_view) {}
void SessionHandler::onClose(DisconnectReason) {}

std::string errorEvent(std::string_view code, std::string_view message,
                       std::string_view session_id) {
  json::Writer w;
  w.beginObject().field("type", "error").field("code", code).field("message", message);
  return w.field("session_id", session_id).endObject().take();
}

const char* kindName(UpstreamResult::Kind kind) {
  switch (kind) {
    case UpstreamResult::Kind::kOk: return "ok";
    case UpstreamResult::Kind::kResolve: return "resolve";
    case UpstreamResult::Kind::kConnect: return "connect";
    case UpstreamResult::Kind::kTls: return "tls";
    case UpstreamResult::Kind::kTimeout: return "timeout";
    case UpstreamResult::Kind::kStatus: return "status";
    case UpstreamResult::Kind::kProtocol: return "protocol";
    case UpstreamResult::Kind::kClosed: return "closed";
  }
  return "?";
}

const char* reasonName(DisconnectReason reason) {
  switch (reason) {
    case DisconnectReason::kClientDisconnect: return "client_disconnect";
    case DisconnectReason::kStopCommand: return "stop_command";
    case DisconnectReason::kReceiveAudioError: return "receive_audio_error";
    case DisconnectReason::kDeepgramError: return "deepgram_error";
    case DisconnectReason::kSocketClosed: return "socket_closed";
    case DisconnectReason::kMaxTurnsReached: return "max_turns_reached";
    case DisconnectReason::kOther: return "other";
  }
  return "other";
}

void Plugin::configure(const PluginConfig&) {}
void Plugin::stop() {}
Health Plugin::health() const {
  return {};
}

namespace {
const std::string& firstValue(const Fields& fields, const std::string& name,
                              const std::string& fallback) {
  for (const auto& [key, value] : fields)
    if (key == name) return value;
  return fallback;
}
}  // namespace

const std::string& Request::pathParam(const std::string& name, const std::string& fallback) const {
  return firstValue(path_params, name, fallback);
}
const std::string& Request::queryParam(const std::string& name, const std::string& fallback) const {
  return firstValue(query, name, fallback);
}
const std::string& Request::header(const std::string& lower_name,
                                   const std::string& fallback) const {
  return firstValue(headers, lower_name, fallback);
}

const std::string& SessionInfo::param(const std::string& name, const std::string& fallback) const {
  return firstValue(query, name, fallback);
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::error(int status, std::string_view code, std::string_view message) {
  return json(status, jsonError(code, message));
}

}  // namespace parley::sdk
