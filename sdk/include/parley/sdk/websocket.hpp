// Websocket sessions as plugins see them. The core owns the connections (upgrade, framing, pings,
// send queues, event loops); plugins react to messages and lifecycle, and send.
//
// Every server event is a JSON text frame with "type" and "session_id". Client text frames are
// JSON objects dispatched by their "type"; binary frames (audio) go to the binary handlers.
//
// Since SDK 1.2 a plugin can attach an object of its own to every session (attach()): created when
// the session opens, fed the session's messages of the types it declared and its binary frames,
// and destroyed after its close callback. Every callback of one session (its handlers' messages,
// binary frames, its scope's timers, posted tasks and upstream events) runs on the session's event
// loop, one at a time, and none runs after the session's close callbacks.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "parley/sdk/export.hpp"
#include "parley/sdk/http.hpp"
#include "parley/sdk/json.hpp"
#include "parley/sdk/registration.hpp"
#include "parley/sdk/scope.hpp"

namespace parley::sdk {

// Why a session ended: exactly one per session, the first one decided wins.
enum class DisconnectReason {
  kClientDisconnect,   // the client sent a close frame, or ended the connection cleanly
  kStopCommand,        // the client sent {"type":"stop"}
  kReceiveAudioError,  // reading or handling an incoming frame failed (reset, protocol violation)
  kDeepgramError,      // transcription failed beyond its retry policy
  kSocketClosed,       // the socket was unusable when written to, or stopped answering pings
  kMaxTurnsReached,    // the turn limit was reached
  kOther,              // shutdown, message too large, slow consumer, anything else
};
PARLEY_SDK_API const char* reasonName(DisconnectReason reason);  // "client_disconnect", ...

// Since SDK 1.2. The error event: {"type":"error","code":...,"message":...,"session_id":...}.
PARLEY_SDK_API std::string errorEvent(std::string_view code, std::string_view message,
                                      std::string_view session_id);

// Frozen since SDK 1.1: later versions add to Session, never here.
struct PARLEY_SDK_API SessionInfo {
  std::string id;    // a UUID, unique per connection
  std::string user;  // the bearer's subject (or a verifier's, for a share token)
  bool is_operator = false;
  std::string participant;  // "candidate" (default), "interviewer", "viewer", or as asked
  Fields query;             // the upgrade request's query parameters, decoded, without credentials
                            // (token, access_token and whatever a verifier reads are removed)

  const std::string& param(const std::string& name, const std::string& fallback = {}) const;
};

// Bytes of one encoded server frame, shared by every recipient of a broadcast.
using EncodedFrame = std::shared_ptr<const std::string>;

class SessionHandler;

// One connected session. send(), queuedBytes(), stop(), open() and info() are safe from any
// thread; after the session ends, sends are ignored. The rest (since SDK 1.2) is for the session's
// scope thread.
class PARLEY_SDK_API Session {
 public:
  virtual ~Session();
  virtual const SessionInfo& info() const = 0;
  virtual bool open() const = 0;
  // Queues a text frame. A client whose queue exceeds ws.max_send_queue_bytes is disconnected
  // (reason kOther) without slowing anyone else.
  virtual void send(std::string json) = 0;
  virtual void send(const EncodedFrame& frame) = 0;
  // Bytes accepted for this session and not yet written to its socket: for producers that pace
  // themselves to the client (streams, floods) instead of running into the queue limit.
  virtual std::size_t queuedBytes() const = 0;
  // Ends the session with `reason` (unless an earlier reason was decided) and close code 1000.
  virtual void stop(DisconnectReason reason) = 0;

