// rooms: sessions that share a room_id form a room. Membership, room broadcast, the room state
// behind sync_state, the interviewer's questions, and who may do what in a room; offered to other
// plugins as "parley.rooms.v1".
#include <parley/sdk/errors.hpp>
#include <parley/sdk/json.hpp>
#include <parley/sdk/plugin.hpp>
#include <parley/sdk/services/rooms.hpp>

#include <Poco/UUIDGenerator.h>

#include <algorithm>
#include <cctype>

#include "questions.hpp"
#include "room_directory.hpp"

namespace parley::rooms {
namespace {

using namespace parley::sdk;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// {"type":<type>, <string fields...>, "session_id":<id>}
std::string event(const char* type,
                  std::initializer_list<std::pair<const char*, std::string_view>> fields,
                  const std::string& session_id) {
  json::Writer w;
  w.beginObject().field("type", type);
  for (const auto& [name, value] : fields) w.field(name, value);
  return w.field("session_id", session_id).endObject().take();
}

// Whether the JWT claim `room_id` (one id, or a list) names `room`.
bool claimsRoom(const json::Value& claim, const std::string& room) {
  if (claim.isString()) return lower(std::string(claim.asString())) == room;
  if (!claim.isArray()) return false;
  for (const auto& item : claim.items())
    if (item.isString() && lower(std::string(item.asString())) == room) return true;
  return false;
}

class RoomsPlugin;

// One session's part in its room: joins when the session opens, leaves when it closes, and
// handles the room's messages with the session's role checked first.
class Member final : public SessionHandler {
 public:
  Member(RoomsPlugin& plugin, const SessionPtr& session);
  void onMessage(std::string_view type, const json::Value& message) override;
  void onBinary(std::string_view bytes) override;
  void onClose(DisconnectReason reason) override;

 private:
  void question(const json::Value& message, const char* field, std::chrono::milliseconds window);
  void forbidden(std::string_view what);

  RoomsPlugin& plugin_;
  Session& session_;
  std::string room_;
  Scope::Clock::time_point last_audio_refusal_{};
};

class RoomsPlugin final : public Plugin {
 public:
  Descriptor describe() const override {
    Descriptor d;
    d.id = "rooms";
    d.version = "1.2.0";
    d.summary = "Rooms of websocket sessions: membership, broadcast, sync_state, questions, roles.";
    d.config = {
        {"question_min_words", ConfigType::kInt, "4", "Words a question needs.", 1, 100},
        {"interviewer_question_window_ms", ConfigType::kInt, "3000",
         "An interviewer_question repeated within this window is dropped.", 0, 600000},
        {"set_question_window_ms", ConfigType::kInt, "5000",
         "A set_question repeated within this window is dropped.", 0, 600000},
        {"state_ttl_sec", ConfigType::kInt, "3600",
         "How long an empty room keeps its state for members who rejoin.", 0, 604800},
        {"waiting_message", ConfigType::kString, "Waiting for the interviewer's question...",
         "What a session joining a room with no active question is told."},
        {"access", ConfigType::kString, "open",
         "open: any valid token joins any room as any participant (local development); claims: "
         "a JWT must carry room_id (one id or a list) and participant, and may join only those."},
    };
    return d;
  }

  void configure(const PluginConfig& config) override {
    const std::string& access = config.getString("access");
    if (access != "open" && access != "claims")
      throw ConfigError("plugins.rooms.access: '" + access + "' is neither open nor claims");
  }

  void start(Context& ctx) override {
    const auto& cfg = ctx.config();
    waiting_message_ = cfg.getString("waiting_message");
    claims_mode_ = cfg.getString("access") == "claims";
    RoomDirectory::QuestionRules rules;
    rules.min_words = static_cast<std::size_t>(cfg.getInt("question_min_words"));
    rules.interviewer_window =
        std::chrono::milliseconds(cfg.getInt("interviewer_question_window_ms"));
    rules.set_window = std::chrono::milliseconds(cfg.getInt("set_question_window_ms"));
    EventBus* events = &ctx.events();
    directory_ = std::make_shared<RoomDirectory>(
        ctx.websockets(), std::chrono::seconds(cfg.getInt("state_ttl_sec")), rules,
        [events](const Event& e) { events->publish(e); });

    regs_.push_back(
        ctx.metrics().add("ws_rooms_active", "Rooms with at least one local connection.", rooms_));
    regs_.push_back(ctx.services().offer<RoomsService>(kRoomsService, directory_));
    regs_.push_back(
        ctx.access().addAdmissionCheck([this](const Admission& a) { return admit(a); }));
    regs_.push_back(ctx.websockets().attach(
        {{"sync_state_request", "interviewer_question", "set_question"}, /*binary=*/true},
        [this](const SessionPtr& s) { return std::make_unique<Member>(*this, s); }));
    regs_.push_back(
        ctx.timers().every(std::chrono::seconds(60), [this] { directory_->purgeIdle(); }));
  }

  void stop() override { regs_.clear(); }

