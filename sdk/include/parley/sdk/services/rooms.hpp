// The rooms service, offered by the rooms plugin as "parley.rooms.v1": room membership of
// websocket sessions, room-wide broadcast and the room state behind sync_state. Consumers declare
// "rooms" in their dependencies and look it up in start():
//   auto rooms = ctx.services().find<parley::sdk::RoomsService>(parley::sdk::kRoomsService);
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parley/sdk/export.hpp"
#include "parley/sdk/registration.hpp"
#include "parley/sdk/websocket.hpp"

namespace parley::sdk {

inline constexpr const char* kRoomsService = "parley.rooms.v1";

// Who may do what in a room, the same in every plugin: interviewers ask questions and stop
// answers; candidates send audio and candidate transcripts; viewers (share links) only receive.
// Whatever else a session sends is answered with errorEvent("forbidden", ...), and it stays open.
inline bool isInterviewer(const SessionInfo& s) {
  return s.participant == "interviewer";
}
inline bool isCandidate(const SessionInfo& s) {
  return s.participant == "candidate";
}
inline bool isViewer(const SessionInfo& s) {
  return s.participant == "viewer";
}

struct RoomState {
  std::string room_id;
  std::string active_question;
  std::string partial_answer;
  bool is_streaming = false;
  int assist_intensity = 2;
  double updated_at = 0;  // Unix time of the last change
};

// Keeps room state beyond this instance's memory (the fanout plugin keeps it in Redis), so that a
// member who rejoins on another instance finds the room as it was.
class PARLEY_SDK_API RoomStateStore {
 public:
  virtual ~RoomStateStore();
  // After every change; must not block (queue the write).
  virtual void save(const RoomState& state) = 0;
  // Looks a room up and calls `done` later, from any thread, with what it found.
  virtual void load(const std::string& room_id,
                    std::function<void(std::optional<RoomState>)> done) = 0;
};

class PARLEY_SDK_API RoomsService {
 public:
  virtual ~RoomsService();

  // Sends a server event (a JSON object text) to every local member of the room, except
  // `exclude_session` when given, and hands it to the relays (cross-instance fanout).
  virtual void broadcast(const std::string& room_id, const std::string& json,
                         const std::string& exclude_session = {}) = 0;
  // Delivers to local members only: for events that arrive from other instances.
  virtual void deliverLocal(const std::string& room_id, const std::string& json) = 0;

  // The room a session is in, or empty.
  virtual std::string roomOf(const std::string& session_id) const = 0;
  virtual std::optional<RoomState> state(const std::string& room_id) const = 0;
  // Applies `change` to the room's state atomically and stamps updated_at.
  virtual void updateState(const std::string& room_id,
                           const std::function<void(RoomState&)>& change) = 0;

  // Sees every broadcast (room id and event JSON) after local delivery.
  using Relay = std::function<void(const std::string& room_id, const std::string& json)>;
  virtual Registration addRelay(Relay relay) = 0;
  // Told when a room's local member count changes (0 = the last local member left).
  using MembershipObserver = std::function<void(const std::string& room_id, std::size_t members)>;
  virtual Registration onMembership(MembershipObserver observer) = 0;

  // One store at a time. A room new to this instance is looked up in it; when the store knows a
  // newer state, the room adopts it and its local members get a fresh sync_state.
  virtual Registration setStateStore(std::shared_ptr<RoomStateStore> store) = 0;
  // The states of the rooms that have local members (to refresh or rewrite them in a store).
  virtual std::vector<RoomState> localRooms() const = 0;
  // Since SDK 1.2: how many of this instance's sessions are in the room right now. Membership
  // observers are told of changes from several threads, in no guaranteed order: whoever must act
  // on "does this instance serve the room" asks here when it acts.
  virtual std::size_t localMembers(const std::string& room_id) const = 0;
  // Since SDK 1.2: asks `question` in the room on behalf of session `session_id`, exactly as its
  // interviewer_question would (enough words, not a repeat within the window, then the room hears
  // interviewer_question and the bus room.question). Returns why it was refused, or nothing.
  virtual std::optional<std::string> ask(const std::string& room_id, const std::string& question,
                                         const std::string& session_id) = 0;
  // Since SDK 1.2: sees every event delivered to the room on this instance, just before its
  // members get it: its own broadcasts and those from other instances (deliverLocal) alike, so a
  // plugin can follow what happens in a room wherever it happened, and hears of it no later than
  // the members. Called on the delivering thread: post to a scope rather than work there.
  using EventObserver = std::function<void(const std::string& room_id, const std::string& json)>;
  virtual Registration onEvent(EventObserver observer) = 0;
};

}  // namespace parley::sdk
