// Since SDK 1.2. A Scope is a serial context on one of parleyd's event loops: its posted tasks,
// timers, watched file descriptors, offloaded work's results and upstream connections' events run
// one at a time on that loop's thread, and never after the scope has closed. State that only a
// scope's callbacks touch needs no lock.
//
// Every session has one (Session::scope()), closed right after the session's close handlers. A
// plugin makes its own with Context::scopes(), for work that belongs to no session (an answer
// stream for a room, a Redis connection); the core closes those when the plugin stops.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "parley/sdk/export.hpp"

namespace parley::sdk {

namespace detail {
// What a handle cancels; the core's and the test host's timers and watches implement it.
class PARLEY_SDK_API Cancellable {
 public:
  virtual ~Cancellable();
  virtual void cancel() noexcept = 0;
};
}  // namespace detail

// A timer or a file-descriptor watch. Dropping it, or cancel(), stops it: on the scope's own
// thread at once (the callback and what it captured are destroyed before cancel() returns); from
// another thread, before the scope's next callback.
class PARLEY_SDK_API Handle {
 public:
  Handle() = default;
  explicit Handle(std::shared_ptr<detail::Cancellable> what) : what_(std::move(what)) {}
  Handle(Handle&&) noexcept = default;
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      cancel();
      what_ = std::move(other.what_);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { cancel(); }

  void cancel() noexcept {
    if (what_) what_->cancel();
    what_.reset();
  }
  explicit operator bool() const noexcept { return what_ != nullptr; }

 private:
  std::shared_ptr<detail::Cancellable> what_;
};
using Timer = Handle;

class PARLEY_SDK_API Scope {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~Scope();

  // Runs `task` on this scope, after whatever was posted to it before. Any thread. A task posted
  // to a closed scope is dropped (and destroyed) without running.
  virtual void post(std::function<void()> task) = 0;

  // Runs `task` once, `delay` from now. Any thread (from another thread than the scope's, the
  // delay counts from when the scope's loop takes the timer: at once, unless it is busy).
  virtual Timer after(std::chrono::milliseconds delay, std::function<void()> task) = 0;
  // Runs `task` every `period` (the first time one period from now). Any thread, as after().
  virtual Timer every(std::chrono::milliseconds period, std::function<void()> task) = 0;

  // Runs `work` on parleyd's bounded worker pool, where it may block (storage, a DNS lookup),
  // then `done` on this scope. If the scope closes first, `done` does not run. `work` must not
  // touch what the scope's callbacks touch. For a session's scope, queued work counts against the
  // session's budget: past it, the core stops reading the session until the work drains. Returns
  // false when the pool's queue is full (nothing was queued). Scope thread.
  virtual bool offload(std::function<void()> work, std::function<void()> done) = 0;

  // Calls `ready` with the epoll events (EPOLLIN, EPOLLOUT, ...) while `fd` is readable and/or
  // writable, as `events` asks; change() alters the interest. For clients of other protocols
  // (a Redis connection) on the scope's loop. The fd stays the caller's to close, after the
  // watch. Scope thread.
  class Watch {
   public:
    virtual ~Watch();
    virtual void change(std::uint32_t events) = 0;
  };
  virtual std::shared_ptr<Watch> watch(int fd, std::uint32_t events,
                                       std::function<void(std::uint32_t events)> ready) = 0;

  // Whether the calling thread is the one this scope's callbacks run on.
  virtual bool here() const = 0;
  virtual bool closed() const = 0;
  // The time timers are measured in (under the SDK's test host, its manual clock).
  virtual Clock::time_point now() const = 0;
};

// Scopes a plugin owns (Context::scopes(), since SDK 1.2).
class PARLEY_SDK_API Scopes {
 public:
  virtual ~Scopes();
  // A new scope on one of the loops (spread round robin). It closes when the returned pointer's
  // last copy goes, or when the plugin stops, whichever is first.
  virtual std::shared_ptr<Scope> create() = 0;
};

}  // namespace parley::sdk
