// bench_flood: the server side of bench/ws_broadcast.sh. On {"type":"flood","frames":N,"bytes":B}
// it broadcasts N text frames of B bytes to every open session, each frame encoded once, as fast
// as the slowest session drains, so that nothing is dropped. It runs on a scope of its own (one
// event loop, like the Node peer's one thread): batches of frames while every session has less than
// 256 KiB queued, a 1 ms timer while one has more; it never spins and never blocks. Built only with
// PARLEY_BENCH; never installed.
#include <parley/sdk/plugin.hpp>

#include <algorithm>
#include <mutex>
#include <vector>

namespace {

using namespace parley::sdk;

constexpr std::size_t kHighWater = 256 * 1024;
constexpr long kBatch = 64;          // frames per broadcast() round
constexpr int kBatchesPerTurn = 16;  // then the loop serves its sessions before the next turn

class Flood : public Plugin {
 public:
  Descriptor describe() const override {
    return {"bench_flood", "1.0", "benchmark broadcast driver", {}, {}};
  }

  void start(Context& ctx) override {
    ws_ = &ctx.websockets();
    scope_ = ctx.scopes().create();
    regs_.push_back(ws_->onOpen([this](const SessionPtr& s) {
      std::lock_guard lock(mutex_);
      sessions_.push_back(s);
    }));
    regs_.push_back(ws_->onClose([this](const SessionPtr& s, DisconnectReason) {
      std::lock_guard lock(mutex_);
      sessions_.erase(std::remove(sessions_.begin(), sessions_.end(), s), sessions_.end());
    }));
    regs_.push_back(ws_->onJson("flood", [this](const SessionPtr&, const json::Value& m) {
      const long frames = static_cast<long>(m["frames"].asInt(0));
      const int bytes = static_cast<int>(m["bytes"].asInt(200));
      scope_->post([this, frames, bytes] { begin(frames, bytes); });
    }));
  }

  void stop() override {
    regs_.clear();
    scope_.reset();
  }

 private:
  // Scope thread from here on.
  void begin(long frames, int bytes) {
    {
      std::lock_guard lock(mutex_);
      to_ = sessions_;
    }
    const std::string head = "{\"type\":\"bench\",\"pad\":\"";
    frame_ = ws_->encodeText(
        head + std::string(static_cast<std::size_t>(std::max(0, bytes - 26)), 'x') + "\"}");
    left_ = frames;
    step();
  }

  void step() {
    for (int b = 0; b < kBatchesPerTurn && left_ > 0; ++b) {
      std::size_t deepest = 0;
      for (const auto& s : to_) deepest = std::max(deepest, s->queuedBytes());
      if (deepest > kHighWater) {
        timer_ = scope_->after(std::chrono::milliseconds(1), [this] { step(); });
        return;
      }
      const long batch = std::min(kBatch, left_);
      for (long i = 0; i < batch; ++i) ws_->broadcast(to_, frame_);
      left_ -= batch;
    }
    if (left_ > 0) return scope_->post([this] { step(); });
    to_.clear();
  }

  WebSockets* ws_ = nullptr;
  std::shared_ptr<Scope> scope_;
  std::mutex mutex_;  // sessions open and close on every loop
  std::vector<SessionPtr> sessions_;
  std::vector<Registration> regs_;
  // The flood in progress, on the scope.
  std::vector<SessionPtr> to_;
  EncodedFrame frame_;
  long left_ = 0;
  Timer timer_;
};

}  // namespace

PARLEY_PLUGIN(Flood)
