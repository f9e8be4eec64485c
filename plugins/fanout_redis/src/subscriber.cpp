#include "subscriber.hpp"

#include <poll.h>
#include <unistd.h>

#include <vector>

namespace parley::fanout {

void Subscriptions::touch(const std::string& channel) {
  std::lock_guard lock(mutex_);
  touched_.insert(channel);
}

Subscriptions::Plan Subscriptions::plan(std::set<std::string>& active, const Serves& serves,
                                        bool reconnected) {
  std::set<std::string> look;
  {
    std::lock_guard lock(mutex_);
    look.swap(touched_);
  }
  if (reconnected) look.insert(held_.begin(), held_.end());
  Plan plan;
  for (const auto& ch : look) {
    const bool wanted = serves(ch);
    if (wanted && active.insert(ch).second) plan.join.push_back(ch);
    if (!wanted && active.erase(ch)) plan.leave.push_back(ch);
  }
  held_ = active;
  return plan;
}

Subscriber::Subscriber(RedisSettings settings, sdk::Logger& log, Subscriptions::Serves serves,
                       OnMessage on_message)
    : settings_(std::move(settings)),
      log_(log),
      serves_(std::move(serves)),
      on_message_(std::move(on_message)) {}

Subscriber::~Subscriber() {
  stop();
}

void Subscriber::start() {
  thread_ = std::thread([this] { run(); });
}

void Subscriber::stop() {
  stopping_ = true;
  wake_.signal();
  if (thread_.joinable()) thread_.join();
}

void Subscriber::touch(const std::string& channel) {
  subscriptions_.touch(channel);
  wake_.signal();
}

bool Subscriber::reconcile(redisContext* c, std::set<std::string>& active, bool reconnected) {
  const Subscriptions::Plan plan = subscriptions_.plan(active, serves_, reconnected);
  for (const auto& ch : plan.join) redisAppendCommand(c, "SUBSCRIBE %b", ch.data(), ch.size());
  for (const auto& ch : plan.leave) redisAppendCommand(c, "UNSUBSCRIBE %b", ch.data(), ch.size());
  int done = 0;
  while (!done)
    if (redisBufferWrite(c, &done) != REDIS_OK) return false;
  return true;
}

bool Subscriber::readReplies(redisContext* c) {
  if (redisBufferRead(c) != REDIS_OK) return false;
  void* raw = nullptr;
  while (redisGetReplyFromReader(c, &raw) == REDIS_OK && raw) {
    RedisReply reply(static_cast<redisReply*>(raw));
    raw = nullptr;
    // ["message", channel, payload]; subscribe/unsubscribe confirmations are ignored.
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
        std::string(reply->element[0]->str, reply->element[0]->len) == "message")
      on_message_(std::string(reply->element[1]->str, reply->element[1]->len),
                  std::string(reply->element[2]->str, reply->element[2]->len));
  }
  return c->err == 0;
}

void Subscriber::run() {
  Reconnection pace(settings_.reconnect_max);
  bool in_outage = false;
  while (!stopping_) {
    std::string error;
    RedisContext c = connectRedis(settings_, error);
    if (!c) {
      if (!in_outage) log_.warning("Redis subscriber: " + error + "; retrying");
      in_outage = true;
      pace.failed(wake_);
      continue;
    }
    if (in_outage) log_.info("Redis subscriber reconnected to " + settings_.where());
    in_outage = false;
    pace.connected();
    connected_ = true;
    std::set<std::string> active;  // what this connection is subscribed to
    bool healthy = reconcile(c.get(), active, true);
    while (healthy && !stopping_) {
      pollfd fds[2] = {{c->fd, POLLIN, 0}, {wake_.fd(), POLLIN, 0}};
      if (poll(fds, 2, 1000) < 0) continue;
      if (fds[1].revents & POLLIN) {
        wake_.drain();
        healthy = reconcile(c.get(), active, false);
      }
      if (healthy && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
        healthy = readReplies(c.get());
    }
    connected_ = false;
    if (!stopping_) {
      log_.warning("Redis subscriber lost " + settings_.where() + ": " + c->errstr +
                   "; reconnecting");
      in_outage = true;
      pace.lost(wake_);
    }
  }
}

}  // namespace parley::fanout
