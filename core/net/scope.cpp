#include "core/net/scope.hpp"

#include <future>

#include "core/runtime/worker_pool.hpp"

namespace parley::core::net {

class LoopScope::TimerEntry final : public sdk::detail::Cancellable,
                                    public std::enable_shared_from_this<TimerEntry> {
 public:
  TimerEntry(const std::shared_ptr<LoopScope>& scope, std::function<void()> fn,
             std::chrono::milliseconds period)
      : scope_(scope),
        loop_(scope->loop_),
        fn_(std::make_shared<std::function<void()>>(std::move(fn))),
        period_(period) {}

  // Loop thread.
  void arm(std::chrono::milliseconds delay) {
    auto scope = scope_.lock();
    if (cancelled_ || !scope || scope->closed()) return;
    std::weak_ptr<TimerEntry> weak = weak_from_this();
    if (!close_id_)
      close_id_ = scope->atClose([weak] {
        if (auto self = weak.lock()) self->end();
      });
    id_ = loop_.after(delay, [weak] {
      if (auto self = weak.lock()) self->fire();
    });
  }

  void cancel() noexcept override {
    if (cancelled_.exchange(true)) return;
    if (loop_.inLoopThread()) return stop();
    try {
      loop_.post([self = shared_from_this()] { self->stop(); });
    } catch (...) {  // only an allocation failure; the flag alone keeps the timer from firing
    }
  }

 private:
  void fire() {
    id_ = 0;
    auto scope = scope_.lock();
    if (cancelled_ || !scope || scope->closed() || !fn_) return;
    auto fn = fn_;  // alive through the call even if the callback cancels its own timer
    if (period_.count() > 0)
      arm(period_);
    else
      stop();
    (*fn)();
  }
  // Loop thread: off the heap and out of the scope, the callback destroyed.
  void stop() {
    end();
    if (close_id_)
      if (auto scope = scope_.lock()) scope->forget(close_id_);
    close_id_ = 0;
  }
  void end() {
    if (id_) loop_.cancel(id_);
    id_ = 0;
    fn_.reset();
  }

  std::weak_ptr<LoopScope> scope_;
  EventLoop& loop_;
  std::shared_ptr<std::function<void()>> fn_;
  std::chrono::milliseconds period_;
  EventLoop::TimerId id_ = 0;
  std::uint64_t close_id_ = 0;
  std::atomic<bool> cancelled_{false};
};

class LoopScope::WatchEntry final : public IoHandler {
 public:
  WatchEntry(EventLoop& loop, int fd, std::function<void(std::uint32_t)> ready)
      : loop_(loop), fd_(fd), ready_(std::move(ready)) {}
  bool start(std::uint32_t events) { return watched_ = loop_.watch(fd_, events, this); }
  void change(std::uint32_t events) {
    if (watched_) loop_.change(fd_, events, this);
  }
  void stop() {
    if (watched_) loop_.unwatch(fd_);
    watched_ = false;
    ready_ = nullptr;
  }
  void onIo(std::uint32_t events) override {
    if (!watched_ || !ready_) return;
    auto ready = ready_;  // the callback may drop its own watch
    ready(events);
  }

 private:
  EventLoop& loop_;
  int fd_;
  std::function<void(std::uint32_t)> ready_;
  bool watched_ = false;
};

namespace {
// What the plugin holds. Dropping it stops the watch on the loop; the entry stays alive until then.
class WatchHandle final : public sdk::Scope::Watch {
 public:
  WatchHandle(std::shared_ptr<IoHandler> entry, EventLoop& loop,
              std::function<void(std::uint32_t)> change, std::function<void()> stop)
      : entry_(std::move(entry)), loop_(loop), change_(std::move(change)), stop_(std::move(stop)) {}
  ~WatchHandle() override {
    if (loop_.inLoopThread())
      stop_();
    else
      loop_.post([entry = entry_, stop = stop_] { stop(); });
  }
  void change(std::uint32_t events) override { change_(events); }

