// One websocket connection, owned by one event loop: reads and parses frames, dispatches
// messages through the WsServer, and writes from a bounded queue of shared, pre-encoded frames,
// coalescing what an iteration queued into one writev.
#pragma once

#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "core/ws/event_loop.hpp"
#include "core/ws/frame.hpp"
#include "parley/sdk/websocket.hpp"

namespace parley::core::ws {

class WsServer;

struct ConnectionLimits {
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_send_queue_bytes = 1 << 20;
};

class Connection final : public sdk::Session,
                         public IoHandler,
                         public std::enable_shared_from_this<Connection> {
 public:
  using Clock = std::chrono::steady_clock;

  Connection(WsServer& server, EventLoop& loop, Poco::Net::StreamSocket socket,
             sdk::SessionInfo info, std::string early_bytes, const ConnectionLimits& limits);
  ~Connection() override;

  // sdk::Session: any thread.
  const sdk::SessionInfo& info() const override { return info_; }
  bool open() const override { return state_.load() == State::kOpen; }
  void send(std::string json) override;
  void send(const sdk::EncodedFrame& frame) override;
  std::size_t queuedBytes() const override { return queued_bytes_.load(std::memory_order_relaxed); }
  // Counts `bytes` against the send queue bound; false (and the session dropped as a slow
  // consumer) when they do not fit. Any thread.
  bool reserve(std::size_t bytes);
  void stop(sdk::DisconnectReason reason) override;

  // Loop thread only.
  EventLoop& loop() const { return loop_; }
  void begin();
  void onIo(std::uint32_t events) override;
  void onFlush() override;
  void enqueue(const sdk::EncodedFrame& frame);  // reserve + push
  void push(const sdk::EncodedFrame& frame);     // a frame already reserved
  // Ends the session: the first reason decided wins. With a close code, a close frame is sent
  // first; `wait_for_peer` keeps reading until the peer's close (or the closing deadline).
  void close(sdk::DisconnectReason reason, std::uint16_t code, std::string_view text,
             bool wait_for_peer);
  // Heartbeat: true while the connection stays; false once it is closed or closes now.
  bool heartbeat(Clock::time_point now, Clock::duration idle_timeout);
  // Closing deadline passed: drop the connection without waiting any longer.
  bool closingExpired(Clock::time_point now) const;
  bool finished() const { return state_.load() == State::kClosed; }
  void abort(sdk::DisconnectReason reason);

 private:
  enum class State { kOpen, kClosing, kClosed };
  void readable();
  void handle(Message& message);
  void scheduleFlush();
  void flush();
  void updateInterest();
  void finish();  // closes the socket, runs close handlers once

  WsServer& server_;
  EventLoop& loop_;
  Poco::Net::StreamSocket socket_;
  int fd_;
  sdk::SessionInfo info_;
  std::string pending_;  // bytes read but not yet a whole frame
  ConnectionLimits limits_;
  FrameParser parser_;
  std::atomic<State> state_{State::kOpen};
  sdk::DisconnectReason reason_ = sdk::DisconnectReason::kOther;
  bool reason_set_ = false;
  bool close_sent_ = false;
  bool finish_after_flush_ = false;
  bool flush_scheduled_ = false;
  bool want_write_ = false;
  std::deque<sdk::EncodedFrame> out_;
  std::size_t out_offset_ = 0;                // bytes of out_.front() already written
  std::atomic<std::size_t> queued_bytes_{0};  // reserved by senders, not yet written
  std::atomic<bool> overflowed_{false};
  Clock::time_point last_activity_;
  Clock::time_point closing_deadline_;
};

}  // namespace parley::core::ws
