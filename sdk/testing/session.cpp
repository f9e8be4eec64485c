// The test host's sessions: what a plugin's websocket handlers see, and what the test drives.
#include "host_state.hpp"
#include "parley/sdk/json.hpp"

namespace parley::sdk::testing {

FakeSession::FakeSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FakeSession::~FakeSession() = default;

const SessionInfo& FakeSession::info() const {
  return impl_->info;
}
bool FakeSession::open() const {
  return !impl_->closed;
}
void FakeSession::send(std::string json) {
  if (!impl_->closed) impl_->frames.push_back(std::move(json));
}
void FakeSession::send(const EncodedFrame& frame) {
  // Frames from encodeText() are the JSON text itself in the test host.
  if (frame) send(*frame);
}
std::size_t FakeSession::queuedBytes() const {
  return 0;
}
void FakeSession::stop(DisconnectReason reason) {
  close(reason, 1000, "");
}
void FakeSession::close(DisconnectReason reason, int code, const std::string& text) {
  if (impl_->closed) return;
  impl_->close_code = code;
  impl_->close_text = text.substr(0, 123);
  disconnect(reason);
}
int FakeSession::closeCode() const {
  return impl_->close_code;
}
const std::string& FakeSession::closeText() const {
  return impl_->close_text;
}
Scope& FakeSession::scope() {
  return *impl_->scope;
}
void FakeSession::pauseReading() {
  ++impl_->pauses;
}
void FakeSession::resumeReading() {
  if (impl_->pauses > 0) --impl_->pauses;
}
const json::Value& FakeSession::claims() const {
  return impl_->claims;
}
SessionHandler* FakeSession::attached(const std::string& plugin_id) const {
  for (const auto& [owner, h] : impl_->handlers)
    if (owner == plugin_id) return h.get();
  return nullptr;
}
const std::vector<std::string>& FakeSession::frames() const {
  return impl_->frames;
}
std::vector<json::Value> FakeSession::sent(std::string_view type) const {
  std::vector<json::Value> out;
  for (const auto& f : impl_->frames) {
    json::Value v;
    if (json::parse(f, v) && (type.empty() || v["type"].asString() == type))
      out.push_back(std::move(v));
  }
  return out;
}
void FakeSession::clearSent() {
  impl_->frames.clear();
}
bool FakeSession::paused() const {
  return impl_->pauses > 0;
}
std::optional<DisconnectReason> FakeSession::closedWith() const {
  return impl_->closed;
}

void FakeSession::receive(const std::string& text) {
  auto host = impl_->host.lock();
  if (!host || impl_->closed) return;
  auto self = impl_->self.lock();
  json::Value message;
  if (!json::parse(text, message) || !message.isObject())
    return send(errorEvent("invalid_json", "a text message must be a JSON object", info().id));
  if (!message["type"].isString())
    return send(errorEvent("unknown_type", "a message needs a string \"type\"", info().id));
  const std::string type(message["type"].asString());
  if (type == "ping") {
    json::Writer w;
    w.beginObject().field("type", "pong").field("session_id", info().id).field("ts", 0);
    return send(w.endObject().take());
  }
  if (type == "pong") return;
  if (type == "stop") return disconnect(DisconnectReason::kStopCommand);
  auto it = host->by_type.find(type);
  if (it == host->by_type.end())
    return send(
        errorEvent("unknown_type", "no handler for message type '" + type + "'", info().id));
  const Handler& h = *it->second;
  if (h.kind == Handler::Kind::kAttach) {
    SessionHandler* handler = attached(h.owner);
    if (!handler)
      return send(
          errorEvent("unsupported", "'" + type + "' is not handled in this session", info().id));
    handler->onMessage(type, message);
  } else if (h.kind == Handler::Kind::kJson) {
    h.json(self, message);
  } else {
    h.raw(self, text);
  }
  host->runTasks();
}

void FakeSession::receiveBinary(std::string_view bytes) {
  auto host = impl_->host.lock();
  if (!host || impl_->closed) return;
  auto self = impl_->self.lock();
  for (const auto& [owner, fn] : host->binary) {
    if (fn) {
      fn(self, bytes);
    } else if (SessionHandler* h = attached(owner)) {
      h->onBinary(bytes);
    }
  }
  host->runTasks();
}

void FakeSession::disconnect(DisconnectReason reason) {
  if (impl_->closed) return;
  impl_->closed = reason;
  auto self = impl_->self.lock();
  auto& handlers = impl_->handlers;
  for (auto it = handlers.rbegin(); it != handlers.rend(); ++it) it->second->onClose(reason);
  while (!handlers.empty()) handlers.pop_back();
  if (auto host = impl_->host.lock())
    for (const auto& fn : host->closes) fn(self, reason);
  impl_->scope->close();
}

}  // namespace parley::sdk::testing
