// Websocket sessions as plugins see them. The core owns the connections (upgrade, framing, pings,
// send queues, event-loop threads); plugins react to messages and lifecycle, and send.
//
// Every server event is a JSON text frame with "type" and "session_id". Client text frames are
// JSON objects dispatched by their "type"; binary frames (audio) go to the binary handlers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "parley/sdk/export.hpp"
#include "parley/sdk/http.hpp"
#include "parley/sdk/registration.hpp"

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

struct PARLEY_SDK_API SessionInfo {
  std::string id;    // a UUID, unique per connection
  std::string user;  // the bearer's subject
  bool is_operator = false;
  std::string participant;  // "candidate" (default), "interviewer", or as the client asked
  Fields query;             // every query parameter of the upgrade request, decoded

  const std::string& param(const std::string& name, const std::string& fallback = {}) const;
};

// Bytes of one encoded server frame, shared by every recipient of a broadcast.
using EncodedFrame = std::shared_ptr<const std::string>;

// One connected session. Safe to use from any thread; after the session ends, sends are ignored.
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
};
using SessionPtr = std::shared_ptr<Session>;

// Where a handler runs. kLoop: on the session's event-loop thread, in order; it must not block.
// kWorker: on a worker thread (the same one for every message of a session, so in order), for
// handlers that may block (storage, upstream calls).
enum class RunOn { kLoop, kWorker };

class PARLEY_SDK_API WebSockets {
 public:
  using MessageHandler = std::function<void(const SessionPtr& session, const std::string& json)>;
  using BinaryHandler = std::function<void(const SessionPtr& session, std::string_view bytes)>;
  using OpenHandler = std::function<void(const SessionPtr& session)>;
  using CloseHandler = std::function<void(const SessionPtr& session, DisconnectReason reason)>;

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
  virtual void broadcast(const std::vector<SessionPtr>& to, const EncodedFrame& frame) = 0;
  virtual SessionPtr find(const std::string& session_id) const = 0;
};

}  // namespace parley::sdk
