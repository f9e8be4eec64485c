// bench_room_event: the server side of bench/fanout.sh. {"type":"room_event",...} from a member
// is broadcast as-is to the member's room (so, with fanout_redis, to its members on every
// instance); {"type":"room_burst","count":N} broadcasts N events from a worker thread as fast as
// they can be queued, to measure sustained publishing. Built only with PARLEY_BENCH.
#include <parley/sdk/plugin.hpp>
#include <parley/sdk/services/rooms.hpp>

#include <Poco/JSON/Parser.h>

namespace {

using namespace parley::sdk;

class RoomEvent : public Plugin {
 public:
  Descriptor describe() const override {
    return {"bench_room_event", "1.0", "benchmark room events", {"rooms"}, {}};
  }

  void start(Context& ctx) override {
    rooms_ = ctx.services().find<RoomsService>(kRoomsService);
    auto& ws = ctx.websockets();
    regs_.push_back(
        ws.onMessage("room_event", [this](const SessionPtr& s, const std::string& json) {
          rooms_->broadcast(rooms_->roomOf(s->info().id), json);
        }));
    regs_.push_back(ws.onMessage(
        "room_burst",
        [this](const SessionPtr& s, const std::string& json) {
          Poco::JSON::Parser parser;
          const long count =
              parser.parse(json).extract<Poco::JSON::Object::Ptr>()->getValue<long>("count");
          const std::string room = rooms_->roomOf(s->info().id);
          const std::string event =
              R"({"type":"room_event","pad":")" + std::string(160, 'x') + "\"}";
          for (long i = 0; i < count; ++i) rooms_->broadcast(room, event);
        },
        RunOn::kWorker));
  }

  void stop() override { regs_.clear(); }

 private:
  std::shared_ptr<RoomsService> rooms_;
  std::vector<Registration> regs_;
};

}  // namespace

PARLEY_PLUGIN(RoomEvent)
