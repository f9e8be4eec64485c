#include "room_directory.hpp"

#include <parley/sdk/json.hpp>

#include <algorithm>
#include <cstdio>

namespace parley::rooms {

double unixNow() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count() / 1e6;
}

RoomDirectory::RoomDirectory(sdk::WebSockets& websockets, Clock::duration state_ttl,
                             QuestionRules rules, Publish publish)
    : websockets_(websockets),
      state_ttl_(state_ttl),
      rules_(rules),
      questions_(rules.min_words),
      publish_(std::move(publish)) {}

std::optional<std::string> RoomDirectory::question(const std::string& room_id,
                                                   const std::string& text,
                                                   const sdk::SessionInfo& asker,
                                                   std::chrono::milliseconds window) {
  if (auto refusal = questions_.admit(room_id, text, window)) return refusal;
  updateState(room_id, [&](sdk::RoomState& st) { st.active_question = text; });
  sdk::json::Writer event;
  event.beginObject().field("type", "interviewer_question").field("question", text);
  event.field("room_id", room_id).field("session_id", asker.id).endObject();
  broadcast(room_id, event.take());
  sdk::json::Writer payload;
  payload.beginObject().field("room_id", room_id).field("question", text);
  payload.field("session_id", asker.id).field("participant", asker.participant).endObject();
  if (publish_) publish_({"room.question", payload.take()});
  return std::nullopt;
}

std::optional<std::string> RoomDirectory::ask(const std::string& room_id,
                                              const std::string& question,
                                              const std::string& session_id) {
  sdk::SessionInfo asker;
  asker.id = session_id;
  asker.participant = "interviewer";
  return this->question(room_id, question, asker, rules_.interviewer_window);
}

std::size_t RoomDirectory::join(const std::string& room_id, const sdk::SessionPtr& session,
                                int assist_intensity) {
  std::size_t members;
  {
    std::lock_guard lock(mutex_);
    auto [it, fresh] = rooms_.try_emplace(room_id);
    Room& room = it->second;
    if (fresh) {
      room.state.room_id = room_id;
      room.state.assist_intensity = assist_intensity;
      room.state.updated_at = 0;  // never changed here: any stored state is newer
    }
    room.members.push_back(session);
    room_of_[session->info().id] = room_id;
    members = room.members.size();
  }
  observers_.call(room_id, members);
  // A room this instance starts serving may have a history elsewhere; never wait for it here.
  if (members == 1) {
    std::weak_ptr<RoomDirectory> self = weak_from_this();
    store_.with([&](sdk::RoomStateStore& store) {
      store.load(room_id, [self, room_id](std::optional<sdk::RoomState> stored) {
        if (auto dir = self.lock(); dir && stored) dir->adopt(room_id, *stored);
      });
    });
  }
  return members;
}

long RoomDirectory::leave(const std::string& session_id) {
  std::string room_id;
  std::size_t members;
  {
    std::lock_guard lock(mutex_);
    auto where = room_of_.find(session_id);
    if (where == room_of_.end()) return -1;
    room_id = where->second;
    room_of_.erase(where);
    Room& room = rooms_[room_id];
    auto& m = room.members;
    m.erase(std::remove_if(m.begin(), m.end(),
                           [&](const sdk::SessionPtr& s) { return s->info().id == session_id; }),
            m.end());
    members = m.size();
    if (members == 0) room.empty_since = Clock::now();
  }
  observers_.call(room_id, members);
  return static_cast<long>(members);
}

std::vector<std::string> RoomDirectory::purgeIdle(Clock::time_point now) {
  std::vector<std::string> purged;
  std::lock_guard lock(mutex_);
  for (auto it = rooms_.begin(); it != rooms_.end();) {
    if (it->second.members.empty() && now - it->second.empty_since >= state_ttl_) {
      purged.push_back(it->first);
      questions_.forgetRoom(it->first);
      it = rooms_.erase(it);
    } else {
      ++it;
    }
  }
  return purged;
}

