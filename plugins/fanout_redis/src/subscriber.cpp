#include "subscriber.hpp"

#include <poll.h>
#include <unistd.h>

#include <vector>

namespace parley::fanout {

Subscriber::Subscriber(RedisSettings settings, sdk::Logger& log, OnMessage on_message)
    : settings_(std::move(settings)), log_(log), on_message_(std::move(on_message)) {}

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

void Subscriber::want(const std::string& channel, bool subscribed) {
  {
    std::lock_guard lock(mutex_);
    if (subscribed)
      wanted_.insert(channel);
    else
      wanted_.erase(channel);
  }
  wake_.signal();
}

bool Subscriber::reconcile(redisContext* c, std::set<std::string>& active) {
  std::vector<std::string> join, leave;
  {
    std::lock_guard lock(mutex_);
    for (const auto& ch : wanted_)
      if (!active.count(ch)) join.push_back(ch);
    for (const auto& ch : active)
      if (!wanted_.count(ch)) leave.push_back(ch);
  }
  for (const auto& ch : join) {
    redisAppendCommand(c, "SUBSCRIBE %b", ch.data(), ch.size());
    active.insert(ch);
  }
  for (const auto& ch : leave) {
    redisAppendCommand(c, "UNSUBSCRIBE %b", ch.data(), ch.size());
    active.erase(ch);
  }
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
  int attempt = 0;
  bool in_outage = false;
  while (!stopping_) {
    std::string error;
    RedisContext c = connectRedis(settings_, error);
    if (!c) {
      if (!in_outage) log_.warning("Redis subscriber: " + error + "; retrying");
      in_outage = true;
      pollfd wake{wake_.fd(), POLLIN, 0};
      poll(&wake, 1, static_cast<int>(backoff(attempt++, settings_.reconnect_max).count()));
      wake_.drain();  // else a signal during the outage would cut every later wait short
      continue;
    }
    if (in_outage) log_.info("Redis subscriber reconnected to " + settings_.where());
    in_outage = false;
    attempt = 0;
    connected_ = true;
    std::set<std::string> active;  // what this connection is subscribed to
    bool healthy = reconcile(c.get(), active);
    while (healthy && !stopping_) {
      pollfd fds[2] = {{c->fd, POLLIN, 0}, {wake_.fd(), POLLIN, 0}};
      if (poll(fds, 2, 1000) < 0) continue;
      if (fds[1].revents & POLLIN) {
        wake_.drain();
        healthy = reconcile(c.get(), active);
      }
      if (healthy && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
        healthy = readReplies(c.get());
    }
    connected_ = false;
    if (!stopping_) {
      log_.warning("Redis subscriber lost " + settings_.where() + ": " + c->errstr +
                   "; reconnecting");
      in_outage = true;
    }
  }
}

}  // namespace parley::fanout
