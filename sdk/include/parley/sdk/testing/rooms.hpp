// A rooms service for the test host (parley.rooms.v1, as the rooms plugin offers it): every
// session is in one room, and what is broadcast, asked and stored is recorded for the test.
// deliverLocal() stands for an event from another instance (event observers see it too).
//   auto rooms = std::make_shared<parley::sdk::testing::FakeRooms>("room-1");
//   host.offer<parley::sdk::RoomsService>(parley::sdk::kRoomsService, rooms);
#pragma once

#include <map>
#include <string>
#include <vector>

#include "parley/sdk/json.hpp"
#include "parley/sdk/services/rooms.hpp"

namespace parley::sdk::testing {

class PARLEY_SDK_API FakeRooms final : public RoomsService {
 public:
  explicit FakeRooms(std::string room) : room_(std::move(room)) {}

  // What the test reads back.
  std::vector<json::Value> events;  // broadcast to the room, parsed, in order
  std::vector<std::string> asked;   // questions asked through ask()
  RoomState room_state;
  std::vector<json::Value> ofType(const std::string& type) const;
  // What the test does: a member count change, as the rooms plugin reports it.
  void membership(std::size_t members);

  // RoomsService
  void broadcast(const std::string& room_id, const std::string& json,
                 const std::string& exclude_session) override;
  void deliverLocal(const std::string& room_id, const std::string& json) override;
  std::string roomOf(const std::string&) const override { return room_; }
  std::optional<RoomState> state(const std::string&) const override { return room_state; }
  void updateState(const std::string& room_id,
                   const std::function<void(RoomState&)>& change) override;
  Registration addRelay(Relay relay) override;
  Registration onMembership(MembershipObserver observer) override;
  Registration setStateStore(std::shared_ptr<RoomStateStore>) override { return {}; }
  std::vector<RoomState> localRooms() const override { return {room_state}; }
  std::size_t localMembers(const std::string&) const override { return members_; }
  std::optional<std::string> ask(const std::string& room_id, const std::string& question,
                                 const std::string& session_id) override;
  Registration onEvent(EventObserver observer) override;

 private:
  std::string room_;
  std::size_t members_ = 1;
  std::vector<std::shared_ptr<Relay>> relays_;
  std::vector<std::shared_ptr<MembershipObserver>> observers_;
  std::vector<std::shared_ptr<EventObserver>> event_observers_;
};

}  // namespace parley::sdk::testing
