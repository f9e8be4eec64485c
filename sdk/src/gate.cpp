#include <chrono>
#include <thread>
#include <vector>

#include "parley/sdk/hooks.hpp"

namespace parley::sdk {

namespace {
// The gates the current thread is inside of, innermost last.
thread_local std::vector<const Gate*> t_inside;

int depthHere(const Gate* gate) {
  int n = 0;
  for (const Gate* g : t_inside) n += g == gate;
  return n;
}
}  // namespace

// enter() stores active_ then loads closed_; close() stores closed_ then loads active_. Only
// sequentially consistent ordering guarantees that one of them sees the other's store, so every
// access here uses the default (seq_cst) order.
bool Gate::enter() noexcept {
  active_.fetch_add(1);
  if (closed_.load()) {
    active_.fetch_sub(1);
    return false;
  }
  t_inside.push_back(this);
  detail::enterCallback();
  return true;
}

void Gate::leave() noexcept {
  detail::leaveCallback();
  for (auto it = t_inside.rbegin(); it != t_inside.rend(); ++it)
    if (*it == this) {
      t_inside.erase(std::next(it).base());
      break;
    }
  active_.fetch_sub(1);
}

void Gate::close() noexcept {
  closed_.store(true);
  const int mine = depthHere(this);
  // Closing is rare (a plugin stopping, a hook revoked); a short wait is fine.
  while (active_.load() > mine) std::this_thread::sleep_for(std::chrono::microseconds(200));
}

}  // namespace parley::sdk
