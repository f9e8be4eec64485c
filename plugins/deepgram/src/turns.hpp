// From Deepgram's results to candidate turns, with no I/O: the documented end-of-utterance rule,
// the turn that an utterance and a silence make, and the session's running summary. The plugin
// feeds it and owns the clock; the tests feed it scripted results.
#pragma once

#include <parley/sdk/json.hpp>

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace parley::deepgram {

struct Word {
  std::string word;        // as recognised, lower-case ("um")
  std::string punctuated;  // as shown ("Um,")
  double start = 0;        // seconds of audio from the stream's start; 0 in text mode
  double end = 0;
  double confidence = 1;
};

// What Deepgram said in one Results message.
struct Piece {
  std::string transcript;
  std::vector<Word> words;
  bool is_final = false;
  bool speech_final = false;
  double confidence = 0;
};
// Reads a Results message; nullopt for anything that is not one.
std::optional<Piece> readResults(const sdk::json::Value& message);

struct Utterance {
  std::string text;
  std::vector<Word> words;
};

// Deepgram's rule: is_final pieces accumulate; speech_final ends the utterance (an UtteranceEnd
// right after it is ignored); an UtteranceEnd with no speech_final before it ends it too.
class Utterances {
 public:
  std::optional<Utterance> results(const Piece& piece);
  std::optional<Utterance> utteranceEnd();
  // What was heard and not yet ended (a Finalize's answer, the session ending).
  std::optional<Utterance> flush();
  // The utterance so far plus an interim piece: what a live caption shows.
  std::string caption(const Piece& interim) const;

 private:
  Utterance buffer_;
  std::string latest_;  // the latest final transcript, for an UtteranceEnd with no buffer
  bool ended_by_speech_final_ = false;
};

struct Turn {
  std::size_t index = 0;  // 1-based, per session
  std::string text;
  std::vector<Word> words;
  std::size_t fillers = 0;
  double confidence = 0;   // mean word confidence
  double audio_start = 0;  // seconds of audio (0, 0 in text mode)
  double audio_end = 0;
  double duration_s = 0;  // of speech: audio span, or wall time in text mode
  double speaking_rate_wpm = 0;
};

// Utterances until a silence makes them a turn. A turn needs `min_words`; fewer words wait for
// the next utterance (nothing the candidate said is dropped).
class TurnBuilder {
 public:
  TurnBuilder(std::size_t min_words, const std::set<std::string>* fillers)
      : min_words_(min_words), fillers_(fillers) {}
  void add(const Utterance& utterance);
  bool ready() const { return words_.size() >= min_words_; }
  bool empty() const { return words_.empty(); }
  // The turn; `wall_duration_s` stands in for the audio span when words carry no timings.
  Turn take(double wall_duration_s);

 private:
  std::size_t min_words_;
  const std::set<std::string>* fillers_;
  std::string text_;
  std::vector<Word> words_;
  std::size_t taken_ = 0;
};

// The session's totals, for final_summary.
struct Summary {
  std::size_t turns = 0, words = 0, fillers = 0;
  double speaking_s = 0;
  double latency_ms_total = 0;
  std::size_t latency_samples = 0;
  void add(const Turn& turn);
  sdk::json::Value json() const;
};

// The words Deepgram transcribes as fillers (with filler_words=true).
const std::set<std::string>& fillerWords();
// Whether an interviewer's utterance reads as a question: it ends in '?', or opens the way
// interview questions do ("tell me about", "how would you", ...).
bool readsAsQuestion(const std::string& text);
// Plain words of a text, for text mode (no timings).
std::vector<Word> wordsOf(const std::string& text);

}  // namespace parley::deepgram
