// The core's Scope: a serial context on one event loop (see sdk/scope.hpp). Sessions own one, and
// plugins make their own. Everything a scope holds (timers, watches, upstream connections) is
// tracked here so that closing the scope ends all of it, on its loop, at once.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/net/event_loop.hpp"
#include "parley/sdk/scope.hpp"

namespace parley::core {
class WorkerPool;
}

namespace parley::core::net {

class LoopScope final : public sdk::Scope, public std::enable_shared_from_this<LoopScope> {
 public:
  // Told when offloaded work is queued and when it is done (a session's budget).
  struct Budget {
    virtual ~Budget() = default;
    virtual void queued() = 0;
    virtual void drained() = 0;
  };

  LoopScope(EventLoop& loop, WorkerPool& workers, std::string owner, Budget* budget = nullptr);
  ~LoopScope() override;

  // sdk::Scope
  void post(std::function<void()> task) override;
  sdk::Timer after(std::chrono::milliseconds delay, std::function<void()> task) override;
  sdk::Timer every(std::chrono::milliseconds period, std::function<void()> task) override;
  bool offload(std::function<void()> work, std::function<void()> done) override;
  std::shared_ptr<Watch> watch(int fd, std::uint32_t events,
                               std::function<void(std::uint32_t)> ready) override;
  bool here() const override { return loop_.inLoopThread(); }
  bool closed() const override { return closed_.load(); }
  Clock::time_point now() const override { return here() ? loop_.now() : Clock::now(); }

  EventLoop& loop() const { return loop_; }
  const std::string& owner() const { return owner_; }

  // Something that must end with the scope (an upstream connection): `end` runs at close, on the
  // scope's loop, unless forget()-ten first. Scope thread.
  std::uint64_t atClose(std::function<void()> end);
  void forget(std::uint64_t id);

  // Ends the scope: no callback of it runs from here on; its timers, watches and connections end.
  // Scope thread.
  void close();
  // From another thread: closes on the scope's loop and waits for it.
  void closeAndWait();

 private:
  class TimerEntry;
  class WatchEntry;
  void armOnLoop(const std::shared_ptr<TimerEntry>& entry, std::chrono::milliseconds delay);
  friend class TimerEntry;
  friend class WatchEntry;

  EventLoop& loop_;
  WorkerPool& workers_;
  std::string owner_;
  Budget* budget_;
  std::atomic<bool> closed_{false};
  // Scope thread only.
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, std::function<void()>> at_close_;
};

}  // namespace parley::core::net
