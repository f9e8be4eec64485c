// assist: live coaching. Follows each candidate's speech (the transcription's bus events) and the
// room (questions, answer streams, the interviewer speaking, from any instance), and sends
// assist_hint to the candidate and tone-pressure events to the room. Rules and word lists are data
// (etc/assist/). Depends on rooms; deepgram gives it the words.
#include <parley/sdk/errors.hpp>
#include <parley/sdk/plugin.hpp>
#include <parley/sdk/services/rooms.hpp>

#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "coach.hpp"

namespace parley::assist {

extern const char* const kDefaultRules;
extern const char* const kDefaultLexicons;

namespace {

using namespace parley::sdk;

std::string readFile(const std::string& key, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("plugins.assist." + key + ": cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The coaches of this instance's candidate sessions, by session and by room. Bus and room events
// arrive on any thread; each is posted to its coach's session scope.
class Coaches {
 public:
  struct Entry {
    SessionPtr session;
    std::shared_ptr<Coach> coach;
    std::string room;
  };
  void add(Entry e) {
    std::lock_guard lock(mutex_);
    rooms_[e.room].push_back(e.session->info().id);
    by_session_[e.session->info().id] = std::move(e);
  }
  void remove(const std::string& session_id) {
    std::lock_guard lock(mutex_);
    auto it = by_session_.find(session_id);
    if (it == by_session_.end()) return;
    auto& ids = rooms_[it->second.room];
    ids.erase(std::remove(ids.begin(), ids.end(), session_id), ids.end());
    if (ids.empty()) rooms_.erase(it->second.room);
    by_session_.erase(it);
  }
  // Runs `task` on the session's coach, on its scope.
  void post(const std::string& session_id, std::function<void(Coach&)> task) {
    std::lock_guard lock(mutex_);
    auto it = by_session_.find(session_id);
    if (it != by_session_.end()) postLocked(it->second, std::move(task));
  }
  void postRoom(const std::string& room, const std::function<void(Coach&)>& task) {
    std::lock_guard lock(mutex_);
    auto r = rooms_.find(room);
    if (r == rooms_.end()) return;
    for (const auto& id : r->second) postLocked(by_session_.at(id), task);
  }
  bool inRoom(const std::string& room) const {
    std::lock_guard lock(mutex_);
    return rooms_.count(room) > 0;
  }

 private:
  static void postLocked(const Entry& e, std::function<void(Coach&)> task) {
    e.session->scope().post([coach = e.coach, task = std::move(task)] { task(*coach); });
  }
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> by_session_;
  std::unordered_map<std::string, std::vector<std::string>> rooms_;
};

// Holds a candidate session's coach in the registry for as long as the session lives.
class Attachment final : public SessionHandler {
 public:
  Attachment(Coaches& coaches, Coaches::Entry entry)
      : coaches_(coaches), id_(entry.session->info().id) {
    coach_ = entry.coach;
    coaches_.add(std::move(entry));
  }
  ~Attachment() override { coaches_.remove(id_); }
  void onClose(DisconnectReason) override {
    coaches_.remove(id_);
    coach_->close();
  }

 private:
  Coaches& coaches_;
  std::string id_;
  std::shared_ptr<Coach> coach_;
};

// The room events a coach follows, recognised without parsing the others (answer chunks, most of
// all, are frequent).
bool mayMatter(const std::string& json) {
  for (const char* type : {"\"answer_suggestion_start\"", "\"answer_suggestion_done\"",
                           "\"interviewer_question\"", "\"partial_transcript\""})
    if (json.find(type) != std::string::npos) return true;
  return false;
}

class AssistPlugin final : public Plugin {
 public:
  Descriptor describe() const override {
    Descriptor d;
    d.id = "assist";
    d.version = "1.0.0";
    d.summary = "Coaching hints for the candidate and tone-pressure events for the room.";
    d.dependencies = {"rooms"};
    d.config = {
        {"rules_file", ConfigType::kString, "",
         "Rules of the hints and the tone events (INI); empty: the built-in etc/assist/rules.ini."},
        {"lexicons_file", ConfigType::kString, "",
         "Word lists the rules use; empty: the built-in etc/assist/lexicons.txt."},
        {"window_sec", ConfigType::kInt, "20",
         "The candidate's recent speech the rules judge, in seconds.", 5, 600},
    };
    return d;
  }

  void configure(const PluginConfig& cfg) override {
    const std::string& rules = cfg.getString("rules_file");
    const std::string& lexicons = cfg.getString("lexicons_file");
    try {
      data_ = std::make_shared<AssistData>(
          loadData(rules.empty() ? kDefaultRules : readFile("rules_file", rules),
                   lexicons.empty() ? kDefaultLexicons : readFile("lexicons_file", lexicons)));
    } catch (const DataFileError& e) {
      const std::string key = e.in_lexicons ? "lexicons_file" : "rules_file";
      const std::string& path = e.in_lexicons ? lexicons : rules;
      const std::string where = !path.empty()   ? path
                                : e.in_lexicons ? "etc/assist/lexicons.txt (built in)"
                                                : "etc/assist/rules.ini (built in)";
      throw ConfigError("plugins.assist." + key + ": " + where + ":" + std::to_string(e.line) +
                        ": " + e.what());
    }
  }

  void start(Context& ctx) override {
    rooms_ = ctx.services().find<RoomsService>(kRoomsService);
    if (!rooms_) throw std::runtime_error("the rooms service (parley.rooms.v1) is not offered");
    window_ = std::chrono::seconds(ctx.config().getInt("window_sec"));
    bus_ = &ctx.events();
    ctx.log().info(std::to_string(data_->rules.size()) + " assist rules");

    auto& metrics = ctx.metrics();
    std::vector<std::string> rule_ids;
    for (const auto& r : data_->rules) rule_ids.push_back(r.id);
    by_rule_ = std::make_shared<CategoryCounter>(rule_ids.size());
    by_event_ = std::make_shared<CategoryCounter>(std::size(kToneEvents));
    regs_.push_back(
        metrics.add("assist_hints_emitted", "Assist hints sent to candidates.", hints_));
    regs_.push_back(metrics.add("emotional_events_emitted",
                                "Tone-pressure events broadcast to rooms.", events_));
    regs_.push_back(metrics.add(
        LabeledSpec{"assist_hints_by_rule", "rule", rule_ids, "Assist hints by rule."}, by_rule_));
    regs_.push_back(metrics.add(
        LabeledSpec{"emotional_events_by_type", "type",
                    std::vector<std::string>(std::begin(kToneEvents), std::end(kToneEvents)),
                    "Tone-pressure events by type."},
        by_event_));

    regs_.push_back(ctx.websockets().attach(
        {{}, /*binary=*/false}, [this](const SessionPtr& s) -> std::unique_ptr<SessionHandler> {
          if (!isCandidate(s->info())) return nullptr;
          return std::make_unique<Attachment>(coaches_, entryFor(s));
        }));

    // The candidate's speech, from the transcription (on the candidate's own loop).
    auto& bus = ctx.events();
    auto on = [this, &bus](const char* topic, std::function<void(Coach&, const json::Value&)> f) {
      regs_.push_back(bus.subscribe(topic, [this, f](const Event& e) {
        auto v = std::make_shared<json::Value>();
        if (!json::parse(e.json, *v)) return;
        coaches_.post(std::string((*v)["session_id"].asString()), [f, v](Coach& c) { f(c, *v); });
      }));
    };
    on("transcript.partial", [](Coach& c, const json::Value& v) { c.transcript(v); });
    on("turn.pending", [](Coach& c, const json::Value&) { c.turnPending(); });
    on("turn.finalized", [](Coach& c, const json::Value&) { c.turnFinalized(); });
    on("transcript.speech_started", [](Coach& c, const json::Value&) { c.speechStarted(); });

    // The room, from whichever instance.
    regs_.push_back(rooms_->onEvent([this](const std::string& room, const std::string& json) {
      if (!mayMatter(json) || !coaches_.inRoom(room)) return;
      json::Value v;
      if (!json::parse(json, v)) return;
      const std::string type(v["type"].asString());
      if (type == "answer_suggestion_start" || type == "answer_suggestion_done") {
        const bool streaming = type == "answer_suggestion_start";
        coaches_.postRoom(room, [streaming](Coach& c) { c.answerStreaming(streaming); });
      } else if (type == "interviewer_question") {
        coaches_.postRoom(room,
                          [q = std::string(v["question"].asString())](Coach& c) { c.question(q); });
      } else if (type == "partial_transcript" && v["participant"].asString() == "interviewer") {
        coaches_.postRoom(room, [](Coach& c) { c.interviewerSpeaking(); });
      }
    }));
  }

  void stop() override { regs_.clear(); }

 private:
  Coaches::Entry entryFor(const SessionPtr& s) {
    const SessionInfo& info = s->info();
    CoachSettings settings;
    settings.session_id = info.id;
    settings.room_id = rooms_->roomOf(info.id);
    settings.profile = info.param("role", "general");
    const auto state = rooms_->state(settings.room_id);
    const std::string& asked = info.param("assist_intensity");
    settings.intensity = asked == "1" || asked == "2" || asked == "3"
                             ? asked[0] - '0'
                             : (state ? std::clamp(state->assist_intensity, 1, 3) : 2);
    settings.window = window_;
    CoachOutputs out;
    Session* session = s.get();  // the coach is closed before the session goes
    out.hint = [this, session](std::size_t rule, const std::string& json) {
      session->send(json);
      bus_->publish({"assist.hint", json});  // the same event, for the session's journal
      hints_->inc();
      by_rule_->inc(rule);
    };
    out.event = [this, room = settings.room_id](std::size_t type, const std::string& json) {
      rooms_->broadcast(room, json);
      events_->inc();
      by_event_->inc(type);
    };
    auto coach = std::make_shared<Coach>(data_, settings, s->scope(), std::move(out));
    if (state) {
      coach->question(state->active_question);
      coach->answerStreaming(state->is_streaming);
    }
    return {s, std::move(coach), settings.room_id};
  }

  std::shared_ptr<const AssistData> data_;
  std::chrono::milliseconds window_{20000};
  std::shared_ptr<RoomsService> rooms_;
  EventBus* bus_ = nullptr;
  Coaches coaches_;
  std::shared_ptr<Counter> hints_ = std::make_shared<Counter>();
  std::shared_ptr<Counter> events_ = std::make_shared<Counter>();
  std::shared_ptr<CategoryCounter> by_rule_, by_event_;
  std::vector<Registration> regs_;
};

}  // namespace
}  // namespace parley::assist

PARLEY_PLUGIN(parley::assist::AssistPlugin)