 private:
  std::shared_ptr<IoHandler> entry_;
  EventLoop& loop_;
  std::function<void(std::uint32_t)> change_;
  std::function<void()> stop_;
};
}  // namespace

LoopScope::LoopScope(EventLoop& loop, WorkerPool& workers, std::string owner, Budget* budget)
    : loop_(loop), workers_(workers), owner_(std::move(owner)), budget_(budget) {}

LoopScope::~LoopScope() = default;

void LoopScope::post(std::function<void()> task) {
  if (closed_) return;
  std::weak_ptr<LoopScope> weak = weak_from_this();
  loop_.post([weak, task = std::move(task)] {
    if (auto self = weak.lock(); self && !self->closed_) task();
  });
}

sdk::Timer LoopScope::after(std::chrono::milliseconds delay, std::function<void()> task) {
  auto entry = std::make_shared<TimerEntry>(shared_from_this(), std::move(task),
                                            std::chrono::milliseconds(0));
  armOnLoop(entry, delay);
  return sdk::Timer(entry);
}

sdk::Timer LoopScope::every(std::chrono::milliseconds period, std::function<void()> task) {
  if (period.count() <= 0) throw std::invalid_argument("a timer period must be positive");
  auto entry = std::make_shared<TimerEntry>(shared_from_this(), std::move(task), period);
  armOnLoop(entry, period);
  return sdk::Timer(entry);
}

// The loop's timers are its thread's alone: from another thread (a plugin's start()), the timer
// is armed by a task on the loop, which counts the delay from when it runs.
void LoopScope::armOnLoop(const std::shared_ptr<TimerEntry>& entry,
                          std::chrono::milliseconds delay) {
  if (here()) return entry->arm(delay);
  loop_.post([entry, delay] { entry->arm(delay); });
}

bool LoopScope::offload(std::function<void()> work, std::function<void()> done) {
  if (closed_) return false;
  if (budget_) budget_->queued();
  std::weak_ptr<LoopScope> weak = weak_from_this();
  EventLoop* loop = &loop_;
  const bool queued = workers_.submit(
      owner_, [weak, loop, work = std::move(work), done = std::move(done)]() mutable {
        // The result goes back even if the work throws (the pool reports the exception).
        struct Back {
          std::weak_ptr<LoopScope> weak;
          EventLoop* loop;
          std::function<void()> done;
          ~Back() {
            loop->post([weak = std::move(weak), done = std::move(done)] {
              auto self = weak.lock();
              if (!self) return;
              if (self->budget_) self->budget_->drained();
              if (!self->closed_ && done) done();
            });
          }
        } back{weak, loop, std::move(done)};
        work();
      });
  if (!queued && budget_) budget_->drained();
  return queued;
}

std::shared_ptr<sdk::Scope::Watch> LoopScope::watch(int fd, std::uint32_t events,
                                                    std::function<void(std::uint32_t)> ready) {
  auto entry = std::make_shared<WatchEntry>(loop_, fd, std::move(ready));
  if (closed_ || !entry->start(events)) return nullptr;
  std::weak_ptr<WatchEntry> weak = entry;
  const std::uint64_t id = atClose([weak] {
    if (auto e = weak.lock()) e->stop();
  });
  std::weak_ptr<LoopScope> scope = weak_from_this();
  return std::make_shared<WatchHandle>(
      entry, loop_,
      [weak](std::uint32_t ev) {
        if (auto e = weak.lock()) e->change(ev);
      },
      [weak, scope, id] {
        if (auto e = weak.lock()) e->stop();
        if (auto s = scope.lock()) s->forget(id);
      });
}

std::uint64_t LoopScope::atClose(std::function<void()> end) {
  if (closed_) {
    end();
    return 0;
  }
  const std::uint64_t id = next_id_++;
  at_close_.emplace(id, std::move(end));
  return id;
}

void LoopScope::forget(std::uint64_t id) {
  at_close_.erase(id);
}

void LoopScope::close() {
  if (closed_.exchange(true)) return;
  // Ending one thing may forget others: take them all first.
  auto ends = std::move(at_close_);
  at_close_.clear();
  for (auto& [id, end] : ends) end();
}

void LoopScope::closeAndWait() {
  if (here()) return close();
  std::promise<void> closed;
  auto self = shared_from_this();
  if (!loop_.post([self, &closed] {
        self->close();
        closed.set_value();
      }))
    return close();  // the loop has stopped: nothing of the scope can run concurrently
  closed.get_future().wait();
}

}  // namespace parley::core::net
