// Room state in Redis: a hash per room, {key_prefix}room:{room_id}:state, with a TTL refreshed
// while the room has members anywhere. Written and read through the publisher's connection, so
// nothing here ever waits on Redis.
#pragma once

#include <parley/sdk/services/rooms.hpp>

#include <chrono>
#include <string>

#include "publisher.hpp"

namespace parley::fanout {

class RedisStateStore final : public sdk::RoomStateStore {
 public:
  RedisStateStore(Publisher& redis, std::string key_prefix, std::chrono::seconds ttl)
      : redis_(redis), prefix_(std::move(key_prefix)), ttl_(ttl) {}

  void save(const sdk::RoomState& state) override;
  void load(const std::string& room_id,
            std::function<void(std::optional<sdk::RoomState>)> done) override;
  // Pushes the expiry of a live room's state further out.
  void touch(const std::string& room_id);

  std::string key(const std::string& room_id) const {
    return prefix_ + "room:" + room_id + ":state";
  }

 private:
  Publisher& redis_;
  std::string prefix_;
  std::chrono::seconds ttl_;
};

}  // namespace parley::fanout
