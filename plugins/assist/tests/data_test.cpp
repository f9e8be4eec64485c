// The rules and word lists: the shipped files load, and every mistake names its file and line.
#include <gtest/gtest.h>

#include "data.hpp"

namespace parley::assist {
extern const char* const kDefaultRules;
extern const char* const kDefaultLexicons;
namespace {

TEST(AssistData, TheShippedFilesLoad) {
  const AssistData data = loadData(kDefaultRules, kDefaultLexicons);
  std::vector<std::string> ids;
  for (const auto& r : data.rules) ids.push_back(r.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"missing_metrics", "missing_ownership", "rambling",
                                           "filler_density", "contradiction",
                                           "behavioral_structure", "system_design_tradeoffs",
                                           "leadership_ownership", "coding_clarity"}));
  for (const char* profile : {"behavioral", "system_design", "leadership", "coding"}) {
    int rules = 0;
    for (const auto& r : data.rules) rules += r.profile == profile;
    EXPECT_EQ(rules, 1) << profile;
  }
  EXPECT_EQ(data.tone.messages.size(), 3u);
  EXPECT_GE(data.tone.min_gap_sec, 6);
  EXPECT_LE(data.tone.max_per_question, 2);
}

TEST(AssistData, WordsAndPhrasesAreFoundLikeTheTextIsSplit) {
  Lexicon fillers;
  for (const char* e : {"um", "you know", "Trade-off"}) fillers.add(e);
  EXPECT_EQ(normalWords("It's a Trade-off, you know... UM."),
            (std::vector<std::string>{"it's", "a", "trade", "off", "you", "know", "um"}));
  EXPECT_EQ(fillers.count(normalWords("It's a Trade-off, you know... UM. You know?")), 4u);
  EXPECT_EQ(fillers.count(normalWords("you  knowledge")), 0u);
}

struct Mistake {
  std::string rules, lexicons;
  bool in_lexicons;
  int line;
  std::string says;
};

const char* const kLexicons = "[w]\nalpha\n";
const char* const kTone =
    "[tone]\nlexicon = w\n[event tone_shift_event]\nmessage = a\n[event pressure_spike_event]\n"
    "message = b\n[event interruption_simulation]\nmessage = c\n";

TEST(AssistData, EachMistakeNamesItsLine) {
  const std::vector<Mistake> mistakes = {
      {kTone, "alpha\n", true, 1, "'alpha' is outside any [section]"},
      {kTone, "[w]\n# nothing\n", true, 1, "[w] has no words"},
      {kTone, "[w\nx\n", true, 1, "a section header needs a closing ']'"},
      {kTone, "[w]\na\n[w]\nb\n", true, 3, "[w] comes twice"},
      {std::string("[hints]\nmin_gap = 3\n") + kTone, kLexicons, false, 2,
       "unknown key 'min_gap' in [hints]"},
      {std::string("[hints]\nmin_gap_sec = soon\n") + kTone, kLexicons, false, 2,
       "min_gap_sec: 'soon' is not a number"},
      {std::string("[hints]\nmin_gap_sec\n") + kTone, kLexicons, false, 2,
       "expected key = value, found 'min_gap_sec'"},
      {std::string("[rule r]\ntitle = t\nmessage = m\n") + kTone, kLexicons, false, 1,
       "[rule r] needs a kind"},
      {std::string("[rule r]\nkind = shouting\n") + kTone, kLexicons, false, 2,
       "kind: 'shouting' is not missing, balance, density, length or cue"},
      {std::string("[rule r]\nkind = cue\nlexicon = nope\ntitle = t\nmessage = m\n") + kTone,
       kLexicons, false, 3, "lexicon: lexicons.txt has no [nope]"},
      {std::string("[rule r]\nkind = cue\nlexicon = w\ntitle = t\n") + kTone, kLexicons, false, 1,
       "[rule r] needs message"},
      {std::string("[rule R!]\nkind = cue\n") + kTone, kLexicons, false, 1,
       "'R!' is not a rule id"},
      {std::string("[rule r]\nkind = length\ntitle = t\nmessage = m\n") + kTone, kLexicons, false,
       1, "needs max_words or max_sec"},
      {std::string("[rule r]\nkind = cue\nlexicon = w\ntitle = t\nmessage = m\nseverity = dire\n") +
           kTone,
       kLexicons, false, 6, "severity: 'dire' is not low, medium or high"},
      {std::string("[rule r]\nkind = cue\nlexicon = w\ntitle = t\nmessage = m\nmax_words = 3\n") +
           kTone,
       kLexicons, false, 6, "unknown key 'max_words' in [rule r]"},
      {std::string("[moods]\n") + kTone, kLexicons, false, 1, "unknown section [moods]"},
      {"[tone]\nlexicon = w\nmin_gap_sec = 3\n", kLexicons, false, 3,
       "min_gap_sec: 3 is outside [6, 3600]"},
      {"[tone]\nlexicon = w\nmax_per_question = 3\n", kLexicons, false, 3,
       "max_per_question: 3 is outside [0, 2]"},
      {"[tone]\nlexicon = w\n[event tone_shift_event]\nmessage = a\n", kLexicons, false, 1,
       "no [event pressure_spike_event] section"},
      {std::string(kTone) + "[event sulk_event]\nmessage = x\n", kLexicons, false, 9,
       "[event sulk_event]: the events are"},
      {"[intensity]\n2 = 0\n", kLexicons, false, 2, "2: 0 is outside [0.1, 10]"},
  };
  for (const auto& m : mistakes) {
    SCOPED_TRACE(m.says);
    try {
      loadData(m.rules, m.lexicons);
      ADD_FAILURE() << "accepted";
    } catch (const DataFileError& e) {
      EXPECT_EQ(e.in_lexicons, m.in_lexicons);
      EXPECT_EQ(e.line, m.line);
      EXPECT_NE(std::string(e.what()).find(m.says), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace parley::assist
