// Since SDK 1.2. Hooks one plugin offers others (relays, observers, a store), gated: a hook can be
// removed while other threads call it, and when its Registration is revoked no call is running and
// none starts after, so whoever registered it may be destroyed right then.
//
//   HookList<void(const std::string&)> observers_;          // in the service
//   Registration onChange(std::function<void(const std::string&)> f) { return observers_.add(f); }
//   observers_.call(room_id);                               // anywhere, any thread
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "parley/sdk/export.hpp"
#include "parley/sdk/registration.hpp"

namespace parley::sdk {

// Lets calls in and waits them out: once close() returns, no call is inside and none will enter.
// A call that closes its own gate (a hook removing itself) is not waited for.
class PARLEY_SDK_API Gate {
 public:
  bool enter() noexcept;  // false when closed; otherwise leave() when done
  void leave() noexcept;
  void close() noexcept;

  // enter() and leave() by scope.
  class Pass {
   public:
    explicit Pass(Gate& gate) : gate_(gate.enter() ? &gate : nullptr) {}
    ~Pass() {
      if (gate_) gate_->leave();
    }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    explicit operator bool() const noexcept { return gate_ != nullptr; }

   private:
    Gate* gate_;
  };

 private:
  std::atomic<int> active_{0};
  std::atomic<bool> closed_{false};
};

template <class Signature>
class HookList {
 public:
  using Fn = std::function<Signature>;

  Registration add(Fn fn) {
    auto entry = std::make_shared<Entry>();
    entry->fn = std::move(fn);
    {
      std::lock_guard lock(state_->mutex);
      auto next = std::make_shared<List>(*state_->list);
      next->push_back(entry);
      state_->list = std::move(next);
    }
    std::weak_ptr<State> weak = state_;
    return Registration(std::make_shared<Revoker>([weak, raw = entry.get()] {
      std::shared_ptr<Entry> gone;
      if (auto state = weak.lock()) {
        std::lock_guard lock(state->mutex);
        auto next = std::make_shared<List>();
        for (const auto& e : *state->list) {
          if (e.get() == raw)
            gone = e;
          else
            next->push_back(e);
        }
        state->list = std::move(next);
      }
      if (gone) gone->gate.close();
    }));
  }

  // Calls every hook in the order added; a hook being removed is skipped.
  template <class... Args>
  void call(Args&&... args) const {
    std::shared_ptr<const List> list;
    {
      std::lock_guard lock(state_->mutex);
      list = state_->list;
    }
    for (const auto& e : *list)
      if (Gate::Pass pass(e->gate); pass) e->fn(args...);
  }

  bool empty() const {
    std::lock_guard lock(state_->mutex);
    return state_->list->empty();
  }

 private:
  struct Entry {
    Fn fn;
    Gate gate;
  };
  using List = std::vector<std::shared_ptr<Entry>>;
  struct State {
    std::mutex mutex;
    std::shared_ptr<const List> list = std::make_shared<List>();
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// One hook at a time (a store): set() replaces; the returned Registration removes *that* hook only,
// and waits out calls to it.
template <class T>
class HookSlot {
 public:
  Registration set(std::shared_ptr<T> value) {
    auto entry = std::make_shared<Entry>();
    entry->value = std::move(value);
    std::shared_ptr<Entry> replaced;
    {
      std::lock_guard lock(state_->mutex);
      replaced = std::exchange(state_->current, entry);
    }
    if (replaced) replaced->gate.close();
    std::weak_ptr<State> weak = state_;
    return Registration(std::make_shared<Revoker>([weak, raw = entry.get()] {
      std::shared_ptr<Entry> gone;
      if (auto state = weak.lock()) {
        std::lock_guard lock(state->mutex);
        if (state->current.get() == raw) gone = std::exchange(state->current, nullptr);
      }
      if (gone) gone->gate.close();
    }));
  }

  // Calls `f(T&)` with the current hook, if any; false when there is none.
  template <class F>
  bool with(F&& f) const {
    std::shared_ptr<Entry> entry;
    {
      std::lock_guard lock(state_->mutex);
      entry = state_->current;
    }
    if (!entry) return false;
    Gate::Pass pass(entry->gate);
    if (!pass) return false;
    f(*entry->value);
    return true;
  }

 private:
  struct Entry {
    std::shared_ptr<T> value;
    Gate gate;
  };
  struct State {
    std::mutex mutex;
    std::shared_ptr<Entry> current;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace parley::sdk
