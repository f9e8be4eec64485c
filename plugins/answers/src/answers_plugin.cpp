// answers: a suggested answer to every question asked in a room, streamed to the room as it is
// written: by any OpenAI-compatible chat endpoint (OpenAI, llama.cpp's server, vLLM, Ollama), or
// offline from prepared answers. Depends on rooms.
#include <parley/sdk/errors.hpp>
#include <parley/sdk/plugin.hpp>
#include <parley/sdk/services/rooms.hpp>

#include <fstream>
#include <sstream>

#include "streams.hpp"

namespace parley::answers {

extern const char* const kDefaultAnswers;

namespace {

using namespace parley::sdk;

// The stop button, and what a session says about the interview (the prompt's profile).
class Control final : public SessionHandler {
 public:
  Control(Session& session, std::string room, std::shared_ptr<Scope> scope,
          std::shared_ptr<Streams> streams)
      : session_(session),
        room_(std::move(room)),
        scope_(std::move(scope)),
        streams_(std::move(streams)) {
    const SessionInfo& info = session.info();
    if (info.param("role").empty() && info.param("jd").empty() && info.param("resume").empty())
      return;
    Profile p;
    p.role = info.param("role", "general");
    p.jd = info.param("jd");
    p.resume = info.param("resume");
    p.answer_language = info.param("answer_language", "en");
    scope_->post([streams = streams_, room = room_, p] { streams->profile(room, p); });
  }

  void onMessage(std::string_view, const json::Value&) override {  // stop_answer_generation
    if (!isInterviewer(session_.info()))
      return session_.send(
          errorEvent("forbidden", "only the interviewer stops answers", session_.info().id));
    scope_->post([streams = streams_, room = room_] { streams->stop(room); });
  }

