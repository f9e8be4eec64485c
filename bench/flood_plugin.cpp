// bench_flood: the server side of bench/ws_broadcast.sh. On {"type":"flood","frames":N,"bytes":B}
// it broadcasts N text frames of B bytes to every open session, each frame encoded once, as fast
// as the slowest session drains (it waits while any has more than 256 KiB queued), so that
// nothing is dropped. Built only with PARLEY_BENCH; never installed.
#include <parley/sdk/plugin.hpp>

#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using namespace parley::sdk;

constexpr std::size_t kHighWater = 256 * 1024;

class Flood : public Plugin {
 public:
  Descriptor describe() const override {
    return {"bench_flood", "1.0", "benchmark broadcast driver", {}, {}};
  }

  void start(Context& ctx) override {
    ws_ = &ctx.websockets();
    regs_.push_back(ws_->onOpen([this](const SessionPtr& s) {
      std::lock_guard lock(mutex_);
      sessions_.push_back(s);
    }));
    regs_.push_back(ws_->onClose([this](const SessionPtr& s, DisconnectReason) {
      std::lock_guard lock(mutex_);
      sessions_.erase(std::remove(sessions_.begin(), sessions_.end(), s), sessions_.end());
    }));
    regs_.push_back(ws_->onMessage(
        "flood",
        [this](const SessionPtr&, const std::string& json) {
          Poco::JSON::Parser parser;
          auto msg = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
          flood(msg->getValue<long>("frames"), msg->getValue<int>("bytes"));
        },
        RunOn::kWorker));
  }

  void stop() override { regs_.clear(); }

 private:
  void flood(long frames, int bytes) {
    std::vector<SessionPtr> to;
    {
      std::lock_guard lock(mutex_);
      to = sessions_;
    }
    const std::string head = "{\"type\":\"bench\",\"pad\":\"";
    const std::string json = head + std::string(std::max(0, bytes - 26), 'x') + "\"}";
    const EncodedFrame frame = ws_->encodeText(json);
    for (long sent = 0; sent < frames;) {
      std::size_t deepest = 0;
      for (const auto& s : to) deepest = std::max(deepest, s->queuedBytes());
      if (deepest > kHighWater) {
        std::this_thread::yield();
        continue;
      }
      const long batch = std::min<long>(64, frames - sent);
      for (long i = 0; i < batch; ++i) ws_->broadcast(to, frame);
      sent += batch;
    }
  }

  WebSockets* ws_ = nullptr;
  std::mutex mutex_;
  std::vector<SessionPtr> sessions_;
  std::vector<Registration> regs_;
};

}  // namespace

PARLEY_PLUGIN(Flood)
