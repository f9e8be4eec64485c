// The rules a question must pass before it becomes a room's active question: enough words, and
// not a repeat of one asked moments ago (clients often send the same question twice).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace parley::rooms {

bool isUuid(const std::string& text);
std::size_t wordCount(const std::string& text);
// What identifies "the same question": its first 50 characters, lower-cased, trimmed.
std::string questionKey(const std::string& text);

class QuestionGate {
 public:
  using Clock = std::chrono::steady_clock;
  explicit QuestionGate(std::size_t min_words) : min_words_(min_words) {}

  // Why `text` is refused for `room_id`, or nothing if it is accepted (and remembered). A repeat
  // counts within `window` of the last time the same key was accepted in that room.
  std::optional<std::string> admit(const std::string& room_id, const std::string& text,
                                   Clock::duration window, Clock::time_point now = Clock::now());
  void forgetRoom(const std::string& room_id);

 private:
  std::size_t min_words_;
  std::mutex mutex_;
  std::map<std::string, std::pair<std::string, Clock::time_point>> last_;  // room -> key, when
};

}  // namespace parley::rooms