 private:
  Session& session_;
  std::string room_;
  std::shared_ptr<Scope> scope_;
  std::shared_ptr<Streams> streams_;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("plugins.answers.answers_file: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class AnswersPlugin final : public Plugin {
 public:
  Descriptor describe() const override {
    Descriptor d;
    d.id = "answers";
    d.version = "1.0.0";
    d.summary = "Answer suggestions streamed for each question, by an LLM or offline.";
    d.dependencies = {"rooms"};
    d.config = {
        {"provider", ConfigType::kString, "offline",
         "offline: prepared answers, no network; openai: any OpenAI-compatible streaming chat "
         "endpoint."},
        {"base_url", ConfigType::kString, "https://api.openai.com",
         "The provider's base URL, without /v1 (Ollama: http://localhost:11434)."},
        {"api_key",
         ConfigType::kString,
         "",
         "The provider's key (PARLEY_PLUGINS_ANSWERS_API_KEY); empty sends none.",
         {},
         {},
         true},
        {"model", ConfigType::kString, "gpt-4o-mini", "The model to ask."},
        {"answers_file", ConfigType::kString, "",
         "Prepared answers (Markdown sections); empty: the ones shipped in etc/answers.md."},
        {"connect_timeout_ms", ConfigType::kInt, "5000", "Connect and TLS handshake timeout.", 100,
         60000},
        {"first_token_timeout_ms", ConfigType::kInt, "10000",
         "The first words must come within this; else the offline answer (timeout_fallback).", 100,
         600000},
        {"total_timeout_ms", ConfigType::kInt, "60000",
         "The whole answer must come within this; else the offline answer (timeout_fallback).", 100,
         3600000},
        {"chunk_delay_ms", ConfigType::kInt, "40",
         "The offline provider's pace: one chunk of a few words this often.", 0, 10000},
    };
    return d;
  }

  void configure(const PluginConfig& cfg) override {
    const std::string& provider = cfg.getString("provider");
    if (provider != "offline" && provider != "openai")
      throw ConfigError("plugins.answers.provider: '" + provider +
                        "' is neither offline nor openai");
    const std::string& url = cfg.getString("base_url");
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
      throw ConfigError("plugins.answers.base_url: '" + url + "' is not an http(s) URL");
    const std::string& file = cfg.getString("answers_file");
    const std::string where = file.empty() ? "etc/answers.md (built in)" : file;
    try {
      prepared_ = parseAnswers(file.empty() ? kDefaultAnswers : readFile(file));
    } catch (const AnswersFileError& e) {
      throw ConfigError("plugins.answers.answers_file: " + where + ":" + std::to_string(e.line) +
                        ": " + e.what());
    }
    if (prepared_.empty())
      throw ConfigError("plugins.answers.answers_file: " + where + ": no '## ' section");
  }

  void start(Context& ctx) override {
    const PluginConfig& cfg = ctx.config();
    Settings s;
    s.openai = cfg.getString("provider") == "openai";
    s.base_url = cfg.getString("base_url");
    while (!s.base_url.empty() && s.base_url.back() == '/') s.base_url.pop_back();
    s.api_key = cfg.getString("api_key");
    s.model = cfg.getString("model");
    s.connect_timeout = std::chrono::milliseconds(cfg.getInt("connect_timeout_ms"));
    s.first_token_timeout = std::chrono::milliseconds(cfg.getInt("first_token_timeout_ms"));
    s.total_timeout = std::chrono::milliseconds(cfg.getInt("total_timeout_ms"));
    s.chunk_delay =
        std::chrono::milliseconds(std::max<std::int64_t>(1, cfg.getInt("chunk_delay_ms")));
    rooms_ = ctx.services().find<RoomsService>(kRoomsService);
    if (!rooms_) throw std::runtime_error("the rooms service (parley.rooms.v1) is not offered");
    ctx.log().info(s.openai ? "answers from " + s.base_url + " (" + s.model + ")"
                            : "answers offline, from " + std::to_string(prepared_.size()) +
                                  " prepared answers");

    scope_ = ctx.scopes().create();  // every stream lives here: no lock anywhere below
    streams_ = std::make_shared<Streams>(s, *scope_, ctx.upstreams(), *rooms_, ctx.events(),
                                         ctx.log(), instruments_, OfflineAnswers(prepared_));

    auto& metrics = ctx.metrics();
    regs_.push_back(
        metrics.add("answer_streams_started", "Answer streams started.", instruments_.started));
    regs_.push_back(metrics.add("answer_streams_cancelled", "Answer streams cancelled.",
                                instruments_.cancelled));
    regs_.push_back(
        metrics.add(AverageSpec{"avg_stream_duration", "stream_duration_total_sec",
                                "stream_duration_samples", "Answer stream duration in seconds.", 4},
                    instruments_.duration_s));
    std::vector<std::string> endings;
    for (std::size_t e = 0; e < static_cast<std::size_t>(Ending::kEndings); ++e)
      endings.emplace_back(endingName(static_cast<Ending>(e)));
    regs_.push_back(metrics.add(
        LabeledSpec{"answer_stream_endings", "reason", endings, "How answer streams ended."},
        instruments_.endings));

    // Questions come from any loop; the streams live on the plugin's scope.
    regs_.push_back(ctx.events().subscribe("room.question", [this](const Event& e) {
      json::Value q;
      if (!json::parse(e.json, q)) return;
      scope_->post([streams = streams_, room = std::string(q["room_id"].asString()),
                    text = std::string(q["question"].asString()),
                    session = std::string(q["session_id"].asString())] {
        streams->question(room, text, session);
      });
    }));
    regs_.push_back(rooms_->onMembership([this](const std::string& room, std::size_t members) {
      if (members == 0) scope_->post([streams = streams_, room] { streams->roomEmptied(room); });
    }));
    regs_.push_back(ctx.websockets().attach(
        {{"stop_answer_generation"}, /*binary=*/false},
        [this](const SessionPtr& s) -> std::unique_ptr<SessionHandler> {
          return std::make_unique<Control>(*s, rooms_->roomOf(s->info().id), scope_, streams_);
        }));
  }

  // Registrations are revoked and the scope closed by now: nothing runs the streams any more.
  void stop() override {
    regs_.clear();
    streams_.reset();
    scope_.reset();
  }

 private:
  std::vector<PreparedAnswer> prepared_;
  Instruments instruments_;
  std::shared_ptr<RoomsService> rooms_;
  std::shared_ptr<Scope> scope_;
  std::shared_ptr<Streams> streams_;
  std::vector<Registration> regs_;
};

}  // namespace
}  // namespace parley::answers

PARLEY_PLUGIN(parley::answers::AnswersPlugin)
