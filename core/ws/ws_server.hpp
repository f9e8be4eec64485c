// The websocket hub: admits upgrades (handshake, credentials, admission checks, limits), turns the
// HTTP connection into a session on the same loop, dispatches messages to plugin handlers, and
// counts sessions and their disconnect reasons (contract fields the core owns).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/http/http_server.hpp"
#include "core/runtime/call_gate.hpp"
#include "core/ws/connection.hpp"
#include "parley/sdk/metrics.hpp"
#include "parley/sdk/registration.hpp"
#include "parley/sdk/websocket.hpp"

namespace Poco {
class Logger;
}

namespace parley::core {
class AccessRegistry;
class BearerAuth;
class WorkerPool;
}  // namespace parley::core

namespace parley::core::ws {

struct WsSettings {
  std::string path = "/ws/voice";
  int max_connections = 10000;
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_send_queue_bytes = 1 << 20;
  std::size_t max_queued_work_bytes = 1 << 20;
  int socket_send_buffer_bytes = 0;  // 0: the kernel's autotuning
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds idle_timeout{60000};
};

class WsServer final : public UpgradeHandler {
 public:
  using ErrorSink = std::function<void(const std::string& owner, const std::string& what)>;

  WsServer(const WsSettings& settings, const BearerAuth& auth, const AccessRegistry& access,
           WorkerPool& workers, Poco::Logger& log, ErrorSink on_error);
  ~WsServer() override;

  const std::string& path() const { return settings_.path; }
  const WsSettings& settings() const { return settings_; }
  WorkerPool& workers() { return workers_; }

  // UpgradeHandler
  std::string verifierOwner(const UpgradeRequest& request) const override;
  Decision admit(const UpgradeRequest& request) override;
  void adopt(std::shared_ptr<Admission> admission, int fd, net::EventLoop& loop,
             std::string early_bytes) override;

  // Shutdown: closes every session with 1001 (reason kOther); abortAll() drops what is left.
  void closeAll();
  void abortAll();
  int connections() const { return connections_.load(); }

  // What the core counts: open sessions, and every session's disconnect reason once.
  std::shared_ptr<sdk::Gauge> connectionsGauge() const { return connections_gauge_; }
  std::shared_ptr<sdk::CategoryCounter> disconnects() const { return disconnects_; }

  // The plugin-facing hooks; each revoker unregisters and waits for running calls.
  std::shared_ptr<sdk::Revoker> onMessage(const std::string& owner, const std::string& type,
                                          sdk::WebSockets::MessageHandler handler,
                                          sdk::RunOn where);
  std::shared_ptr<sdk::Revoker> onJson(const std::string& owner, const std::string& type,
                                       sdk::WebSockets::JsonHandler handler, sdk::RunOn where);
  std::shared_ptr<sdk::Revoker> onBinary(const std::string& owner,
                                         sdk::WebSockets::BinaryHandler handler, sdk::RunOn where);
  std::shared_ptr<sdk::Revoker> onOpen(const std::string& owner,
                                       sdk::WebSockets::OpenHandler handler);
  std::shared_ptr<sdk::Revoker> onClose(const std::string& owner,
                                        sdk::WebSockets::CloseHandler handler);
  std::shared_ptr<sdk::Revoker> attach(const std::string& owner, sdk::SessionHandlerSpec spec,
                                       sdk::WebSockets::HandlerFactory factory);
  sdk::EncodedFrame encodeText(std::string_view json) const;
  void broadcast(const std::vector<sdk::SessionPtr>& to, const sdk::EncodedFrame& frame);
  sdk::SessionPtr find(const std::string& session_id) const;

  // From connections, on their loop thread.
  void opened(const std::shared_ptr<Connection>& c);
  void closed(const std::shared_ptr<Connection>& c, sdk::DisconnectReason reason);
  void dispatchText(const std::shared_ptr<Connection>& c, std::string& json);
  void dispatchBinary(const std::shared_ptr<Connection>& c, std::string& bytes);
  void slowConsumer(const std::string& session_id, std::size_t queued);
  const sdk::EncodedFrame& pingFrame() const { return ping_frame_; }
  Heartbeats& heartbeats() { return heartbeats_; }
  sdk::EncodedFrame appPing(const std::string& session_id) const;

 private:
  struct Handler;
  void runClose(const std::shared_ptr<Connection>& c, sdk::DisconnectReason reason);
  void sendError(const std::shared_ptr<Connection>& c, std::string_view code,
                 std::string_view message);
  void run(const std::shared_ptr<Handler>& h, const std::shared_ptr<Connection>& c,
           const std::function<void()>& call, const std::string& what);
  void deliver(const std::shared_ptr<Handler>& h, const std::shared_ptr<Connection>& c,
               const std::string& type, std::shared_ptr<const std::string> text,
               std::shared_ptr<const sdk::json::Value> message);
  std::shared_ptr<sdk::Revoker> claimType(const std::string& type, std::shared_ptr<Handler> h);
  std::shared_ptr<sdk::Revoker> keep(std::vector<std::shared_ptr<Handler>>& list,
                                     std::shared_ptr<Handler> handler);
  std::vector<std::shared_ptr<Connection>> live() const;

  WsSettings settings_;
  const BearerAuth& auth_;
  const AccessRegistry& access_;
  WorkerPool& workers_;
  Poco::Logger& log_;
  ErrorSink on_error_;
  sdk::EncodedFrame ping_frame_;
  Heartbeats heartbeats_;
  std::atomic<int> connections_{0};
  std::atomic<bool> accepting_{true};
  std::shared_ptr<sdk::Gauge> connections_gauge_ = std::make_shared<sdk::Gauge>();
  std::shared_ptr<sdk::CategoryCounter> disconnects_;

  mutable std::shared_mutex handlers_mutex_;
  std::set<std::string> owner_keys_;  // plugin ids that attach; sessions point into it
  std::unordered_map<std::string, std::shared_ptr<Handler>> by_type_;
  std::vector<std::shared_ptr<Handler>> binary_, open_, close_, attach_;

  // Owns the open sessions (the loops' epoll sets hold them by raw pointer).
  mutable std::mutex sessions_mutex_;
  std::unordered_map<std::string, std::shared_ptr<Connection>> sessions_;
};

}  // namespace parley::core::ws
