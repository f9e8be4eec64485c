// fanout_redis: rooms that span parleyd instances. Every room event the rooms plugin broadcasts
// is also published to room:{room_id}:events in an envelope {source_instance, published_at,
// payload}; each instance subscribes to the rooms it has local members in, drops its own
// messages, and delivers the rest to its local members. Delivery is at most once across a Redis
// outage (see README.md).
#include <parley/sdk/json.hpp>
#include <parley/sdk/plugin.hpp>
#include <parley/sdk/services/rooms.hpp>

#include <Poco/UUIDGenerator.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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

// room:{room_id}:events -> room_id, or empty for any other channel.
std::string roomOf(const std::string& channel) {
  constexpr std::string_view kHead = "room:", kTail = ":events";
  if (channel.size() <= kHead.size() + kTail.size() || channel.compare(0, 5, kHead) != 0 ||
      channel.compare(channel.size() - kTail.size(), kTail.size(), kTail) != 0)
    return {};
  return channel.substr(kHead.size(), channel.size() - kHead.size() - kTail.size());
}

// Why a message on a room channel was not delivered, as counted in
// parley_fanout_messages_dropped_total{reason}.
enum Drop : std::size_t { kInvalidUtf8, kMalformedEnvelope, kPayloadNotObject, kDropReasons };
const std::vector<std::string> kDropNames = {"invalid_utf8", "malformed_envelope",
                                             "payload_not_object"};

class FanoutRedis : public Plugin {
 public:
  Descriptor describe() const override {
    Descriptor d;
    d.id = "fanout_redis";
    d.version = "1.0.0";
    d.summary = "Rooms across instances through Redis pub/sub.";
    d.dependencies = {"rooms"};
    d.config = redis::settingsKeys();
    d.config.insert(
        d.config.end(),
        {
            {"key_prefix", ConfigType::kString,
             "parley:", "Prefix of the keys this plugin writes."},
            {"instance_id", ConfigType::kString, "",
             "This instance's id in envelopes; empty generates one (logged at start)."},
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
            {"max_clock_skew_ms", ConfigType::kInt, "1000",
             "An envelope stamped further than this in the future (by a publisher whose clock runs "
             "ahead) is delivered but not counted in avg_fanout_delay_ms.",
             0, 3600000},
            {"max_fanout_delay_ms", ConfigType::kInt, "60000",
             "An envelope older than this on arrival is delivered but not counted in "
             "avg_fanout_delay_ms: no real fanout takes that long, a wrong clock does.",
             1, 86400000},
        });
    return d;
  }

