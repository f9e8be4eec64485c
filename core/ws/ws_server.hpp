// The websocket hub: upgrades authenticated HTTP requests, hands each connection to one of a
// fixed number of event loops, dispatches messages to plugin handlers, and runs heartbeats.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/runtime/call_gate.hpp"
#include "core/ws/connection.hpp"
#include "core/ws/event_loop.hpp"
#include "parley/sdk/registration.hpp"
#include "parley/sdk/websocket.hpp"

namespace Poco {
class Logger;
}

namespace parley::core {
class BearerAuth;
class SerialWorkers;
}  // namespace parley::core

namespace parley::core::ws {

struct WsSettings {
  std::string path = "/ws/voice";
  int loop_threads = 2;
  int worker_threads = 2;
  int max_connections = 10000;
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_send_queue_bytes = 1 << 20;
  int socket_send_buffer_bytes = 0;  // 0: the kernel's autotuning
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds idle_timeout{60000};
};

class WsServer {
 public:
  using ErrorSink = std::function<void(const std::string& owner, const std::string& what)>;

  WsServer(const WsSettings& settings, const BearerAuth& auth, Poco::Logger& log,
           ErrorSink on_error);
  ~WsServer();

  void start();
  // Closes every session with 1001 (reason kOther), waits for them within `deadline`, then stops
  // the loops and workers.
  void shutdown(std::chrono::milliseconds deadline);

  const std::string& path() const { return settings_.path; }
  // For GET <path>: answers the handshake (or refuses it with a JSON error) and takes the socket.
  void upgrade(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp);

  // The plugin-facing hooks; each revoker unregisters and waits for running calls.
  std::shared_ptr<sdk::Revoker> onMessage(const std::string& owner, const std::string& type,
                                          sdk::WebSockets::MessageHandler handler,
                                          sdk::RunOn where);
  std::shared_ptr<sdk::Revoker> onBinary(const std::string& owner,
                                         sdk::WebSockets::BinaryHandler handler, sdk::RunOn where);
  std::shared_ptr<sdk::Revoker> onOpen(const std::string& owner,
                                       sdk::WebSockets::OpenHandler handler);
  std::shared_ptr<sdk::Revoker> onClose(const std::string& owner,
                                        sdk::WebSockets::CloseHandler handler);
  sdk::EncodedFrame encodeText(std::string_view json) const;
  void broadcast(const std::vector<sdk::SessionPtr>& to, const sdk::EncodedFrame& frame);
  sdk::SessionPtr find(const std::string& session_id) const;
  int connections() const { return connections_.load(); }

  // From connections, on their loop thread.
  void opened(const std::shared_ptr<Connection>& c);
  void closed(const std::shared_ptr<Connection>& c, sdk::DisconnectReason reason);
  void closing(const std::shared_ptr<Connection>& c);
  void dispatchText(const std::shared_ptr<Connection>& c, std::string& json);
  void dispatchBinary(const std::shared_ptr<Connection>& c, std::string& bytes);
  void slowConsumer(const std::string& session_id, std::size_t queued);
  const sdk::EncodedFrame& pingFrame() const { return ping_frame_; }
  sdk::EncodedFrame appPing(const std::string& session_id) const;

 private:
  struct Handler;
  struct Loop;
  void tick(Loop& loop);
  Loop& slotOf(const Connection& c);
  void sendError(const std::shared_ptr<Connection>& c, std::string_view code,
                 std::string_view message);
  void run(const std::shared_ptr<Handler>& h, const std::shared_ptr<Connection>& c,
           std::function<void()> call, const std::string& what);
  std::shared_ptr<sdk::Revoker> keep(std::vector<std::shared_ptr<Handler>>& list,
                                     std::shared_ptr<Handler> handler);

  WsSettings settings_;
  const BearerAuth& auth_;
  Poco::Logger& log_;
  ErrorSink on_error_;
  sdk::EncodedFrame ping_frame_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<unsigned> next_loop_{0};
  std::unique_ptr<SerialWorkers> workers_;
  std::atomic<int> connections_{0};
  std::atomic<bool> accepting_{false};
  bool stopped_ = false;

  mutable std::shared_mutex handlers_mutex_;
  std::unordered_map<std::string, std::shared_ptr<Handler>> by_type_;
  std::vector<std::shared_ptr<Handler>> binary_, open_, close_;

  mutable std::mutex sessions_mutex_;
  std::unordered_map<std::string, std::weak_ptr<Connection>> sessions_;
};

}  // namespace parley::core::ws
