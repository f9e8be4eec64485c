#include "core/ws/connection.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

#include "core/net/socket.hpp"
#include "core/runtime/worker_pool.hpp"
#include "core/ws/ws_server.hpp"

namespace parley::core::ws {

namespace {
constexpr std::size_t kMaxIov = 64;
constexpr auto kClosingGrace = std::chrono::seconds(2);
constexpr int kMaxReadsPerTurn = 4;
constexpr auto kPoolFullRetry = std::chrono::milliseconds(5);
}  // namespace

Connection::Connection(WsServer& server, net::EventLoop& loop, int fd, sdk::SessionInfo info,
                       sdk::json::Value claims, const ConnectionLimits& limits)
    : server_(server),
      loop_(loop),
      fd_(fd),
      info_(std::move(info)),
      claims_(std::move(claims)),
      limits_(limits),
      parser_(limits.max_message_bytes),
      last_activity_(Clock::now()) {
  scope_ = std::make_shared<net::LoopScope>(loop, server.workers(), "session", this);
}

Connection::~Connection() {
  net::closeFd(fd_);
}

void Connection::send(std::string json) {
  send(std::make_shared<const std::string>(encodeFrame(Opcode::kText, json)));
}

void Connection::send(const sdk::EncodedFrame& frame) {
  if (!frame || frame->empty() || !reserve(frame->size())) return;
  if (loop_.inLoopThread()) return push(frame);
  loop_.post([self = shared_from_this(), frame] { self->push(frame); });
}

bool Connection::reserve(std::size_t bytes) {
  if (state_.load() != State::kOpen) return false;
  // Counted when accepted, on the sender's thread, so the bound holds however many sends are
  // still on their way to the loop.
  const std::size_t now = queued_bytes_.fetch_add(bytes) + bytes;
  if (now <= limits_.max_send_queue_bytes) return true;
  queued_bytes_.fetch_sub(bytes);
  if (!overflowed_.exchange(true)) {
    // A client that does not read must not hold memory or slow anyone: drop it.
    auto drop = [self = shared_from_this(), now] {
      self->server_.slowConsumer(self->info_.id, now);
      self->abort(sdk::DisconnectReason::kOther);
    };
    loop_.post(std::move(drop));  // never under a caller that is in the middle of something
  }
  return false;
}

void Connection::stop(sdk::DisconnectReason reason) {
  close(reason, close_code::kNormal, "");
}

void Connection::close(sdk::DisconnectReason reason, int code, const std::string& text) {
  if (state_.load() != State::kOpen) return;
  // Codes a peer may not see on the wire (1005, 1006, 1015, out of range) become 1000.
  const bool sendable = code == close_code::kNormal || (code >= 1001 && code <= 1003) ||
                        (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
  const auto wire = static_cast<std::uint16_t>(sendable ? code : close_code::kNormal);
  auto run = [self = shared_from_this(), reason, wire, text = text.substr(0, 123)] {
    self->close(reason, wire, text, true);
  };
  if (loop_.inLoopThread())
    run();
  else
    loop_.post(std::move(run));
}

void Connection::pauseReading() {
  if (pauses_++ == 0) updateInterest();
}

void Connection::resumeReading() {
  if (pauses_ == 0) return;
  if (--pauses_ == 0) {
    last_activity_ = Clock::now();  // the silence was ours
    updateInterest();
  }
}

sdk::SessionHandler* Connection::attached(const std::string& plugin_id) const {
  for (const auto& [owner, handler] : handlers_)
    if (*owner == plugin_id) return handler.get();
  return nullptr;
}

void Connection::begin(std::string first, std::string early) {
  watched_ = loop_.watch(fd_, EPOLLIN | EPOLLRDHUP, this);
  interest_ = EPOLLIN | EPOLLRDHUP;
  if (!watched_) return abort(sdk::DisconnectReason::kOther);
  queued_bytes_.fetch_add(first.size());
  out_.push_back(std::make_shared<const std::string>(std::move(first)));
  scheduleFlush();
  server_.heartbeats().join(*this);
  server_.opened(shared_from_this());
  if (early.empty() || state_.load() == State::kClosed) return;
  // A client may send its first frames right behind the handshake.
  std::vector<Message> messages;
  const std::size_t used =
      parser_.parse(reinterpret_cast<const std::uint8_t*>(early.data()), early.size(), messages);
  pending_.assign(early, used, std::string::npos);
  for (auto& m : messages) {
    if (state_.load() == State::kClosed) return;
    handle(m);
  }
  if (parser_.failed()) failParse();
}

void Connection::onIo(std::uint32_t events) {
  if (state_.load() == State::kClosed) return;  // a stale event in the same epoll batch
  auto self = shared_from_this();
  const bool paused = pauses_ > 0 || over_budget_;
  if (paused && (events & (EPOLLHUP | EPOLLERR))) {
    // Reads are paused, but the connection is gone entirely: nobody is there to wait for.
    return abort(events & EPOLLERR ? sdk::DisconnectReason::kReceiveAudioError
                                   : sdk::DisconnectReason::kClientDisconnect);
  }
  // On a reset or hang-up, read first: what the peer did is reported as what it was (a reset
  // while reading), not as the write that would fail because of it.
  const bool broken = events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
  if (!paused && (broken || (events & EPOLLIN))) readable();
  if ((events & EPOLLOUT) && state_.load() != State::kClosed) flush();
}

void Connection::readable() {
  std::uint8_t buf[64 * 1024];
  std::vector<Message> messages;
  int full_reads = 0;
  while (state_.load() != State::kClosed && pauses_ == 0 && !over_budget_) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) {
      // The peer ended the connection: cleanly if it had sent its close frame (or we ours).
      return abort(sdk::DisconnectReason::kClientDisconnect);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return abort(sdk::DisconnectReason::kReceiveAudioError);  // reset while reading
    }
    last_activity_ = Clock::now();
    messages.clear();
    std::size_t used;
    if (pending_.empty()) {
      used = parser_.parse(buf, static_cast<std::size_t>(n), messages);
      pending_.assign(reinterpret_cast<const char*>(buf) + used,
                      static_cast<std::size_t>(n) - used);
    } else {
      pending_.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
      used = parser_.parse(reinterpret_cast<const std::uint8_t*>(pending_.data()), pending_.size(),
                           messages);
      pending_.erase(0, used);
    }
    for (auto& m : messages) {
      handle(m);
      if (state_.load() == State::kClosed) return;
    }
    if (parser_.failed()) return failParse();
    // A client that sends without pause must not hold the loop: after a few full reads, let the
    // others have their turn (the loop is level-triggered and comes back for the rest).
    if (static_cast<std::size_t>(n) < sizeof buf || ++full_reads == kMaxReadsPerTurn) return;
  }
}

