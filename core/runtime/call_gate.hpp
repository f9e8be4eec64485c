// Lets a registration be revoked while other threads may be calling into it: once close()
// returns, no call is running and none will start, so the plugin behind it may be destroyed.
// A call that closes its own gate (a handler unsubscribing itself) is not waited for.
#pragma once

#include <atomic>

namespace parley::core {

class CallGate {
 public:
  // Returns false when the gate is closed; otherwise the caller must leave() when done.
  bool enter() noexcept;
  void leave() noexcept;
  void close() noexcept;

  // RAII form of enter/leave.
  class Pass {
   public:
    explicit Pass(CallGate& gate) : gate_(gate.enter() ? &gate : nullptr) {}
    ~Pass() {
      if (gate_) gate_->leave();
    }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    explicit operator bool() const noexcept { return gate_ != nullptr; }

   private:
    CallGate* gate_;
  };

 private:
  std::atomic<int> active_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace parley::core