std::string RoomDirectory::syncStateJson(const std::string& room_id,
                                         const std::string& session_id) const {
  sdk::RoomState st = state(room_id).value_or(sdk::RoomState{room_id, "", "", false, 2, 0});
  std::string json = "{\"type\":\"sync_state\",\"room_id\":";
  sdk::appendJsonString(json, st.room_id);
  json += ",\"active_question\":";
  sdk::appendJsonString(json, st.active_question);
  json += ",\"partial_answer\":";
  sdk::appendJsonString(json, st.partial_answer);
  json += ",\"is_streaming\":";
  json += st.is_streaming ? "true" : "false";
  json += ",\"assist_intensity\":" + std::to_string(st.assist_intensity);
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%.3f", st.updated_at);
  json += ",\"updated_at\":";
  json += stamp;
  json += ",\"session_id\":";
  sdk::appendJsonString(json, session_id);
  return json + "}";
}

void RoomDirectory::deliver(const std::string& room_id, const std::string& json,
                            const std::string& exclude_session) {
  std::vector<sdk::SessionPtr> to;
  {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(room_id);
    if (it == rooms_.end()) return;
    to.reserve(it->second.members.size());
    for (const auto& s : it->second.members)
      if (exclude_session.empty() || s->info().id != exclude_session) to.push_back(s);
  }
  // Observers first: a plugin that follows the room (assist, share_tokens) hears of an event no
  // later than the members do, so nothing a member sends in answer overtakes it.
  event_observers_.call(room_id, json);
  if (!to.empty()) websockets_.broadcast(to, websockets_.encodeText(json));  // encoded once
}

void RoomDirectory::broadcast(const std::string& room_id, const std::string& json,
                              const std::string& exclude_session) {
  deliver(room_id, json, exclude_session);
  relays_.call(room_id, json);
}

void RoomDirectory::deliverLocal(const std::string& room_id, const std::string& json) {
  deliver(room_id, json, {});
}

std::string RoomDirectory::roomOf(const std::string& session_id) const {
  std::lock_guard lock(mutex_);
  auto it = room_of_.find(session_id);
  return it == room_of_.end() ? std::string() : it->second;
}

std::optional<sdk::RoomState> RoomDirectory::state(const std::string& room_id) const {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return std::nullopt;
  return it->second.state;
}

void RoomDirectory::updateState(const std::string& room_id,
                                const std::function<void(sdk::RoomState&)>& change) {
  sdk::RoomState changed;
  {
    std::lock_guard lock(mutex_);
    auto [it, fresh] = rooms_.try_emplace(room_id);
    if (fresh) {
      it->second.state.room_id = room_id;
      it->second.empty_since = Clock::now();
    }
    change(it->second.state);
    it->second.state.room_id = room_id;
    it->second.state.updated_at = unixNow();
    changed = it->second.state;
  }
  store_.with([&](sdk::RoomStateStore& store) { store.save(changed); });
}

void RoomDirectory::adopt(const std::string& room_id, const sdk::RoomState& stored) {
  std::vector<sdk::SessionPtr> members;
  {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(room_id);
    if (it == rooms_.end() || stored.updated_at <= it->second.state.updated_at) return;
    it->second.state = stored;
    it->second.state.room_id = room_id;
    members = it->second.members;
  }
  for (const auto& m : members) m->send(syncStateJson(room_id, m->info().id));
}

sdk::Registration RoomDirectory::setStateStore(std::shared_ptr<sdk::RoomStateStore> store) {
  return store_.set(std::move(store));
}

std::vector<sdk::RoomState> RoomDirectory::localRooms() const {
  std::vector<sdk::RoomState> states;
  std::lock_guard lock(mutex_);
  for (const auto& [id, room] : rooms_)
    if (!room.members.empty()) states.push_back(room.state);
  return states;
}

std::size_t RoomDirectory::localMembers(const std::string& room_id) const {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  return it == rooms_.end() ? 0 : it->second.members.size();
}

sdk::Registration RoomDirectory::addRelay(Relay relay) {
  return relays_.add(std::move(relay));
}

sdk::Registration RoomDirectory::onMembership(MembershipObserver observer) {
  return observers_.add(std::move(observer));
}

sdk::Registration RoomDirectory::onEvent(EventObserver observer) {
  return event_observers_.add(std::move(observer));
}

}  // namespace parley::rooms
