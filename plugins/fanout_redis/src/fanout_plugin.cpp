// fanout_redis: rooms that span parleyd instances. Every room event the rooms plugin broadcasts
// is also published to room:{room_id}:events in an envelope {source_instance, published_at,
// payload}; each instance subscribes to the rooms it has local members in, drops its own
// messages, and delivers the rest to its local members. Delivery is at most once across a Redis
// outage (see README.md).
#include <parley/sdk/json.hpp>
#include <parley/sdk/plugin.hpp>
#include <parley/sdk/services/rooms.hpp>

#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/UUIDGenerator.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string_view>

#include "publisher.hpp"
#include "state_store.hpp"
#include "subscriber.hpp"

namespace parley::fanout {
namespace {

using namespace parley::sdk;

double unixSeconds() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count() / 1e6;
}

std::string channelOf(const std::string& room_id) {
  return "room:" + room_id + ":events";
}

class FanoutRedis : public Plugin {
 public:
  Descriptor describe() const override {
    Descriptor d;
    d.id = "fanout_redis";
    d.version = "1.0.0";
    d.summary = "Rooms across instances through Redis pub/sub.";
    d.dependencies = {"rooms"};
    d.config = {
        {"host", ConfigType::kString, "127.0.0.1", "Redis host."},
        {"port", ConfigType::kInt, "6379", "Redis port.", 1, 65535},
        {"unix_socket", ConfigType::kString, "", "Redis unix socket; wins over host and port."},
        {"password", ConfigType::kString, "", "Redis AUTH password.", {}, {}, true},
        {"db", ConfigType::kInt, "0", "Redis database number.", 0, 1024},
        {"key_prefix", ConfigType::kString, "parley:", "Prefix of the keys this plugin writes."},
        {"instance_id", ConfigType::kString, "",
         "This instance's id in envelopes; empty generates one (logged at start)."},
        {"connect_timeout_ms", ConfigType::kInt, "1000", "Redis connect timeout.", 10, 60000},
        {"command_timeout_ms", ConfigType::kInt, "1000", "Redis command timeout.", 10, 60000},
        {"reconnect_max_ms", ConfigType::kInt, "1000",
         "Longest wait between reconnection attempts (backoff from 50 ms, with jitter).", 50,
         60000},
        {"state_ttl_sec", ConfigType::kInt, "3600",
         "A room's state stays in Redis this long after its last member anywhere left.", 60,
         2592000},
        {"max_in_flight", ConfigType::kInt, "100000",
         "Commands written to Redis and not yet answered; beyond it events are dropped and "
         "counted.",
         1, 10000000},
        {"required", ConfigType::kBool, "false",
         "Whether /readyz needs Redis: with false, the instance serves its local rooms alone."},
    };
    return d;
  }

  void start(Context& ctx) override {
    log_ = &ctx.log();
    rooms_ = ctx.services().find<RoomsService>(kRoomsService);
    if (!rooms_) throw std::runtime_error("the rooms service (parley.rooms.v1) is not offered");
    const PluginConfig& cfg = ctx.config();
    RedisSettings redis;
    redis.host = cfg.getString("host");
    redis.port = static_cast<int>(cfg.getInt("port"));
    redis.unix_socket = cfg.getString("unix_socket");
    redis.password = cfg.getString("password");
    redis.db = static_cast<int>(cfg.getInt("db"));
    redis.connect_timeout = std::chrono::milliseconds(cfg.getInt("connect_timeout_ms"));
    redis.command_timeout = std::chrono::milliseconds(cfg.getInt("command_timeout_ms"));
    redis.reconnect_max = std::chrono::milliseconds(cfg.getInt("reconnect_max_ms"));
    where_ = redis.where();
    required_ = cfg.getBool("required");
    instance_id_ = cfg.getString("instance_id");
    if (instance_id_.empty())
      instance_id_ = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
    ctx.log().info("instance id " + instance_id_ + ", Redis at " + where_);

    auto& metrics = ctx.metrics();
    regs_.push_back(metrics.add(
        AverageSpec{"avg_redis_publish_latency_ms", "redis_publish_total_ms",
                    "redis_publish_samples", "Redis PUBLISH round trip for room fanout.", 2},
        publish_ms_));
    regs_.push_back(metrics.add(
        AverageSpec{"avg_fanout_delay_ms", "fanout_delay_total_ms", "fanout_delay_samples",
                    "Cross-instance fanout delay, publish to local dispatch.", 2},
        delay_ms_));
    regs_.push_back(metrics.add("fanout_publish_failures",
                                "Room events that could not be published to Redis.", failures_));

    publisher_ =
        std::make_unique<Publisher>(redis, static_cast<std::size_t>(cfg.getInt("max_in_flight")),
                                    ctx.log(), publish_ms_, failures_);
    subscriber_ = std::make_unique<Subscriber>(
        redis, ctx.log(),
        [this](const std::string& ch, const std::string& msg) { receive(ch, msg); });
    const std::chrono::seconds ttl(cfg.getInt("state_ttl_sec"));
    state_ = std::make_shared<RedisStateStore>(*publisher_, cfg.getString("key_prefix"), ttl);
    // After an outage Redis may have lost what we wrote: write the live rooms again.
    publisher_->onConnect([this] {
      for (const auto& room : rooms_->localRooms()) state_->save(room);
    });
    publisher_->start();
    subscriber_->start();
    regs_.push_back(rooms_->setStateStore(state_));
    regs_.push_back(ctx.timers().every(
        std::max<std::chrono::seconds>(ttl / 3, std::chrono::seconds(1)), [this] {
          for (const auto& room : rooms_->localRooms()) state_->touch(room.room_id);
        }));
    regs_.push_back(rooms_->onMembership([this](const std::string& room, std::size_t members) {
      subscriber_->want(channelOf(room), members > 0);
    }));
    regs_.push_back(rooms_->addRelay(
        [this](const std::string& room, const std::string& json) { publish(room, json); }));
  }

