// One session's transcription: its Deepgram live stream (opened when its audio starts, kept alive,
// retried within a budget, paced so that a slow Deepgram pauses the client's reads), and the turns
// its results make. Every call runs on the session's scope: no lock.
#pragma once

#include <parley/sdk/context.hpp>
#include <parley/sdk/services/rooms.hpp>

#include <list>
#include <memory>
#include <string>

#include "audio_clock.hpp"
#include "turns.hpp"

namespace parley::deepgram {

struct Settings {
  bool use_deepgram = false;  // false: text mode (candidate_transcript from the client)
  std::string url;            // with its query
  std::string api_key;
  std::size_t max_turns = 50;
  std::size_t min_turn_words = 4;
  std::chrono::milliseconds silence{800};
  std::chrono::milliseconds keepalive{4000};
  int retry_budget = 3;
  std::chrono::milliseconds retry_backoff{250};
  std::size_t max_queued_audio = 256 * 1024;
  std::uint64_t bytes_per_second = 32000;
  sdk::UpstreamTimeouts timeouts;
};

// What every session's Transcriber shares: the plugin's settings, services and instruments.
struct Shared {
  Settings settings;
  sdk::Upstreams* upstreams = nullptr;
  sdk::EventBus* events = nullptr;
  sdk::Logger* log = nullptr;
  std::shared_ptr<sdk::RoomsService> rooms;
  std::shared_ptr<sdk::Histogram> latency_ms =
      std::make_shared<sdk::Histogram>(sdk::Histogram::millisecondBuckets());
  std::shared_ptr<sdk::Counter> turns = std::make_shared<sdk::Counter>();
  std::shared_ptr<sdk::Counter> streams = std::make_shared<sdk::Counter>();
  std::shared_ptr<sdk::Counter> reconnects = std::make_shared<sdk::Counter>();
  std::shared_ptr<sdk::Gauge> streams_open = std::make_shared<sdk::Gauge>();
};

class Transcriber final : public sdk::SessionHandler {
 public:
  using Clock = std::chrono::steady_clock;
  Transcriber(Shared& shared, sdk::Session& session, std::string room);
  ~Transcriber() override;

  void onMessage(std::string_view type, const sdk::json::Value& message) override;
  void onBinary(std::string_view bytes) override;
  void onClose(sdk::DisconnectReason reason) override;

 private:
  enum class Upstream { kNone, kConnecting, kOpen, kWaiting, kFailed };

  // Deepgram.
  void connect();
  void opened(const sdk::Fields& headers);
  void received(std::string_view text);
  void closed(const sdk::UpstreamResult& result);
  void forward(std::string_view frame, Clock::time_point received);
  void hold(std::string_view frame, Clock::time_point received);
  void flushHeld();
  void retryOrFail(const std::string& why);
  void fail(const std::string& code, const std::string& message);
  void keepAlive();
  void pace();

  // Transcripts and turns.
  void results(const Piece& piece);
  void speech();  // somebody is speaking: the silence window waits
  void utteranceEnded(const Utterance& u, Clock::time_point last_word_at);
  void silenceOver();
  void emitTurn();
  void warn(const std::string& code, const std::string& message);
  void broadcast(const std::string& json);
  void publish(const char* topic, const sdk::json::Writer& payload);
  sdk::json::Writer eventOf(const char* type) const;

  Shared& shared_;
  sdk::Session& session_;
  const std::string room_;
  const bool candidate_;

  std::unique_ptr<sdk::WebSocketClient> upstream_;
  Upstream state_ = Upstream::kNone;
  struct Held {
    std::string bytes;
    Clock::time_point received;  // what the latency counts from, not when it went upstream
  };
  // Audio waiting for the stream to open, or for room in its queue. A list: nothing allocated for
  // the sessions that send no audio (a std::deque allocates half a kilobyte when made).
  std::list<Held> held_;
  std::size_t held_bytes_ = 0;
  bool paused_ = false;  // we paused the session's reads
  int attempts_ = 0;
  bool warned_ = false;
  bool closing_ = false;
  bool speaking_ = false;
  Clock::time_point opened_at_;
  sdk::Timer keepalive_, retry_, silence_;
  Clock::time_point last_audio_;
  AudioClock audio_;

  Utterances utterances_;
  TurnBuilder builder_;
  Summary summary_;
  Clock::time_point turn_began_{};      // wall clock of the turn's first speech
  Clock::time_point turn_last_word_{};  // when the audio of its last word arrived
};

}  // namespace parley::deepgram
