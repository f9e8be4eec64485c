#include "state_store.hpp"

#include <cstdio>
#include <cstdlib>

namespace parley::fanout {

// The newest state wins, whoever writes last: after an outage every instance serving the room
// writes its view back, and one that never changed the room (updated_at 0) must not overwrite the
// one that did.
static const char* const kSaveIfNewer =
    "local stored = tonumber(redis.call('HGET', KEYS[1], 'updated_at'))\n"
    "if stored and stored > tonumber(ARGV[9]) then return 0 end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7],\n"
    "           ARGV[8], 'updated_at', ARGV[9])\n"
    "return 1";

void RedisStateStore::save(const sdk::RoomState& s) {
  char updated[32];
  std::snprintf(updated, sizeof updated, "%.6f", s.updated_at);
  redis_.submit({"EVAL", kSaveIfNewer, "1", key(s.room_id), "active_question", s.active_question,
                 "partial_answer", s.partial_answer, "is_streaming", s.is_streaming ? "1" : "0",
                 "assist_intensity", std::to_string(s.assist_intensity), updated});
  touch(s.room_id);
}

void RedisStateStore::touch(const std::string& room_id) {
  redis_.submit({"EXPIRE", key(room_id), std::to_string(ttl_.count())});
}

void RedisStateStore::load(const std::string& room_id,
                           std::function<void(std::optional<sdk::RoomState>)> done) {
  redis_.submit({"HGETALL", key(room_id)}, [room_id, done](const redisReply* r) {
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) return done(std::nullopt);
    sdk::RoomState state;
    state.room_id = room_id;
    for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
      const std::string field(r->element[i]->str, r->element[i]->len);
      const std::string value(r->element[i + 1]->str, r->element[i + 1]->len);
      if (field == "active_question")
        state.active_question = value;
      else if (field == "partial_answer")
        state.partial_answer = value;
      else if (field == "is_streaming")
        state.is_streaming = value == "1";
      else if (field == "assist_intensity")
        state.assist_intensity = std::atoi(value.c_str());
      else if (field == "updated_at")
        state.updated_at = std::strtod(value.c_str(), nullptr);
    }
    done(state);
  });
}

}  // namespace parley::fanout
