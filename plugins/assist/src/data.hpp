// The assist plugin's tunable data: word lists (lexicons.txt) and rules (rules.ini), both shipped
// under etc/assist/ and built in. Loading checks everything; a mistake names its line.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace parley::assist {

// A mistake in a data file, at a line (from 1).
struct DataError : std::runtime_error {
  DataError(int line, const std::string& what) : std::runtime_error(what), line(line) {}
  int line;
};

// Lower-cases and splits text into words: letters, digits and apostrophes; anything else
// separates ("Trade-off," -> "trade", "off").
std::vector<std::string> normalWords(const std::string& text);

// Words and phrases to find in what the candidate says.
class Lexicon {
 public:
  void add(const std::string& entry);  // normalised like the text it is matched against
  bool empty() const { return singles_.empty() && phrases_.empty(); }
  // Occurrences in `words` (normalised): every word of the list, every phrase at every position.
  std::size_t count(const std::vector<std::string>& words) const;

 private:
  std::set<std::string> singles_;
  std::set<std::vector<std::string>> phrases_;
};

enum class RuleKind { kMissing, kBalance, kDensity, kLength, kCue };

struct Rule {
  std::string id;
  RuleKind kind = RuleKind::kMissing;
  std::string profile = "*";
  std::shared_ptr<const Lexicon> lexicon, against;
  bool numbers = false;  // numbers in digits count as lexicon words
  double min_words = 0, max_hits = 0, min_against = 0, ratio = 0, max_words = 0, max_sec = 0,
         min_hits = 1;
  std::string title, message, severity = "medium";
  int priority = 3;
  double cooldown_sec = 30;
};

struct ToneRules {
  double min_gap_sec = 6;
  int max_per_question = 2;
  double min_words = 8;
  std::shared_ptr<const Lexicon> fillers;
  double long_pause_sec = 0.8, long_pauses = 2, filler_ratio = 0.1, low_confidence = 0.7;
  double slow_wpm = 90, fast_wpm = 200;
  std::map<std::string, std::string> messages;  // by event type
};

struct AssistData {
  std::vector<Rule> rules;  // in file order: the tie-break among equal priorities
  double hint_gap_sec = 8;
  double scale[3] = {1.5, 1.0, 0.7};  // by assist_intensity 1..3
  ToneRules tone;
};

// The event types, as the protocol names them.
inline const char* const kToneEvents[] = {"tone_shift_event", "pressure_spike_event",
                                          "interruption_simulation"};

// Parses both files. Throws DataError; `in_lexicons` tells which file the line is in.
struct DataFileError : DataError {
  DataFileError(const DataError& e, bool in_lexicons) : DataError(e), in_lexicons(in_lexicons) {}
  bool in_lexicons;
};
AssistData loadData(const std::string& rules_ini, const std::string& lexicons_txt);

}  // namespace parley::assist
