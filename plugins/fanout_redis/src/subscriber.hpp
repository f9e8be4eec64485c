// Receives other instances' room events. A dedicated connection, on a scope of the plugin's,
// subscribes to a room's channel while this instance has local members in that room, and only
// then, so that an instance never receives the traffic of rooms it does not serve. After an outage
// it reconnects (capped backoff with jitter) and subscribes again to every room it still serves.
#pragma once

#include <parley/sdk/context.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "redis_link.hpp"

namespace parley::fanout {

// Which channels to join and leave. A membership notification only says "look again": the decision
// is taken against what is true when it is taken (`serves`), never against the count a
// notification carried. Notifications of one room come from different event loops and can arrive
// in any order (a page reload: the old session leaves on one loop while the new one joins on
// another), so the last one to arrive is not always the newest.
class Subscriptions {
 public:
  using Serves = std::function<bool(const std::string& channel)>;
  struct Plan {
    std::vector<std::string> join, leave;
  };

  // The room behind `channel` gained or lost a local member. Any thread.
  void touch(const std::string& channel);
  // What to change so that `active` (this connection's subscriptions) matches `serves`, for every
  // channel touched since the last plan; `active` is updated as if the plan had been carried out.
  // After a reconnection `active` is empty and every channel it held is looked at again.
  Plan plan(std::set<std::string>& active, const Serves& serves, bool reconnected);

 private:
  std::mutex mutex_;
  std::set<std::string> touched_;
  std::set<std::string> held_;  // what the last plan left subscribed, for after a reconnection
};

class Subscriber {
 public:
  using OnMessage = std::function<void(const std::string& channel, const std::string& message)>;

  // Messages are delivered on `scope`.
  Subscriber(std::shared_ptr<sdk::Scope> scope, RedisSettings settings, sdk::Logger& log,
             Subscriptions::Serves serves, OnMessage on_message);

  void start() { connection_.start(); }
  // The room behind `channel` gained or lost a local member; the scope looks soon after. Any
  // thread.
  void touch(const std::string& channel);
  bool connected() const { return connected_.load(); }

 private:
  // The connection's scope: up, (un)subscribing, messages in, gone.
  void connected(redisContext* c);
  void reconcile(bool reconnected);
  bool writePending(redisContext* c);
  bool readReplies(redisContext* c);
  void lost(const std::string& why);

  sdk::Logger& log_;
  Subscriptions::Serves serves_;
  OnMessage on_message_;
  Subscriptions subscriptions_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> reconcile_posted_{false};
  // Scope thread only.
  redisContext* context_ = nullptr;  // while connected
  std::set<std::string> active_;     // what this connection is subscribed to
  bool in_outage_ = false;
  // Declared last: its callbacks use everything above.
  ScopedConnection connection_;
};

}  // namespace parley::fanout
