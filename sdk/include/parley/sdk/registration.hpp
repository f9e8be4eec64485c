// A handle to something a plugin registered with the core (a route, a metric, a subscription,
// a timer, a service). Dropping or reset()ting the handle unregisters it. The core also revokes
// every registration of a plugin when that plugin stops, so a forgotten handle never outlives it.
#pragma once

#include <functional>
#include <memory>

#include "parley/sdk/export.hpp"

namespace parley::sdk {

namespace detail {
// The core marks the threads that are running a registered callback, so that a callback revoking
// a registration whose revocation another thread has begun does not wait (that thread may be
// waiting for this very callback to return).
PARLEY_SDK_API void enterCallback() noexcept;
PARLEY_SDK_API void leaveCallback() noexcept;
}  // namespace detail

// Runs its undo action at most once, whoever asks first (the handle's owner or the core).
class PARLEY_SDK_API Revoker {
 public:
  explicit Revoker(std::function<void()> undo);
  ~Revoker();
  Revoker(const Revoker&) = delete;
  Revoker& operator=(const Revoker&) = delete;

  void revoke() noexcept;
  bool revoked() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class PARLEY_SDK_API Registration {
 public:
  Registration() = default;
  explicit Registration(std::shared_ptr<Revoker> revoker) : revoker_(std::move(revoker)) {}
  Registration(Registration&&) noexcept = default;
  Registration& operator=(Registration&& other) noexcept {
    if (this != &other) {
      reset();
      revoker_ = std::move(other.revoker_);
    }
    return *this;
  }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  ~Registration() { reset(); }

  void reset() noexcept {
    if (revoker_) revoker_->revoke();
    revoker_.reset();
  }
  bool active() const noexcept { return revoker_ && !revoker_->revoked(); }

 private:
  std::shared_ptr<Revoker> revoker_;
};

}  // namespace parley::sdk
