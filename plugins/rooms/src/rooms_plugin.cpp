// rooms: sessions that share a room_id form a room. Membership, room broadcast, the room state
// behind sync_state, and the interviewer's questions; offered to other plugins as
// "parley.rooms.v1". It also owns the websocket connection and disconnect metrics, since every
// session passes through it.
#include <parley/sdk/json.hpp>
#include <parley/sdk/plugin.hpp>
#include <parley/sdk/services/rooms.hpp>

#include <Poco/JSON/Parser.h>
#include <Poco/UUIDGenerator.h>

#include <algorithm>

#include "questions.hpp"
#include "room_directory.hpp"

namespace parley::rooms {
namespace {

using namespace parley::sdk;

constexpr std::size_t kReasons = 7;  // DisconnectReason::kClientDisconnect .. kOther

// {"type":<type>, <fields...>, "session_id":<id>}, string fields only.
std::string event(const char* type,
                  std::initializer_list<std::pair<const char*, std::string>> fields,
                  const std::string& session_id) {
  std::string json = "{\"type\":\"";
  json += type;
  json += '"';
  for (const auto& [name, value] : fields) {
    json += ",\"";
    json += name;
    json += "\":";
    appendJsonString(json, value);
  }
  json += ",\"session_id\":";
  appendJsonString(json, session_id);
  return json + "}";
}

// The string field `name` of a client message, if it has one.
std::optional<std::string> stringField(const std::string& json, const char* name) {
  try {
    Poco::JSON::Parser parser;
    auto object = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
    const Poco::Dynamic::Var v = object->get(name);
    if (v.isString()) return v.extract<std::string>();
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

class RoomsPlugin : public Plugin {
 public:
  Descriptor describe() const override {
    Descriptor d;
    d.id = "rooms";
    d.version = "1.0.0";
    d.summary = "Rooms of websocket sessions: membership, broadcast, sync_state, questions.";
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
    };
    return d;
  }

  void start(Context& ctx) override {
    const auto& cfg = ctx.config();
    interviewer_window_ = std::chrono::milliseconds(cfg.getInt("interviewer_question_window_ms"));
    set_window_ = std::chrono::milliseconds(cfg.getInt("set_question_window_ms"));
    waiting_message_ = cfg.getString("waiting_message");
    questions_ =
        std::make_unique<QuestionGate>(static_cast<std::size_t>(cfg.getInt("question_min_words")));
    ws_ = &ctx.websockets();
    events_ = &ctx.events();
    directory_ =
        std::make_shared<RoomDirectory>(*ws_, std::chrono::seconds(cfg.getInt("state_ttl_sec")));

    auto& metrics = ctx.metrics();
    regs_.push_back(
        metrics.add("ws_connections_active", "Open websocket connections.", connections_));
    regs_.push_back(
        metrics.add("ws_rooms_active", "Rooms with at least one local connection.", rooms_));
    CategorySpec disconnects{"ws_disconnects_total", {}, "Websocket disconnects, by reason."};
    for (std::size_t r = 0; r < kReasons; ++r)
      disconnects.names.push_back(std::string("ws_disconnect_") +
                                  reasonName(static_cast<DisconnectReason>(r)));
    regs_.push_back(metrics.add(disconnects, disconnects_));

    regs_.push_back(ctx.services().provide(kRoomsService, directory_));
    regs_.push_back(ws_->onOpen([this](const SessionPtr& s) { opened(s); }));
    regs_.push_back(
        ws_->onClose([this](const SessionPtr& s, DisconnectReason r) { closed(s, r); }));
    regs_.push_back(
        ws_->onMessage("sync_state_request", [this](const SessionPtr& s, const std::string&) {
          s->send(directory_->syncStateJson(directory_->roomOf(s->info().id), s->info().id));
        }));
    regs_.push_back(ws_->onMessage(
        "interviewer_question", [this](const SessionPtr& s, const std::string& json) {
          question(s, stringField(json, "text"), "text", interviewer_window_);
        }));
    regs_.push_back(
        ws_->onMessage("set_question", [this](const SessionPtr& s, const std::string& json) {
          question(s, stringField(json, "question"), "question", set_window_);
        }));
    regs_.push_back(ctx.timers().every(std::chrono::seconds(60), [this] {
      for (const auto& room : directory_->purgeIdle()) questions_->forgetRoom(room);
    }));
  }

  void stop() override { regs_.clear(); }

 private:
  void opened(const SessionPtr& s) {
    const SessionInfo& info = s->info();
    std::string room = info.param("room_id");
    if (!isUuid(room)) {
      room = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
      s->send(event("room_assigned", {{"room_id", room}}, info.id));
    }
    int intensity = 2;
    try {
      intensity = std::clamp(std::stoi(info.param("assist_intensity", "2")), 1, 3);
    } catch (const std::exception&) {
    }
    connections_->add(1);
    if (directory_->join(room, s, intensity) == 1) rooms_->add(1);

    s->send(directory_->syncStateJson(room, info.id));
    const std::string active = directory_->state(room).value_or(RoomState{}).active_question;
    s->send(event("question",
                  {{"question", active.empty() ? waiting_message_ : active}, {"room_id", room}},
                  info.id));
    if (active.empty() && info.participant == "candidate")
      directory_->broadcast(
          room, event("waiting_for_interviewer", {{"message", waiting_message_}, {"room_id", room}},
                      info.id));
  }

  void closed(const SessionPtr& s, DisconnectReason reason) {
    const long remaining = directory_->leave(s->info().id);
    if (remaining >= 0) connections_->sub(1);
    if (remaining == 0) rooms_->sub(1);
    disconnects_->inc(static_cast<std::size_t>(reason));
  }

  void question(const SessionPtr& s, const std::optional<std::string>& text, const char* field,
                std::chrono::milliseconds window) {
    const std::string& id = s->info().id;
    if (!text) {
      s->send(event("error",
                    {{"code", "invalid_message"},
                     {"message", std::string("the question goes in a string \"") + field + "\""}},
                    id));
      return;
    }
    const std::string room = directory_->roomOf(id);
    if (auto refusal = questions_->admit(room, *text, window)) {
      s->send(event("error", {{"code", "question_rejected"}, {"message", *refusal}}, id));
      return;
    }
    directory_->updateState(room, [&](RoomState& st) { st.active_question = *text; });
    directory_->broadcast(
        room, event("interviewer_question", {{"question", *text}, {"room_id", room}}, id));
    std::string payload = "{\"room_id\":";
    appendJsonString(payload, room);
    payload += ",\"question\":";
    appendJsonString(payload, *text);
    payload += ",\"session_id\":";
    appendJsonString(payload, id);
    payload += ",\"participant\":";
    appendJsonString(payload, s->info().participant);
    events_->publish({"room.question", payload + "}"});
  }

  std::chrono::milliseconds interviewer_window_{3000};
  std::chrono::milliseconds set_window_{5000};
  std::string waiting_message_;
  std::unique_ptr<QuestionGate> questions_;
  WebSockets* ws_ = nullptr;
  EventBus* events_ = nullptr;
  std::shared_ptr<RoomDirectory> directory_;
  std::shared_ptr<Gauge> connections_ = std::make_shared<Gauge>();
  std::shared_ptr<Gauge> rooms_ = std::make_shared<Gauge>();
  std::shared_ptr<CategoryCounter> disconnects_ = std::make_shared<CategoryCounter>(kReasons);
  std::vector<Registration> regs_;
};

}  // namespace
}  // namespace parley::rooms

PARLEY_PLUGIN(parley::rooms::RoomsPlugin)
