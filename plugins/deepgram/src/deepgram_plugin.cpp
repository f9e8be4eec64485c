// deepgram: live transcription. Each candidate's (and interviewer's) audio goes to a Deepgram live
// stream of its own, opened when the audio starts; results become live captions, candidate turns
// (transcript to the room, turn.finalized on the bus) and the interviewer's spoken questions.
// Without an API key, or with mode=client, the browser transcribes and sends
// candidate_transcript: the same turns follow.
#include <parley/sdk/errors.hpp>
#include <parley/sdk/plugin.hpp>
#include <parley/sdk/services/rooms.hpp>

#include "transcriber.hpp"

namespace parley::deepgram {
namespace {

using namespace parley::sdk;

// A viewer only listens: its transcripts are refused (its audio, by the rooms plugin).
class ViewerRefusal final : public SessionHandler {
 public:
  explicit ViewerRefusal(Session& session) : session_(session) {}
  void onMessage(std::string_view, const json::Value&) override {
    session_.send(errorEvent("forbidden", "a viewer sends nothing", session_.info().id));
  }

 private:
  Session& session_;
};

// Every other session's: it says who transcribes at join, and makes the session's Transcriber (half
// a kilobyte of audio and turn state) at its first transcript or audio frame, so that the many
// sessions that never speak (interviewers typing, idle tabs) cost a pointer.
class Speaker final : public SessionHandler {
 public:
  Speaker(Shared& shared, Session& session, const std::string& room)
      : shared_(shared), session_(session) {
    // The server transcribes (send PCM at this rate), or the client does (candidate_transcript).
    json::Writer w;
    w.beginObject().field("type", "stt_mode").field("room_id", room);
    w.field("mode", shared.settings.use_deepgram ? "deepgram" : "client");
    w.field("sample_rate", static_cast<std::int64_t>(shared.settings.bytes_per_second / 2));
    session.send(w.field("session_id", session.info().id).endObject().take());
  }

  void onMessage(std::string_view type, const json::Value& message) override {
    transcriber().onMessage(type, message);
  }
  void onBinary(std::string_view bytes) override {
    if (shared_.settings.use_deepgram)
      transcriber().onBinary(bytes);  // else the client transcribes
  }
  void onClose(DisconnectReason reason) override {
    if (transcriber_) transcriber_->onClose(reason);
  }

 private:
  Transcriber& transcriber() {
    if (!transcriber_)
      transcriber_ = std::make_unique<Transcriber>(shared_, session_,
                                                   shared_.rooms->roomOf(session_.info().id));
    return *transcriber_;
  }

  Shared& shared_;
  Session& session_;
  std::unique_ptr<Transcriber> transcriber_;
};

class DeepgramPlugin final : public Plugin {
 public:
  Descriptor describe() const override {
    Descriptor d;
    d.id = "deepgram";
    d.version = "1.0.0";
    d.summary = "Live transcription with Deepgram (or the browser's), turns and the turn limit.";
    d.dependencies = {"rooms"};
    d.config = {
        {"mode", ConfigType::kString, "deepgram",
         "deepgram: the server streams audio to Deepgram (text mode when api_key is empty); "
         "client: the browser transcribes and sends candidate_transcript."},
        {"url", ConfigType::kString, "wss://api.deepgram.com/v1/listen",
         "Deepgram's live endpoint (ws:// or wss://)."},
        {"api_key",
         ConfigType::kString,
         "",
         "Deepgram API key; put it in the environment as PARLEY_PLUGINS_DEEPGRAM_API_KEY.",
         {},
         {},
         true},
        {"max_turns", ConfigType::kInt, "50",
         "Candidate turns per session; then final_summary and the session closes.", 1, 10000},
        {"model", ConfigType::kString, "nova-3", "Deepgram model."},
        {"language", ConfigType::kString, "en", "Language of the audio."},
        {"sample_rate", ConfigType::kInt, "16000", "Audio sample rate (16-bit LE PCM, mono).", 8000,
         48000},
        {"endpointing_ms", ConfigType::kInt, "300", "Silence before Deepgram marks speech_final.",
         10, 5000},
        {"utterance_end_ms", ConfigType::kInt, "1000",
         "Gap in words before Deepgram sends UtteranceEnd (1000 or more).", 1000, 10000},
        {"smart_format", ConfigType::kBool, "true", "Punctuation and formatting of transcripts."},
        {"silence_ms", ConfigType::kInt, "800",
         "Silence after the end of an utterance that ends the candidate's turn.", 0, 60000},
        {"min_turn_words", ConfigType::kInt, "4", "Words a turn needs; fewer wait for more.", 1,
         100},
        {"keepalive_ms", ConfigType::kInt, "4000",
         "KeepAlive sent this often while no audio flows (Deepgram closes after ~10 s).", 500,
         9000},
        {"retry_budget", ConfigType::kInt, "3",
         "Reconnections after 429, 5xx, 1011 or a lost connection before the session ends with "
         "deepgram_error.",
         0, 20},
        {"retry_backoff_ms", ConfigType::kInt, "250",
         "First retry delay; it doubles (with jitter) up to 5 s.", 10, 5000},
        {"max_queued_audio_bytes", ConfigType::kInt, "262144",
         "Audio waiting for Deepgram past which the client's reads pause.", 4096, 16777216},
        {"connect_timeout_ms", ConfigType::kInt, "5000", "Connect and TLS handshake timeout.", 100,
         60000},
    };
    return d;
  }