  // The room a session joins: its room_id, canonical (lower-case), or a fresh one when that is
  // not a UUID.
  static std::string roomFor(const SessionInfo& info) {
    const std::string asked = lower(info.param("room_id"));
    return isUuid(asked) ? asked : std::string();
  }

  // The interview profiles (`role`) the assist and answers plugins know.
  static bool isProfile(const std::string& role) {
    return role == "general" || role == "behavioral" || role == "system_design" ||
           role == "leadership" || role == "coding";
  }

  // Who may come in, before the upgrade is answered.
  Grant admit(const Admission& a) const {
    const std::string& p = a.participant;
    if (p != "candidate" && p != "interviewer" && p != "viewer")
      return Grant::refuse(400, "bad_request",
                           "participant must be candidate, interviewer or viewer, not '" + p + "'");
    for (const auto& [name, value] : a.request.query) {
      if (name == "assist_intensity" && value != "1" && value != "2" && value != "3")
        return Grant::refuse(400, "bad_request",
                             "assist_intensity must be 1, 2 or 3, not '" + value + "'");
      if (name == "role" && !isProfile(value))
        return Grant::refuse(400, "bad_request",
                             "role must be general, behavioral, system_design, leadership or "
                             "coding, not '" +
                                 value + "'");
    }
    if (!claims_mode_ || a.is_operator) return Grant::allow(a.subject);
    std::string room;
    for (const auto& [name, value] : a.request.query)
      if (name == "room_id") room = lower(value);
    const json::Value& claimed_room = a.claims["room_id"];
    if (claimed_room.isNull())
      return Grant::refuse(403, "forbidden", "the token binds no room (claim room_id)");
    if (!isUuid(room) || !claimsRoom(claimed_room, room))
      return Grant::refuse(403, "forbidden", "the token does not grant room '" + room + "'");
    if (a.claims["participant"].asString() != p)
      return Grant::refuse(403, "forbidden", "the token does not grant participant '" + p + "'");
    return Grant::allow(a.subject);
  }

  std::string waiting_message_;
  bool claims_mode_ = false;
  std::shared_ptr<RoomDirectory> directory_;
  std::shared_ptr<Gauge> rooms_ = std::make_shared<Gauge>();
  std::vector<Registration> regs_;
};

Member::Member(RoomsPlugin& plugin, const SessionPtr& session)
    : plugin_(plugin), session_(*session), room_(RoomsPlugin::roomFor(session->info())) {
  const SessionInfo& info = session_.info();
  if (room_.empty()) {
    room_ = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
    session_.send(event("room_assigned", {{"room_id", room_}}, info.id));
  }
  // Checked at admission: absent, or 1, 2 or 3.
  const int intensity = info.param("assist_intensity", "2")[0] - '0';
  if (plugin_.directory_->join(room_, session, intensity) == 1) plugin_.rooms_->add(1);

  session_.send(plugin_.directory_->syncStateJson(room_, info.id));
  const std::string active = plugin_.directory_->state(room_).value_or(RoomState{}).active_question;
  session_.send(
      event("question",
            {{"question", active.empty() ? plugin_.waiting_message_ : active}, {"room_id", room_}},
            info.id));
  if (active.empty() && isCandidate(info))
    plugin_.directory_->broadcast(
        room_, event("waiting_for_interviewer",
                     {{"message", plugin_.waiting_message_}, {"room_id", room_}}, info.id));
}

void Member::onMessage(std::string_view type, const json::Value& message) {
  if (type == "sync_state_request")
    return session_.send(plugin_.directory_->syncStateJson(room_, session_.info().id));
  if (!isInterviewer(session_.info())) return forbidden("only the interviewer asks questions");
  const auto& rules = plugin_.directory_->rules();
  if (type == "interviewer_question") return question(message, "text", rules.interviewer_window);
  question(message, "question", rules.set_window);
}

void Member::onBinary(std::string_view) {
  if (!isViewer(session_.info())) return;  // the candidate's answers, the interviewer's questions
  // A viewer only receives; its audio is refused, at most once a second (it comes 10 frames a
  // second).
  const auto now = session_.scope().now();
  if (now - last_audio_refusal_ < std::chrono::seconds(1)) return;
  last_audio_refusal_ = now;
  forbidden("a viewer sends nothing");
}

void Member::onClose(DisconnectReason) {
  if (plugin_.directory_->leave(session_.info().id) == 0) plugin_.rooms_->sub(1);
}

void Member::forbidden(std::string_view what) {
  session_.send(errorEvent("forbidden", what, session_.info().id));
}

void Member::question(const json::Value& message, const char* field,
                      std::chrono::milliseconds window) {
  const std::string& id = session_.info().id;
  const json::Value& text = message[field];
  if (!text.isString())
    return session_.send(errorEvent(
        "invalid_message", std::string("the question goes in a string \"") + field + "\"", id));
  if (auto refusal = plugin_.directory_->question(room_, std::string(text.asString()),
                                                  session_.info(), window))
    session_.send(errorEvent("question_rejected", *refusal, id));
}

}  // namespace
}  // namespace parley::rooms

PARLEY_PLUGIN(parley::rooms::RoomsPlugin)
