#include "core/runtime/event_bus.hpp"

#include <mutex>

#include "core/runtime/call_gate.hpp"

namespace parley::core {

struct EventBus::Subscriber {
  std::string owner;
  std::function<void(const sdk::Event&)> handler;
  CallGate gate;
};

std::shared_ptr<sdk::Revoker> EventBus::subscribe(const std::string& owner,
                                                  const std::string& topic,
                                                  std::function<void(const sdk::Event&)> handler) {
  auto sub = std::make_shared<Subscriber>();
  sub->owner = owner;
  sub->handler = std::move(handler);
  {
    std::unique_lock lock(mutex_);
    auto& list = topics_[topic];
    auto next = list ? std::make_shared<List>(*list) : std::make_shared<List>();
    next->push_back(sub);
    list = std::move(next);
  }
  return std::make_shared<sdk::Revoker>(
      [this, topic, raw = sub.get()] { unsubscribe(topic, raw); });
}

void EventBus::unsubscribe(const std::string& topic, const Subscriber* sub) {
  std::shared_ptr<Subscriber> keep;
  {
    std::unique_lock lock(mutex_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) return;
    auto next = std::make_shared<List>();
    for (const auto& s : *it->second) {
      if (s.get() == sub)
        keep = s;
      else
        next->push_back(s);
    }
    if (next->empty())
      topics_.erase(it);
    else
      it->second = std::move(next);
  }
  if (keep) keep->gate.close();
}

void EventBus::publish(const sdk::Event& event) {
  std::shared_ptr<const List> list;
  {
    std::shared_lock lock(mutex_);
    auto it = topics_.find(event.topic);
    if (it == topics_.end()) return;
    list = it->second;
  }
  for (const auto& sub : *list) {
    CallGate::Pass pass(sub->gate);
    if (!pass) continue;
    try {
      sub->handler(event);
    } catch (const std::exception& e) {
      on_error_(sub->owner, "event handler for '" + event.topic + "' threw: " + e.what());
    } catch (...) {
      on_error_(sub->owner, "event handler for '" + event.topic + "' threw a non-exception");
    }
  }
}

}  // namespace parley::core
