#include "core/runtime/call_gate.hpp"

#include <thread>
#include <vector>

#include "parley/sdk/registration.hpp"

namespace parley::core {

namespace {
// The gates the current thread is inside of, innermost last.
thread_local std::vector<const CallGate*> t_inside;

int depthHere(const CallGate* gate) {
  int n = 0;
  for (const CallGate* g : t_inside) n += g == gate;
  return n;
}
}  // namespace

// enter() stores active_ then loads closed_; close() stores closed_ then loads active_. Only
// sequentially consistent ordering guarantees that one of them sees the other's store, so every
// access here uses the default (seq_cst) order.
bool CallGate::enter() noexcept {
  active_.fetch_add(1);
  if (closed_.load()) {
    active_.fetch_sub(1);
    return false;
  }
  t_inside.push_back(this);
  sdk::detail::enterCallback();
  return true;
}

void CallGate::leave() noexcept {
  sdk::detail::leaveCallback();
  for (auto it = t_inside.rbegin(); it != t_inside.rend(); ++it)
    if (*it == this) {
      t_inside.erase(std::next(it).base());
      break;
    }
  active_.fetch_sub(1);
}

void CallGate::close() noexcept {
  closed_.store(true);
  const int mine = depthHere(this);
  // Closing is rare (a plugin stopping, a handler revoked); a short wait is fine.
  while (active_.load() > mine) std::this_thread::sleep_for(std::chrono::microseconds(200));
}

}  // namespace parley::core
