#include "questions.hpp"

#include <cctype>

namespace parley::rooms {

bool isUuid(const std::string& t) {
  if (t.size() != 36) return false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? t[i] != '-' : !std::isxdigit(static_cast<unsigned char>(t[i]))) return false;
  }
  return true;
}

std::size_t wordCount(const std::string& text) {
  std::size_t words = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    const bool space = std::isspace(c);
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

std::string questionKey(const std::string& text) {
  std::size_t begin = 0;
  while (begin < text.size() && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  std::string key = text.substr(begin, 50);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
  return key;
}

std::optional<std::string> QuestionGate::admit(const std::string& room_id, const std::string& text,
                                               Clock::duration window, Clock::time_point now) {
  if (wordCount(text) < min_words_)
    return "a question needs at least " + std::to_string(min_words_) + " words";
  const std::string key = questionKey(text);
  std::lock_guard lock(mutex_);
  auto it = last_.find(room_id);
  if (it != last_.end() && it->second.first == key && now - it->second.second < window)
    return std::string("the same question was asked moments ago");
  last_[room_id] = {key, now};
  return std::nullopt;
}

void QuestionGate::forgetRoom(const std::string& room_id) {
  std::lock_guard lock(mutex_);
  last_.erase(room_id);
}

}  // namespace parley::rooms
