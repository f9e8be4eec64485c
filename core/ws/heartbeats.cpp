#include "core/ws/heartbeats.hpp"

#include <algorithm>

#include "core/ws/connection.hpp"

namespace parley::core::ws {

Heartbeats::Heartbeats(std::chrono::milliseconds interval)
    : interval_(interval),
      period_(std::clamp(interval / 4, std::chrono::milliseconds(10),
                         std::chrono::milliseconds(1000))) {}

Heartbeats::PerLoop& Heartbeats::of(net::EventLoop& loop) {
  std::lock_guard lock(mutex_);
  for (auto& p : loops_)
    if (p->loop == &loop) return *p;
  loops_.push_back(std::make_unique<PerLoop>());
  loops_.back()->loop = &loop;
  return *loops_.back();
}

void Heartbeats::join(Connection& c) {
  PerLoop& here = of(c.loop());
  c.beat_.index = static_cast<std::uint32_t>(here.members.size());
  c.beat_.due = here.loop->now() + interval_;
  here.members.push_back(&c);
  arm(here);
}

void Heartbeats::leave(Connection& c) {
  if (c.beat_.index == Slot().index) return;
  PerLoop& here = of(c.loop());
  Connection* last = here.members.back();
  here.members[c.beat_.index] = last;
  last->beat_.index = c.beat_.index;
  here.members.pop_back();
  c.beat_.index = Slot().index;
  if (here.members.empty() && here.timer) {
    here.loop->cancel(here.timer);
    here.timer = 0;
  }
}

void Heartbeats::arm(PerLoop& here) {
  if (here.timer || here.members.empty()) return;
  here.timer = here.loop->after(period_, [this, &here] { sweep(here); });
}

void Heartbeats::sweep(PerLoop& here) {
  here.timer = 0;
  const auto now = here.loop->now();
  // Collected first: a heartbeat may end its session (and others), which leave() this list.
  std::vector<std::shared_ptr<Connection>> due;
  for (Connection* c : here.members)
    if (c->beat_.due <= now) {
      c->beat_.due = now + interval_;
      due.push_back(c->shared_from_this());
    }
  for (auto& c : due) c->heartbeat();
  arm(here);
}

}  // namespace parley::core::ws