  void start(Context& ctx) override {
    log_ = &ctx.log();
    rooms_ = ctx.services().find<RoomsService>(kRoomsService);
    if (!rooms_) throw std::runtime_error("the rooms service (parley.rooms.v1) is not offered");
    const PluginConfig& cfg = ctx.config();
    RedisSettings redis;
    static_cast<redis::Settings&>(redis) = redis::readSettings(cfg);
    redis.reconnect_max = std::chrono::milliseconds(cfg.getInt("reconnect_max_ms"));
    where_ = redis.where();
    required_ = cfg.getBool("required");
    max_skew_s_ = static_cast<double>(cfg.getInt("max_clock_skew_ms")) / 1000.0;
    max_delay_s_ = static_cast<double>(cfg.getInt("max_fanout_delay_ms")) / 1000.0;
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
    regs_.push_back(
        metrics.add(LabeledSpec{"fanout_messages_dropped", "reason", kDropNames,
                                "Messages on room channels that were not delivered, by why."},
                    dropped_));
    regs_.push_back(metrics.add("fanout_delay_unsampled",
                                "Envelopes delivered but left out of avg_fanout_delay_ms because "
                                "their published_at was implausible (clock skew).",
                                unsampled_));

    // Each connection on a scope of its own (the scopes spread over the event loops).
    publisher_ = std::make_unique<Publisher>(ctx.scopes().create(), redis,
                                             static_cast<std::size_t>(cfg.getInt("max_in_flight")),
                                             ctx.log(), publish_ms_, failures_);
    subscriber_ = std::make_unique<Subscriber>(
        ctx.scopes().create(), redis, ctx.log(),
        [this](const std::string& channel) { return rooms_->localMembers(roomOf(channel)) > 0; },
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
    regs_.push_back(rooms_->onMembership(
        [this](const std::string& room, std::size_t) { subscriber_->touch(channelOf(room)); }));
    regs_.push_back(rooms_->addRelay(
        [this](const std::string& room, const std::string& json) { publish(room, json); }));
  }

  // By now the core has closed the connections' scopes: nothing of them runs any more.
  void stop() override { regs_.clear(); }

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

  // Reads an envelope in the exact shape publish() writes, without building a document: this is
  // on every cross-instance event's path. Anything else goes to the parser.
  static bool readOwnShape(const std::string& m, std::string& source, double& published_at,
                           std::string& payload) {
    static constexpr std::string_view kHead = "{\"source_instance\":\"";
    static constexpr std::string_view kStamp = "\",\"published_at\":";
    static constexpr std::string_view kPayload = ",\"payload\":";
    if (m.size() < kHead.size() + 2 || m.compare(0, kHead.size(), kHead) != 0 || m.back() != '}')
      return false;
    const auto quote = m.find('"', kHead.size());
    if (quote == std::string::npos || m.compare(quote, kStamp.size(), kStamp) != 0 ||
        m.find('\\', kHead.size()) < quote)
      return false;
    const char* number = m.c_str() + quote + kStamp.size();
    char* end = nullptr;
    published_at = std::strtod(number, &end);
    const auto at = static_cast<std::size_t>(end - m.c_str());
    if (end == number || m.compare(at, kPayload.size(), kPayload) != 0) return false;
    source.assign(m, kHead.size(), quote - kHead.size());
    payload.assign(m, at + kPayload.size(), m.size() - at - kPayload.size() - 1);
    return true;
  }

  // Any well-formed envelope: a JSON object with a string source_instance, a number published_at
  // and a payload. Returns the reason to drop it, or kDropReasons when it is usable.
  static Drop readEnvelope(const std::string& m, std::string& source, double& published_at,
                           std::string& payload) {
    json::Value envelope;
    if (!json::parse(m, envelope) || !envelope["source_instance"].isString() ||
        !envelope["published_at"].isNumber() || !envelope.has("payload"))
      return kMalformedEnvelope;
    if (!envelope["payload"].isObject()) return kPayloadNotObject;
    source = envelope["source_instance"].asString();
    published_at = envelope["published_at"].asNumber();
    payload = json::Writer().value(envelope["payload"]).take();
    return kDropReasons;
  }

  // Everything on a room channel comes from whoever can write to Redis: only a JSON object in
  // valid UTF-8 reaches members (a browser closes a websocket on a text frame that is not UTF-8).
  void receive(const std::string& channel, const std::string& message) {
    const std::string room = roomOf(channel);
    std::string source, payload;
    double published_at = 0;
    Drop why = kDropReasons;
    if (!json::validUtf8(message))
      why = kInvalidUtf8;
    else if (!readOwnShape(message, source, published_at, payload) || !json::isObject(payload))
      why = readEnvelope(message, source, published_at, payload);  // says what is wrong, if any
    if (room.empty()) why = kMalformedEnvelope;
    if (why != kDropReasons) return drop(channel, why);
    if (source == instance_id_) return;  // our own: its local members already have it

    // The sender's clock against ours: a stamp from the future or from long ago says more about
    // the clocks than about the fanout, so it is not averaged in.
    const double delay_s = unixSeconds() - published_at;
    if (std::isfinite(delay_s) && delay_s >= -max_skew_s_ && delay_s <= max_delay_s_)
      delay_ms_->observe(std::max(0.0, delay_s * 1000.0));
    else
      unsampled_->inc();
    rooms_->deliverLocal(room, payload);
  }

  // Counted every time, logged at most once per burst (10 s), so that a flood of garbage cannot
  // flood the log.
  void drop(const std::string& channel, Drop why) {
    dropped_->inc(why);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_drop_log_ < std::chrono::seconds(10)) {
      ++drops_unlogged_;
      return;
    }
    last_drop_log_ = now;
    std::string line = "dropped a message on " + channel + ": " + kDropNames[why];
    if (drops_unlogged_) line += " (and " + std::to_string(drops_unlogged_) + " more before it)";
    drops_unlogged_ = 0;
    log_->warning(line);
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
  std::shared_ptr<CategoryCounter> dropped_ = std::make_shared<CategoryCounter>(kDropReasons);
  std::shared_ptr<Counter> unsampled_ = std::make_shared<Counter>();
  double max_skew_s_ = 1;
  double max_delay_s_ = 60;
  // The subscriber's scope's alone.
  std::chrono::steady_clock::time_point last_drop_log_{};
  std::uint64_t drops_unlogged_ = 0;
  std::unique_ptr<Publisher> publisher_;
  std::shared_ptr<RedisStateStore> state_;
  std::unique_ptr<Subscriber> subscriber_;
  std::vector<Registration> regs_;
};

}  // namespace
}  // namespace parley::fanout

PARLEY_PLUGIN(parley::fanout::FanoutRedis)