  void configure(const PluginConfig& cfg) override {
    const std::string& mode = cfg.getString("mode");
    if (mode != "deepgram" && mode != "client")
      throw ConfigError("plugins.deepgram.mode: '" + mode + "' is neither deepgram nor client");
    const std::string& url = cfg.getString("url");
    if (url.rfind("ws://", 0) != 0 && url.rfind("wss://", 0) != 0)
      throw ConfigError("plugins.deepgram.url: '" + url + "' is not a ws:// or wss:// URL");
  }

  void start(Context& ctx) override {
    const PluginConfig& cfg = ctx.config();
    Settings& s = shared_.settings;
    s.api_key = cfg.getString("api_key");
    s.use_deepgram = cfg.getString("mode") == "deepgram" && !s.api_key.empty();
    const auto rate = cfg.getInt("sample_rate");
    s.bytes_per_second = static_cast<std::uint64_t>(rate) * 2;
    auto flag = [&](const char* key) { return cfg.getBool(key) ? "true" : "false"; };
    std::string url = cfg.getString("url");
    url += url.find('?') == std::string::npos ? "?" : "&";
    url += "model=" + cfg.getString("model") + "&language=" + cfg.getString("language") +
           "&encoding=linear16&sample_rate=" + std::to_string(rate) +
           "&channels=1&interim_results=true&endpointing=" +
           std::to_string(cfg.getInt("endpointing_ms")) +
           "&utterance_end_ms=" + std::to_string(cfg.getInt("utterance_end_ms")) +
           "&vad_events=true&punctuate=true&smart_format=" + flag("smart_format") +
           "&filler_words=true";
    s.url = std::move(url);
    s.max_turns = static_cast<std::size_t>(cfg.getInt("max_turns"));
    s.min_turn_words = static_cast<std::size_t>(cfg.getInt("min_turn_words"));
    s.silence = std::chrono::milliseconds(cfg.getInt("silence_ms"));
    s.keepalive = std::chrono::milliseconds(cfg.getInt("keepalive_ms"));
    s.retry_budget = static_cast<int>(cfg.getInt("retry_budget"));
    s.retry_backoff = std::chrono::milliseconds(cfg.getInt("retry_backoff_ms"));
    s.max_queued_audio = static_cast<std::size_t>(cfg.getInt("max_queued_audio_bytes"));
    s.timeouts.connect = s.timeouts.tls_handshake =
        std::chrono::milliseconds(cfg.getInt("connect_timeout_ms"));
    s.timeouts.idle = std::chrono::milliseconds(0);  // silence is normal; KeepAlive covers it

    shared_.upstreams = &ctx.upstreams();
    shared_.events = &ctx.events();
    shared_.log = &ctx.log();
    shared_.rooms = ctx.services().find<RoomsService>(kRoomsService);
    if (!shared_.rooms)
      throw std::runtime_error("the rooms service (parley.rooms.v1) is not offered");
    ctx.log().info(s.use_deepgram
                       ? "transcribing with Deepgram at " + cfg.getString("url")
                       : "text mode: clients send candidate_transcript (no Deepgram API key, or "
                         "mode=client)");

    auto& metrics = ctx.metrics();
    regs_.push_back(metrics.add(AverageSpec{"avg_latency_ms", "latency_total_ms", "latency_samples",
                                            "Turn finalization latency.", 2},
                                shared_.latency_ms));
    regs_.push_back(metrics.add("turns_finalized", "Candidate turns finalized.", shared_.turns));
    regs_.push_back(
        metrics.add("deepgram_streams", "Deepgram live streams opened.", shared_.streams));
    regs_.push_back(metrics.add("deepgram_reconnects",
                                "Deepgram streams reopened after an interruption.",
                                shared_.reconnects));
    regs_.push_back(metrics.add("deepgram_streams_open", "Deepgram live streams open now.",
                                shared_.streams_open));

    regs_.push_back(ctx.websockets().attach(
        {{"candidate_transcript"}, /*binary=*/true},
        [this](const SessionPtr& s) -> std::unique_ptr<SessionHandler> {
          if (isViewer(s->info())) return std::make_unique<ViewerRefusal>(*s);
          return std::make_unique<Speaker>(shared_, *s, shared_.rooms->roomOf(s->info().id));
        }));
  }

  void stop() override { regs_.clear(); }

 private:
  Shared shared_;
  std::vector<Registration> regs_;
};

}  // namespace
}  // namespace parley::deepgram

PARLEY_PLUGIN(parley::deepgram::DeepgramPlugin)
