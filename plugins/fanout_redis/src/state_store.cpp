#include "state_store.hpp"

#include <cstdio>
#include <cstdlib>

namespace parley::fanout {

void RedisStateStore::save(const sdk::RoomState& s) {
  char updated[32];
  std::snprintf(updated, sizeof updated, "%.6f", s.updated_at);
  redis_.submit({"HSET", key(s.room_id), "active_question", s.active_question, "partial_answer",
                 s.partial_answer, "is_streaming", s.is_streaming ? "1" : "0", "assist_intensity",
                 std::to_string(s.assist_intensity), "updated_at", updated});
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
