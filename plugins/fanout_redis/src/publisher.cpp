#include "publisher.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace parley::fanout {

Publisher::Publisher(std::shared_ptr<sdk::Scope> scope, RedisSettings settings,
                     std::size_t max_in_flight, sdk::Logger& log,
                     std::shared_ptr<sdk::Histogram> latency_ms,
                     std::shared_ptr<sdk::Counter> failures)
    : max_in_flight_(max_in_flight),
      log_(log),
      latency_ms_(std::move(latency_ms)),
      failures_(std::move(failures)),
      connection_(std::move(scope), std::move(settings),
                  {[this](redisContext* c) { connected(c); },
                   [this](redisContext* c) { return readReplies(c); },
                   [this](redisContext* c) { return writeUnsent(c); },
                   [this](const std::string& why) {
                     connected_ = false;
                     failInFlight(why);
                   }}) {}

std::string Publisher::lastError() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void Publisher::publish(const std::string& channel, const std::string& message) {
  write({"PUBLISH", channel, message}, {}, true);
}

void Publisher::submit(const std::vector<std::string>& args, OnReply on_reply) {
  write(args, std::move(on_reply), false);
}

void Publisher::lose(bool is_publish, const OnReply& on_reply) {
  if (is_publish) failures_->inc();
  if (on_reply) on_reply(nullptr);
}

void Publisher::write(const std::vector<std::string>& args, OnReply on_reply, bool is_publish) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* command = nullptr;
  const int size =
      redisFormatCommandArgv(&command, static_cast<int>(argv.size()), argv.data(), lens.data());
  if (size < 0) return lose(is_publish, on_reply);
  std::unique_lock lock(mutex_);
  // Redis away, or too much unanswered: lost, at most once (see README.md). Until the first
  // attempt to connect has its answer, commands wait for it: a member joining as the instance
  // starts still gets the room's stored state.
  if ((fd_ < 0 && !first_attempt_) || in_flight_.size() >= max_in_flight_) {
    lock.unlock();
    redisFreeCommand(command);
    return lose(is_publish, on_reply);
  }
  in_flight_.push_back({std::move(on_reply), is_publish, std::chrono::steady_clock::now()});
  std::size_t sent = 0;
  // Alone on the wire: write it now, no handoff. Behind others (a burst): join the buffer that the
  // scope writes in one go, which pipelines a burst instead of a syscall per event.
  if (fd_ >= 0 && unsent_.empty() && in_flight_.size() == 1) {
    const ssize_t n =
        ::send(fd_, command, static_cast<std::size_t>(size), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) sent = static_cast<std::size_t>(n);  // an error shows up on the reading side
  }
  const bool rest = sent < static_cast<std::size_t>(size);
  if (rest) unsent_.append(command + sent, static_cast<std::size_t>(size) - sent);
  const int fd = fd_;
  lock.unlock();
  redisFreeCommand(command);
  // The scope sends it when the socket can take it; one wake-up for a whole burst.
  if (rest && fd >= 0 && !flush_posted_.exchange(true))
    connection_.scope().post([this] {
      flush_posted_ = false;
      connection_.wantWrite(true);
    });
}

void Publisher::failInFlight(const std::string& why) {
  std::deque<InFlight> lost;
  {
    std::lock_guard lock(mutex_);
    fd_ = -1;
    first_attempt_ = false;
    unsent_.clear();
    lost.swap(in_flight_);
    last_error_ = why;
    if (!in_outage_)
      log_.warning("Redis publishing stopped: " + why + "; events are dropped until it is back");
    in_outage_ = true;
  }
  for (const auto& f : lost) lose(f.is_publish, f.on_reply);
}

void Publisher::connected(redisContext* c) {
  bool waiting;
  {
    std::lock_guard lock(mutex_);
    fd_ = c->fd;
    first_attempt_ = false;
    waiting = !unsent_.empty();
    if (in_outage_) log_.info("Redis publishing resumed at " + connection_.settings().where());
    in_outage_ = false;
    last_error_.clear();
  }
  connected_ = true;
  if (waiting) connection_.wantWrite(true);
  if (on_connect_) on_connect_();
}

bool Publisher::writeUnsent(redisContext* c) {
  std::lock_guard lock(mutex_);
  if (!unsent_.empty()) {
    const ssize_t n = ::send(c->fd, unsent_.data(), unsent_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0)
      unsent_.erase(0, static_cast<std::size_t>(n));
    else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      return false;
  }
  if (unsent_.empty()) connection_.wantWrite(false);
  return true;
}

bool Publisher::readReplies(redisContext* c) {
  if (redisBufferRead(c) != REDIS_OK) return false;
  void* raw = nullptr;
  while (redisGetReplyFromReader(c, &raw) == REDIS_OK && raw) {
    RedisReply reply(static_cast<redisReply*>(raw));
    raw = nullptr;
    InFlight f;
    {
      std::lock_guard lock(mutex_);
      if (in_flight_.empty()) return false;  // a reply to nothing: the stream is out of step
      f = std::move(in_flight_.front());
      in_flight_.pop_front();
    }
    if (f.is_publish) {
      if (reply->type == REDIS_REPLY_ERROR)
        failures_->inc();
      else  // the PUBLISH round trip: from its write to its reply
        latency_ms_->observe(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - f.sent_at)
                .count());
    }
    if (f.on_reply) f.on_reply(reply.get());
  }
  return c->err == 0;
}

}  // namespace parley::fanout
