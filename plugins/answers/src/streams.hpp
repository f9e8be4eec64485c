// Answer streams, one per room at most: started by a question, fed by a provider (an
// OpenAI-compatible streaming endpoint, or the offline answers), broadcast to the room chunk by
// chunk, and ended as completed, empty, a fallback, or cancelled. Everything here runs on the
// plugin's scope, one call at a time: no lock.
#pragma once

#include <parley/sdk/context.hpp>
#include <parley/sdk/services/rooms.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "offline.hpp"

namespace parley::answers {

struct Settings {
  bool openai = false;  // false: the offline provider
  std::string base_url;
  std::string api_key;
  std::string model;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds first_token_timeout{10000};
  std::chrono::milliseconds total_timeout{60000};
  std::chrono::milliseconds chunk_delay{40};  // the offline provider's pace
  std::size_t chunk_words = 3;
};

// What the prompt says about the interview, from the room's sessions' query.
struct Profile {
  std::string role = "general";
  std::string jd, resume;
  std::string answer_language = "en";
};

enum class Ending { kCompleted, kEmpty, kTimeoutFallback, kErrorFallback, kCancelled, kEndings };
const char* endingName(Ending e);  // "completed", ...

struct Instruments {
  std::shared_ptr<sdk::Counter> started = std::make_shared<sdk::Counter>();
  std::shared_ptr<sdk::Counter> cancelled = std::make_shared<sdk::Counter>();
  std::shared_ptr<sdk::Histogram> duration_s =
      std::make_shared<sdk::Histogram>(sdk::Histogram::secondBuckets());
  std::shared_ptr<sdk::CategoryCounter> endings =
      std::make_shared<sdk::CategoryCounter>(static_cast<std::size_t>(Ending::kEndings));
};

class Streams {
 public:
  Streams(Settings settings, sdk::Scope& scope, sdk::Upstreams& upstreams, sdk::RoomsService& rooms,
          sdk::EventBus& events, sdk::Logger& log, Instruments& instruments,
          OfflineAnswers offline);
  ~Streams();

  // A question the rooms plugin accepted. The same question while its answer streams is
  // ignored; another one cancels the running stream first.
  void question(const std::string& room, const std::string& text, const std::string& session_id);
  void stop(const std::string& room);         // stop_answer_generation
  void roomEmptied(const std::string& room);  // its last member left
  // The first session that says something about the interview profiles the room.
  void profile(const std::string& room, const Profile& profile);

 private:
  struct Stream;
  void startOpenAi(Stream& s);
  void startOffline(Stream& s, const std::string& text);
  void sse(Stream& s, std::string_view piece);
  void chunk(Stream& s, const std::string& text);
  void fallBack(Stream& s, Ending why, const std::string& log_reason);
  void finish(const std::string& room, Ending ending, std::string suggestion);
  void broadcast(const Stream& s, const char* type,
                 const std::function<void(sdk::json::Writer&)>& fields);
  std::string prompt(const Stream& s) const;

  Settings settings_;
  sdk::Scope& scope_;
  sdk::Upstreams& upstreams_;
  sdk::RoomsService& rooms_;
  sdk::EventBus& events_;
  sdk::Logger& log_;
  Instruments& instruments_;
  OfflineAnswers offline_;
  std::map<std::string, std::unique_ptr<Stream>> running_;  // by room
  std::map<std::string, Profile> profiles_;                 // by room
  std::vector<std::unique_ptr<Stream>> retired_;
};

}  // namespace parley::answers
