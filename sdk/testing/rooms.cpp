#include "parley/sdk/testing/rooms.hpp"

namespace parley::sdk::testing {

std::vector<json::Value> FakeRooms::ofType(const std::string& type) const {
  std::vector<json::Value> out;
  for (const auto& e : events)
    if (e["type"].asString() == type) out.push_back(e);
  return out;
}

void FakeRooms::membership(std::size_t members) {
  members_ = members;
  for (const auto& o : observers_)
    if (*o) (*o)(room_, members);
}

void FakeRooms::broadcast(const std::string& room_id, const std::string& json, const std::string&) {
  json::Value v;
  json::parse(json, v);
  events.push_back(std::move(v));
  for (const auto& o : event_observers_)
    if (*o) (*o)(room_id, json);
  for (const auto& r : relays_)
    if (*r) (*r)(room_id, json);
}

void FakeRooms::deliverLocal(const std::string& room_id, const std::string& json) {
  json::Value v;
  json::parse(json, v);
  events.push_back(std::move(v));
  for (const auto& o : event_observers_)
    if (*o) (*o)(room_id, json);
}

void FakeRooms::updateState(const std::string& room_id,
                            const std::function<void(RoomState&)>& change) {
  change(room_state);
  room_state.room_id = room_id;
}

Registration FakeRooms::addRelay(Relay relay) {
  auto r = std::make_shared<Relay>(std::move(relay));
  relays_.push_back(r);
  return Registration(std::make_shared<Revoker>([r] { *r = nullptr; }));
}

Registration FakeRooms::onMembership(MembershipObserver observer) {
  auto o = std::make_shared<MembershipObserver>(std::move(observer));
  observers_.push_back(o);
  return Registration(std::make_shared<Revoker>([o] { *o = nullptr; }));
}

Registration FakeRooms::onEvent(EventObserver observer) {
  auto o = std::make_shared<EventObserver>(std::move(observer));
  event_observers_.push_back(o);
  return Registration(std::make_shared<Revoker>([o] { *o = nullptr; }));
}

std::optional<std::string> FakeRooms::ask(const std::string&, const std::string& question,
                                          const std::string&) {
  asked.push_back(question);
  return std::nullopt;
}

}  // namespace parley::sdk::testing