  void stop() override {
    regs_.clear();
    if (subscriber_) subscriber_->stop();
    if (publisher_) publisher_->stop();
  }

  Health health() const override {
    if (!required_ || !publisher_ || (publisher_->connected() && subscriber_->connected()))
      return {};
    const std::string why = publisher_->lastError();
    return {false, "Redis at " + where_ + " is unreachable" + (why.empty() ? "" : ": " + why)};
  }

 private:
  void publish(const std::string& room, const std::string& payload) {
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "%.6f", unixSeconds());
    std::string envelope = "{\"source_instance\":";
    appendJsonString(envelope, instance_id_);
    envelope += ",\"published_at\":";
    envelope += stamp;
    envelope += ",\"payload\":";
    envelope += payload;
    publisher_->publish(channelOf(room), envelope + "}");
  }

  // Reads an envelope in the exact shape publish() writes, without a JSON parser: this is on every
  // cross-instance event's path. Anything else goes to the parser.
  static bool readOwnShape(const std::string& m, std::string& source, double& published_at,
                           std::string& payload) {
    static constexpr std::string_view kHead = "{\"source_instance\":\"";
    static constexpr std::string_view kStamp = "\",\"published_at\":";
    static constexpr std::string_view kPayload = ",\"payload\":";
    if (m.size() < kHead.size() + 2 || m.compare(0, kHead.size(), kHead) != 0 || m.back() != '}')
      return false;
    const auto quote = m.find('"', kHead.size());
    if (quote == std::string::npos || m.compare(quote, kStamp.size(), kStamp) != 0) return false;
    const char* number = m.c_str() + quote + kStamp.size();
    char* end = nullptr;
    published_at = std::strtod(number, &end);
    const auto at = static_cast<std::size_t>(end - m.c_str());
    if (end == number || m.compare(at, kPayload.size(), kPayload) != 0) return false;
    source.assign(m, kHead.size(), quote - kHead.size());
    payload.assign(m, at + kPayload.size(), m.size() - at - kPayload.size() - 1);
    return true;
  }

  void receive(const std::string& channel, const std::string& message) {
    std::string source, payload;
    double published_at = 0;
    if (!readOwnShape(message, source, published_at, payload)) {
      try {
        Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));  // keep the payload's order
        auto envelope = parser.parse(message).extract<Poco::JSON::Object::Ptr>();
        source = envelope->getValue<std::string>("source_instance");
        published_at = envelope->getValue<double>("published_at");
        std::ostringstream out;
        Poco::JSON::Stringifier::condense(envelope->get("payload"), out);
        payload = out.str();
      } catch (const std::exception& e) {
        log_->warning("dropped a malformed message on " + channel + ": " + e.what());
        return;
      }
    }
    if (source == instance_id_) return;  // our own: its local members already have it
    // room:{room_id}:events
    if (channel.size() <= 12) return;
    const std::string room = channel.substr(5, channel.size() - 12);
    delay_ms_->observe(std::max(0.0, (unixSeconds() - published_at) * 1000.0));
    rooms_->deliverLocal(room, payload);
  }

  Logger* log_ = nullptr;
  std::shared_ptr<RoomsService> rooms_;
  std::string instance_id_;
  std::string where_;
  bool required_ = false;
  std::shared_ptr<Histogram> publish_ms_ =
      std::make_shared<Histogram>(Histogram::millisecondBuckets());
  std::shared_ptr<Histogram> delay_ms_ =
      std::make_shared<Histogram>(Histogram::millisecondBuckets());
  std::shared_ptr<Counter> failures_ = std::make_shared<Counter>();
  std::unique_ptr<Publisher> publisher_;
  std::shared_ptr<RedisStateStore> state_;
  std::unique_ptr<Subscriber> subscriber_;
  std::vector<Registration> regs_;
};

}  // namespace
}  // namespace parley::fanout

PARLEY_PLUGIN(parley::fanout::FanoutRedis)