void Connection::failParse() {
  pending_.clear();
  const auto code = parser_.failureCode();
  close(code == close_code::kTooBig ? sdk::DisconnectReason::kOther
                                    : sdk::DisconnectReason::kReceiveAudioError,
        code, parser_.failureReason(), false);
}

void Connection::handle(Message& m) {
  if (state_.load() == State::kClosing) {
    if (m.opcode == Opcode::kClose) {  // the peer answered our close: end once ours is out
      finish_after_flush_ = true;
      scheduleFlush();
    }
    return;
  }
  switch (m.opcode) {
    case Opcode::kText: server_.dispatchText(shared_from_this(), m.payload); break;
    case Opcode::kBinary: server_.dispatchBinary(shared_from_this(), m.payload); break;
    case Opcode::kPing:
      enqueue(std::make_shared<const std::string>(encodeFrame(Opcode::kPong, m.payload)));
      break;
    case Opcode::kPong: break;  // its arrival already counted as activity
    case Opcode::kClose:
      // Echo the peer's code and close once it is written.
      close(sdk::DisconnectReason::kClientDisconnect, m.close_code, "", false);
      break;
    case Opcode::kContinuation: break;  // never delivered: the parser reassembles
  }
}

void Connection::heartbeat() {
  if (state_.load() != State::kOpen) return;
  const bool paused = pauses_ > 0 || over_budget_;
  if (!paused && Clock::now() - last_activity_ >= server_.settings().idle_timeout) {
    return abort(sdk::DisconnectReason::kSocketClosed);  // it stopped answering
  }
  enqueue(server_.pingFrame());
  enqueue(server_.appPing(info_.id));
}

void Connection::enqueue(const sdk::EncodedFrame& frame) {
  if (reserve(frame->size())) push(frame);
}

void Connection::push(const sdk::EncodedFrame& frame) {
  if (state_.load() != State::kOpen) {
    queued_bytes_.fetch_sub(frame->size());  // reserved, but the session ended meanwhile
    return;
  }
  out_.push_back(frame);
  scheduleFlush();
}

void Connection::close(sdk::DisconnectReason reason, std::uint16_t code, std::string_view text,
                       bool wait_for_peer) {
  if (state_.load() != State::kOpen) return;
  reason_ = reason;
  state_ = State::kClosing;
  if (code != 0) {
    // The close frame goes out even past the queue limit: it is the last thing we send.
    std::string frame =
        code == close_code::kNoStatus ? encodeFrame(Opcode::kClose, "") : encodeClose(code, text);
    queued_bytes_.fetch_add(frame.size());
    out_.push_back(std::make_shared<const std::string>(std::move(frame)));
  }
  finish_after_flush_ = !wait_for_peer;
  if (wait_for_peer) {
    // The peer's close is awaited while reading, even if reads were paused.
    pauses_ = 0;
    over_budget_ = false;
    updateInterest();
    closing_timer_ =
        scope_->after(std::chrono::duration_cast<std::chrono::milliseconds>(kClosingGrace),
                      [this] { abort(sdk::DisconnectReason::kOther); });
  }
  scheduleFlush();
}

void Connection::abort(sdk::DisconnectReason reason) {
  if (state_.load() == State::kOpen) reason_ = reason;
  finish();
}

