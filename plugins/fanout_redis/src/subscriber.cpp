#include "subscriber.hpp"

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

Subscriber::Subscriber(std::shared_ptr<sdk::Scope> scope, RedisSettings settings, sdk::Logger& log,
                       Subscriptions::Serves serves, OnMessage on_message)
    : log_(log),
      serves_(std::move(serves)),
      on_message_(std::move(on_message)),
      connection_(std::move(scope), std::move(settings),
                  {[this](redisContext* c) { connected(c); },
                   [this](redisContext* c) { return readReplies(c); },
                   [this](redisContext* c) { return writePending(c); },
                   [this](const std::string& why) { lost(why); }}) {}

void Subscriber::touch(const std::string& channel) {
  subscriptions_.touch(channel);
  // One look for a burst of membership changes.
  if (!reconcile_posted_.exchange(true))
    connection_.scope().post([this] {
      reconcile_posted_ = false;
      if (context_) reconcile(false);
    });
}

void Subscriber::connected(redisContext* c) {
  if (in_outage_) log_.info("Redis subscriber reconnected to " + connection_.settings().where());
  in_outage_ = false;
  context_ = c;
  connected_ = true;
  active_.clear();
  reconcile(true);
}

void Subscriber::reconcile(bool reconnected) {
  const Subscriptions::Plan plan = subscriptions_.plan(active_, serves_, reconnected);
  for (const auto& ch : plan.join)
    redisAppendCommand(context_, "SUBSCRIBE %b", ch.data(), ch.size());
  for (const auto& ch : plan.leave)
    redisAppendCommand(context_, "UNSUBSCRIBE %b", ch.data(), ch.size());
  if (!plan.join.empty() || !plan.leave.empty()) connection_.wantWrite(true);
}

bool Subscriber::writePending(redisContext* c) {
  int done = 0;
  if (redisBufferWrite(c, &done) != REDIS_OK) return false;
  if (done) connection_.wantWrite(false);
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

void Subscriber::lost(const std::string& why) {
  if (!in_outage_) log_.warning("Redis subscriber: " + why + "; reconnecting");
  in_outage_ = true;
  context_ = nullptr;
  connected_ = false;
}

}  // namespace parley::fanout
