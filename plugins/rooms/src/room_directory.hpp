// Room membership of this instance's sessions, each room's state, and room broadcast: the
// implementation behind the "parley.rooms.v1" service.
#pragma once

#include <parley/sdk/context.hpp>
#include <parley/sdk/hooks.hpp>
#include <parley/sdk/services/rooms.hpp>
#include <parley/sdk/websocket.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "questions.hpp"

namespace parley::rooms {

class RoomDirectory final : public sdk::RoomsService,
                            public std::enable_shared_from_this<RoomDirectory> {
 public:
  using Clock = std::chrono::steady_clock;
  struct QuestionRules {
    std::size_t min_words = 4;
    std::chrono::milliseconds interviewer_window{3000};  // interviewer_question, spoken ones
    std::chrono::milliseconds set_window{5000};          // set_question
  };
  using Publish = std::function<void(const sdk::Event&)>;
  RoomDirectory(sdk::WebSockets& websockets, Clock::duration state_ttl, QuestionRules rules,
                Publish publish);

  // A question from a session of the room: checked against the rules (a repeat counts within
  // `window`), made the room's active question, broadcast, and published as room.question.
  std::optional<std::string> question(const std::string& room_id, const std::string& text,
                                      const sdk::SessionInfo& asker,
                                      std::chrono::milliseconds window);
  const QuestionRules& rules() const { return rules_; }

  // Adds the session to the room (creating its state with `assist_intensity` if new) and returns
  // the room's local member count after joining.
  std::size_t join(const std::string& room_id, const sdk::SessionPtr& session,
                   int assist_intensity);
  // Removes the session from its room; returns the room's remaining local members, or -1 when
  // the session was in no room.
  long leave(const std::string& session_id);
  // Forgets the state of rooms that have been empty longer than the TTL; returns their ids.
  std::vector<std::string> purgeIdle(Clock::time_point now = Clock::now());
  std::string syncStateJson(const std::string& room_id, const std::string& session_id) const;

  // sdk::RoomsService
  void broadcast(const std::string& room_id, const std::string& json,
                 const std::string& exclude_session = {}) override;
  void deliverLocal(const std::string& room_id, const std::string& json) override;
  std::string roomOf(const std::string& session_id) const override;
  std::optional<sdk::RoomState> state(const std::string& room_id) const override;
  void updateState(const std::string& room_id,
                   const std::function<void(sdk::RoomState&)>& change) override;
  sdk::Registration addRelay(Relay relay) override;
  sdk::Registration onMembership(MembershipObserver observer) override;
  sdk::Registration setStateStore(std::shared_ptr<sdk::RoomStateStore> store) override;
  std::vector<sdk::RoomState> localRooms() const override;
  std::size_t localMembers(const std::string& room_id) const override;
  std::optional<std::string> ask(const std::string& room_id, const std::string& question,
                                 const std::string& session_id) override;
  sdk::Registration onEvent(EventObserver observer) override;

 private:
  struct Room {
    std::vector<sdk::SessionPtr> members;
    sdk::RoomState state;
    Clock::time_point empty_since;
  };
  void deliver(const std::string& room_id, const std::string& json,
               const std::string& exclude_session);
  // A stored state arrived for a room this instance had just started: take it if newer.
  void adopt(const std::string& room_id, const sdk::RoomState& stored);

  sdk::WebSockets& websockets_;
  Clock::duration state_ttl_;
  QuestionRules rules_;
  QuestionGate questions_;
  Publish publish_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Room> rooms_;
  std::unordered_map<std::string, std::string> room_of_;  // session id -> room id

  // Other plugins' hooks, gated: revoking one waits out its running calls.
  sdk::HookSlot<sdk::RoomStateStore> store_;
  sdk::HookList<void(const std::string&, const std::string&)> relays_;
  sdk::HookList<void(const std::string&, std::size_t)> observers_;
  sdk::HookList<void(const std::string&, const std::string&)> event_observers_;
};

double unixNow();

}  // namespace parley::rooms