void Connection::scheduleFlush() {
  if (flush_scheduled_ || want_write_) return;  // a flush is coming, or EPOLLOUT will call it
  flush_scheduled_ = true;
  loop_.deferFlush(shared_from_this());
}

void Connection::onFlush() {
  flush_scheduled_ = false;
  flush();  // after finish() (a keep-alive until the end of the iteration) there is nothing to do
}

void Connection::flush() {
  while (!out_.empty() && state_.load() != State::kClosed) {
    iovec iov[kMaxIov];
    std::size_t count = 0;
    for (auto it = out_.begin(); it != out_.end() && count < kMaxIov; ++it, ++count) {
      const std::size_t skip = count == 0 ? out_offset_ : 0;
      iov[count].iov_base = const_cast<char*>((*it)->data()) + skip;
      iov[count].iov_len = (*it)->size() - skip;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        want_write_ = true;
        return updateInterest();
      }
      return abort(sdk::DisconnectReason::kSocketClosed);  // unusable when written to
    }
    auto left = static_cast<std::size_t>(n);
    queued_bytes_.fetch_sub(left);
    while (left > 0) {
      const std::size_t rest = out_.front()->size() - out_offset_;
      if (left < rest) {
        out_offset_ += left;
        break;
      }
      left -= rest;
      out_offset_ = 0;
      out_.pop_front();
    }
  }
  if (want_write_) {
    want_write_ = false;
    updateInterest();
  }
  if (out_.empty() && finish_after_flush_) finish();
}

void Connection::updateInterest() {
  if (state_.load() == State::kClosed || !watched_) return;
  const bool reading = pauses_ == 0 && !over_budget_;
  const std::uint32_t events =
      (reading ? EPOLLIN | EPOLLRDHUP : 0u) | (want_write_ ? EPOLLOUT : 0u);
  if (events == interest_) return;
  // An epoll failure (ENOMEM) ends this one session, never the loop.
  if (!loop_.change(fd_, events, this)) return abort(sdk::DisconnectReason::kOther);
  interest_ = events;
}

void Connection::finish() {
  if (state_.exchange(State::kClosed) == State::kClosed) return;
  if (watched_) loop_.unwatch(fd_);
  watched_ = false;
  net::closeFd(fd_);
  fd_ = -1;
  server_.heartbeats().leave(*this);
  closing_timer_.cancel();
  // Give back what was queued; sends still on their way give back their own in push().
  std::size_t unsent = 0;
  for (const auto& f : out_) unsent += f->size();
  queued_bytes_.fetch_sub(unsent - out_offset_ * !out_.empty());
  out_.clear();
  auto self = shared_from_this();
  loop_.retire(self);  // other events for it may still sit in this iteration's batch
  server_.closed(self, reason_);
}

void Connection::queueWork(const std::string& owner, std::size_t bytes,
                           std::function<void()> work) {
  if (state_.load() == State::kClosed) return;
  work_.push_back({owner, bytes, std::move(work)});
  workQueued(bytes);
  runNextWork();
}

void Connection::runNextWork() {
  if (work_running_ || work_.empty()) return;
  Work next = std::move(work_.front());
  work_.pop_front();
  work_running_ = true;
  auto self = shared_from_this();
  auto task = [self, bytes = next.bytes, fn = next.fn]() {
    struct Back {  // even if the handler throws (the pool reports it)
      std::shared_ptr<Connection> self;
      std::size_t bytes;
      ~Back() {
        self->loop_.post([self = self, bytes = bytes] {
          self->work_running_ = false;
          self->workDrained(bytes);
          if (self->after_work_) {
            auto then = std::move(self->after_work_);
            self->after_work_ = nullptr;
            then();
          } else {
            self->runNextWork();
          }
        });
      }
    } back{self, bytes};
    fn();
  };
  if (server_.workers().submit(next.owner, std::move(task))) return;
  // The pool's queue is full: try again shortly; past its budget the session stops reading.
  work_running_ = false;
  work_.push_front(std::move(next));
  retry_ = scope_->after(std::chrono::duration_cast<std::chrono::milliseconds>(kPoolFullRetry),
                         [this] { runNextWork(); });
}

void Connection::afterWork(std::function<void()> then) {
  for (const auto& w : work_) workDrained(w.bytes);
  work_.clear();
  if (!work_running_) return then();
  after_work_ = std::move(then);
}

void Connection::workQueued(std::size_t bytes) {
  work_bytes_ += bytes;
  ++work_count_;
  if (!over_budget_ &&
      (work_bytes_ > limits_.max_queued_work_bytes || work_count_ > limits_.max_queued_work)) {
    over_budget_ = true;
    updateInterest();
  }
}

void Connection::workDrained(std::size_t bytes) {
  work_bytes_ -= std::min(bytes, work_bytes_);
  if (work_count_) --work_count_;
  if (over_budget_ && work_bytes_ <= limits_.max_queued_work_bytes / 2 &&
      work_count_ <= limits_.max_queued_work / 2) {
    over_budget_ = false;
    last_activity_ = Clock::now();
    updateInterest();
  }
}

}  // namespace parley::core::ws