  // Since SDK 1.2.
  // The session's serial scope: its timers, posted tasks, offloaded work and upstream connections
  // run with the session's other callbacks and end with it.
  virtual Scope& scope() = 0;
  // Stops reading the client's socket until as many resumeReading() calls: what the client sends
  // meanwhile waits in the kernel and the network (audio is held back, never dropped). Counted, so
  // several reasons to pause compose. Scope thread.
  virtual void pauseReading() = 0;
  virtual void resumeReading() = 0;
  // The claims that admitted the session: a JWT's payload, or what a verifier granted; null for
  // an operator token.
  virtual const json::Value& claims() const = 0;
  // The object plugin `plugin_id` attached to this session, or null. Scope thread.
  virtual SessionHandler* attached(const std::string& plugin_id) const = 0;
  // Ends the session like stop(), with close `code` (an application code, 4000..4999) and
  // `text` (at most 123 bytes) in its close frame, so the client can tell why. Any thread.
  virtual void close(DisconnectReason reason, int code, const std::string& text) = 0;
};
using SessionPtr = std::shared_ptr<Session>;

// Since SDK 1.2. A plugin's own object for one session (see WebSockets::attach()). It is created
// when the session opens and destroyed after onClose(); every call runs on the session's scope.
// Keep a Session& if you need it: the session outlives its handlers.
class PARLEY_SDK_API SessionHandler {
 public:
  virtual ~SessionHandler();
  // A client message of one of the types the handler was attached for; `message` is the parsed
  // object (its "type" included).
  virtual void onMessage(std::string_view type, const json::Value& message);
  // A binary frame (audio), if the handler was attached with binary frames.
  virtual void onBinary(std::string_view bytes);
  // The session ended; the last call.
  virtual void onClose(DisconnectReason reason);
};

// Websocket handlers and RunOn (http.hpp): kLoop runs on the session's event loop, in order, and
// must not block. kWorker runs on the worker pool, one message of a session at a time, in order,
// and may block. A session's queued worker messages count against its budget
// (ws.max_queued_work_bytes): past it the core stops reading the session until they drain. No
// worker handler of a session runs after, or while, its close handlers run.

struct SessionHandlerSpec {
  std::vector<std::string> messages;  // the message types routed to the handler
  bool binary = false;                // whether it receives binary frames
};

class PARLEY_SDK_API WebSockets {
 public:
  using MessageHandler = std::function<void(const SessionPtr& session, const std::string& json)>;
  using JsonHandler = std::function<void(const SessionPtr& session, const json::Value& message)>;
  using BinaryHandler = std::function<void(const SessionPtr& session, std::string_view bytes)>;
  using OpenHandler = std::function<void(const SessionPtr& session)>;
  using CloseHandler = std::function<void(const SessionPtr& session, DisconnectReason reason)>;
  // Returns the plugin's object for the session, or null to take no part in it.
  using HandlerFactory = std::function<std::unique_ptr<SessionHandler>(const SessionPtr& session)>;

  virtual ~WebSockets();
  // One handler per message type in the process; a second is refused with RegistrationError.
  virtual Registration onMessage(const std::string& type, MessageHandler handler,
                                 RunOn where = RunOn::kLoop) = 0;
  virtual Registration onBinary(BinaryHandler handler, RunOn where = RunOn::kLoop) = 0;
  // Open handlers run in registration order before the session's first message is dispatched;
  // close handlers run once, after the connection is gone, with the session's reason.
  virtual Registration onOpen(OpenHandler handler) = 0;
  virtual Registration onClose(CloseHandler handler) = 0;

  // Encodes once; the frame can then go to any number of sessions without copying.
  virtual EncodedFrame encodeText(std::string_view json) = 0;
  // Sessions the core did not make are skipped.
  virtual void broadcast(const std::vector<SessionPtr>& to, const EncodedFrame& frame) = 0;
  virtual SessionPtr find(const std::string& session_id) const = 0;

  // Since SDK 1.2.
  // The same as onMessage, with the message already parsed (from the parse the core does anyway
  // to find its type).
  virtual Registration onJson(const std::string& type, JsonHandler handler,
                              RunOn where = RunOn::kLoop) = 0;
  // Attaches the plugin's own object to every session that opens from now on (one attach per
  // plugin): `factory` runs on the session's scope after the open handlers; the spec's message
  // types are claimed like onMessage's.
  virtual Registration attach(SessionHandlerSpec spec, HandlerFactory factory) = 0;
};

}  // namespace parley::sdk
