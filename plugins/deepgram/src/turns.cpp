#include "turns.hpp"

#include <algorithm>
#include <cctype>

namespace parley::deepgram {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void append(std::string& to, const std::string& text) {
  if (text.empty()) return;
  if (!to.empty()) to += ' ';
  to += text;
}

}  // namespace

std::optional<Piece> readResults(const sdk::json::Value& m) {
  if (m["type"].asString() != "Results") return std::nullopt;
  const sdk::json::Value& alt = m["channel"]["alternatives"][0];
  Piece p;
  p.transcript = std::string(alt["transcript"].asString());
  p.confidence = alt["confidence"].asNumber();
  p.is_final = m["is_final"].asBool();
  p.speech_final = m["speech_final"].asBool();
  for (const auto& w : alt["words"].items()) {
    Word word;
    word.word = lower(std::string(w["word"].asString()));
    word.punctuated = std::string(w["punctuated_word"].asString(w["word"].asString()));
    word.start = w["start"].asNumber();
    word.end = w["end"].asNumber();
    word.confidence = w["confidence"].asNumber(1);
    p.words.push_back(std::move(word));
  }
  return p;
}

std::optional<Utterance> Utterances::results(const Piece& piece) {
  if (!piece.is_final) return std::nullopt;
  append(buffer_.text, piece.transcript);
  buffer_.words.insert(buffer_.words.end(), piece.words.begin(), piece.words.end());
  if (!piece.transcript.empty()) latest_ = piece.transcript;
  if (!piece.speech_final) return std::nullopt;
  ended_by_speech_final_ = true;
  return flush();
}

std::optional<Utterance> Utterances::utteranceEnd() {
  if (ended_by_speech_final_) {  // the speech_final before it ended this utterance already
    ended_by_speech_final_ = false;
    return std::nullopt;
  }
  if (buffer_.text.empty() && !latest_.empty()) buffer_.text = latest_;
  return flush();
}

std::optional<Utterance> Utterances::flush() {
  latest_.clear();
  if (buffer_.text.empty()) return std::nullopt;
  Utterance done = std::move(buffer_);
  buffer_ = {};
  return done;
}

std::string Utterances::caption(const Piece& interim) const {
  std::string text = buffer_.text;
  append(text, interim.transcript);
  return text;
}

void TurnBuilder::add(const Utterance& u) {
  append(text_, u.text);
  const auto words = u.words.empty() ? wordsOf(u.text) : u.words;
  words_.insert(words_.end(), words.begin(), words.end());
}

Turn TurnBuilder::take(double wall_duration_s) {
  Turn t;
  t.index = ++taken_;
  t.text = std::move(text_);
  t.words = std::move(words_);
  text_.clear();
  words_.clear();
  double confidence = 0;
  for (const Word& w : t.words) {
    confidence += w.confidence;
    if (fillers_ && fillers_->count(w.word)) ++t.fillers;
  }
  t.confidence = t.words.empty() ? 0 : confidence / static_cast<double>(t.words.size());
  const bool timed = !t.words.empty() && t.words.back().end > 0;
  if (timed) {
    t.audio_start = t.words.front().start;
    t.audio_end = t.words.back().end;
  }
  t.duration_s = timed ? t.audio_end - t.audio_start : wall_duration_s;
  if (t.duration_s > 0)
    t.speaking_rate_wpm = static_cast<double>(t.words.size()) * 60.0 / t.duration_s;
  return t;
}

void Summary::add(const Turn& t) {
  ++turns;
  words += t.words.size();
  fillers += t.fillers;
  speaking_s += t.duration_s;
}

sdk::json::Value Summary::json() const {
  sdk::json::Writer w;
  w.beginObject().field("turns", turns).field("words", words).field("fillers", fillers);
  w.field("speaking_time_s", speaking_s, 1);
  w.field("speaking_rate_wpm",
          speaking_s > 0 ? static_cast<double>(words) * 60.0 / speaking_s : 0.0, 1);
  w.field("filler_rate", words ? static_cast<double>(fillers) / static_cast<double>(words) : 0.0,
          3);
  w.field("avg_latency_ms",
          latency_samples ? latency_ms_total / static_cast<double>(latency_samples) : 0.0, 1);
  sdk::json::Value v;
  sdk::json::parse(w.endObject().str(), v);
  return v;
}

const std::set<std::string>& fillerWords() {
  static const std::set<std::string> words = {"uh",  "um", "uhm", "umm", "er",
                                              "erm", "ah", "hmm", "mm",  "mhm"};
  return words;
}

bool readsAsQuestion(const std::string& text) {
  std::string t = lower(text);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  if (!t.empty() && t.back() == '?') return true;
  static const char* const kOpenings[] = {
      "tell me",       "walk me through", "describe",    "explain",
      "how would you", "how do you",      "how did you", "what would you",
      "what is",       "what are",        "why did you", "why would you",
      "can you",       "could you",       "have you",    "give me an example",
      "what was",      "when did you"};
  for (const char* opening : kOpenings)
    if (t.rfind(opening, 0) == 0) return true;
  return false;
}

std::vector<Word> wordsOf(const std::string& text) {
  std::vector<Word> words;
  std::string current;
  auto push = [&] {
    if (current.empty()) return;
    Word w;
    w.punctuated = current;
    std::string bare;
    for (char c : current)
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '\'') bare += c;
    w.word = lower(bare);
    if (!w.word.empty()) words.push_back(std::move(w));
    current.clear();
  };
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)))
      push();
    else
      current += c;
  }
  push();
  return words;
}

}  // namespace parley::deepgram
