// One websocket session, served by one event loop for its whole life: reads and parses frames,
// dispatches messages through the WsServer, writes from a bounded queue of shared, pre-encoded
// frames (what one iteration queued leaves in one sendmsg), and owns the session's scope, the
// plugins' session handlers and its queue of worker messages.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/net/event_loop.hpp"
#include "core/net/scope.hpp"
#include "core/runtime/fifo.hpp"
#include "core/ws/frame.hpp"
#include "core/ws/heartbeats.hpp"
#include "parley/sdk/websocket.hpp"

namespace parley::core::ws {

class WsServer;

struct ConnectionLimits {
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_send_queue_bytes = 1 << 20;
  std::size_t max_queued_work_bytes = 1 << 20;  // worker messages waiting; past it reads pause
  std::size_t max_queued_work = 256;            // the same, counted in tasks
};

class Connection final : public sdk::Session,
                         public net::IoHandler,
                         public net::LoopScope::Budget,
                         public std::enable_shared_from_this<Connection> {
 public:
  using Clock = std::chrono::steady_clock;

  Connection(WsServer& server, net::EventLoop& loop, int fd, sdk::SessionInfo info,
             sdk::json::Value claims, const ConnectionLimits& limits);
  ~Connection() override;

  // sdk::Session, any thread.
  const sdk::SessionInfo& info() const override { return info_; }
  bool open() const override { return state_.load() == State::kOpen; }
  void send(std::string json) override;
  void send(const sdk::EncodedFrame& frame) override;
  std::size_t queuedBytes() const override { return queued_bytes_.load(std::memory_order_relaxed); }
  void stop(sdk::DisconnectReason reason) override;
  void close(sdk::DisconnectReason reason, int code, const std::string& text) override;
  // sdk::Session, loop thread.
  sdk::Scope& scope() override { return *scope_; }
  void pauseReading() override;
  void resumeReading() override;
  const sdk::json::Value& claims() const override { return claims_; }
  sdk::SessionHandler* attached(const std::string& plugin_id) const override;

  // Counts `bytes` against the send queue bound; false (and the session dropped as a slow
  // consumer) when they do not fit. Any thread.
  bool reserve(std::size_t bytes);

  // Loop thread only.
  net::EventLoop& loop() const { return loop_; }
  net::LoopScope& loopScope() { return *scope_; }
  // Starts serving: `first` (the 101 response) goes out before anything else, `early` is what the
  // client sent right behind its upgrade request.
  void begin(std::string first, std::string early);
  void onIo(std::uint32_t events) override;
  void onFlush() override;
  void push(const sdk::EncodedFrame& frame);  // a frame already reserve()d
  // Ends the session: the first reason decided wins. With a close code, a close frame is sent
  // first; `wait_for_peer` keeps reading until the peer's close (or the closing deadline).
  void close(sdk::DisconnectReason reason, std::uint16_t code, std::string_view text,
             bool wait_for_peer);
  void abort(sdk::DisconnectReason reason);
  bool finished() const { return state_.load() == State::kClosed; }

  // The plugins' objects for this session, in attach order (the server fills and empties it). Each
  // is keyed by its plugin's id as the server interned it: a pointer, not a copy per session.
  struct Attached {
    const std::string* owner;
    std::unique_ptr<sdk::SessionHandler> handler;
  };
  std::vector<Attached>& handlers() { return handlers_; }
  // Queues a worker message for `owner`'s handler: run one at a time, in order, never after the
  // close handlers.
  void queueWork(const std::string& owner, std::size_t bytes, std::function<void()> work);
  // Runs `then` once no worker message of this session runs any more (queued ones are dropped).
  void afterWork(std::function<void()> then);

  // LoopScope::Budget: offloaded work queued and done.
  void queued() override { workQueued(0); }
  void drained() override { workDrained(0); }

 private:
  enum class State { kOpen, kClosing, kClosed };
  void readable();
  void handle(Message& message);
  void failParse();
  friend class Heartbeats;
  void heartbeat();  // ping, or end a session that stopped answering
  void scheduleFlush();
  void flush();
  void updateInterest();
  void finish();  // closes the socket; the server runs the close handlers
  void enqueue(const sdk::EncodedFrame& frame);  // reserve + push
  void workQueued(std::size_t bytes);
  void workDrained(std::size_t bytes);
  void runNextWork();

  WsServer& server_;
  net::EventLoop& loop_;
  int fd_;
  sdk::SessionInfo info_;
  sdk::json::Value claims_;
  std::shared_ptr<net::LoopScope> scope_;
  std::string pending_;  // bytes read but not yet a whole frame
  ConnectionLimits limits_;
  FrameParser parser_;
  std::atomic<State> state_{State::kOpen};
  sdk::DisconnectReason reason_ = sdk::DisconnectReason::kOther;
  bool finish_after_flush_ = false;
  bool flush_scheduled_ = false;
  bool want_write_ = false;
  bool watched_ = false;
  std::uint32_t interest_ = 0;
  int pauses_ = 0;            // plugins' pauseReading() calls not yet resumed
  bool over_budget_ = false;  // worker messages past the budget
  Fifo<sdk::EncodedFrame> out_;
  std::size_t out_offset_ = 0;                // bytes of out_.front() already written
  std::atomic<std::size_t> queued_bytes_{0};  // reserved by senders, not yet written
  std::atomic<bool> overflowed_{false};
  Clock::time_point last_activity_;
  Clock::time_point closing_deadline_;
  Heartbeats::Slot beat_;
  sdk::Timer closing_timer_;
  std::vector<Attached> handlers_;
  // Worker messages: one runs at a time.
  struct Work {
    std::string owner;
    std::size_t bytes;
    std::function<void()> fn;
  };
  Fifo<Work> work_;
  bool work_running_ = false;
  sdk::Timer retry_;  // the worker pool was full
  std::size_t work_bytes_ = 0, work_count_ = 0;
  std::function<void()> after_work_;
};

}  // namespace parley::core::ws
