#include "offline.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>
#include <stdexcept>

namespace parley::answers {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// Words that say nothing about a topic.
bool stopword(const std::string& w) {
  static const std::set<std::string> kWords = {
      "a",    "an",   "the",  "and", "or",    "of",    "to",    "in",   "on",   "for",
      "with", "you",  "your", "me",  "my",    "i",     "we",    "our",  "is",   "are",
      "was",  "were", "be",   "it",  "that",  "this",  "what",  "how",  "why",  "when",
      "do",   "did",  "does", "can", "could", "would", "about", "tell", "time", "at",
      "as",   "have", "has",  "had", "from",  "give",  "us",    "so",   "if",   "there"};
  return w.size() < 2 || kWords.count(w) > 0;
}

// A crude stem, so that "failed", "failure" and "fails" meet: common suffixes go while a root of
// three letters or more is left.
std::string stem(std::string w) {
  for (const char* suffix : {"ing", "ed", "ure", "es", "ly", "s"}) {
    const std::size_t n = std::char_traits<char>::length(suffix);
    if (w.size() >= n + 3 && w.compare(w.size() - n, n, suffix) == 0) {
      w.resize(w.size() - n);
      break;
    }
  }
  return w;
}

// The stems of a text's words, lower-cased.
std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  auto push = [&] {
    if (!w.empty() && !stopword(w)) out.push_back(stem(w));
    w.clear();
  };
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else
      push();
  }
  push();
  return out;
}

}  // namespace

std::vector<PreparedAnswer> parseAnswers(const std::string& markdown) {
  std::vector<PreparedAnswer> answers;
  std::istringstream in(markdown);
  std::string line;
  int number = 0, section_line = 0;
  auto close = [&] {
    if (answers.empty()) return;
    PreparedAnswer& a = answers.back();
    a.text = trim(a.text);
    if (a.text.empty())
      throw AnswersFileError(section_line, "section '" + a.topic + "' has no answer text");
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.rfind("## ", 0) == 0) {
      close();
      answers.push_back({trim(line.substr(3)), {}, {}});
      section_line = number;
      continue;
    }
    if (answers.empty()) continue;  // the preamble
    PreparedAnswer& a = answers.back();
    if (a.text.empty() && a.keywords.empty() && lower(line).rfind("keywords:", 0) == 0) {
      std::istringstream list(line.substr(9));
      std::string k;
      while (std::getline(list, k, ','))
        if (!trim(k).empty()) a.keywords.push_back(lower(trim(k)));
      continue;
    }
    if (trim(line).empty()) {
      if (!a.text.empty() && a.text.back() != '\n') a.text += "\n\n";
      continue;
    }
    if (!a.text.empty() && a.text.back() != '\n') a.text += ' ';
    a.text += trim(line);
  }
  close();
  return answers;
}

double OfflineAnswers::bestScore(const std::string& question, std::size_t* index) const {
  std::set<std::string> asked;
  for (auto& w : words(question)) asked.insert(w);
  const std::string q = lower(question);
  double best = 0;
  for (std::size_t i = 0; i < answers_.size(); ++i) {
    const PreparedAnswer& a = answers_[i];
    double score = 0;
    // A keyword phrase found in the question, a title word, a text word: heavier to lighter.
    for (const auto& k : a.keywords)
      if (k.find(' ') != std::string::npos ? q.find(k) != std::string::npos
                                           : asked.count(stem(k)) > 0)
        score += 3;
    for (const auto& w : words(a.topic))
      if (asked.count(w)) score += 2;
    std::set<std::string> seen;
    for (const auto& w : words(a.text))
      if (asked.count(w) && seen.insert(w).second) score += 0.5;
    if (score > best) {
      best = score;
      if (index) *index = i;
    }
  }
  return best;
}

bool isBehavioural(const std::string& question) {
  const std::string q = lower(question);
  for (const char* cue :
       {"tell me about a time", "describe a time", "describe a situation", "give me an example",
        "give an example", "have you ever", "a time when", "a time you", "walk me through a time"})
    if (q.find(cue) != std::string::npos) return true;
  return false;
}

std::string OfflineAnswers::answer(const std::string& question, const std::string& role) const {
  std::size_t index = 0;
  if (bestScore(question, &index) >= 3) return answers_[index].text;
  if (isBehavioural(question) || role == "behavioral" || role == "leadership")
    return "Answer it as a STAR story. Situation: set the scene in a sentence or two, with what "
           "was at stake. Task: say what you personally owned. Action: walk through the steps you "
           "took and why you chose them over the alternatives. Result: finish with a measurable "
           "outcome and one thing you learned.";
  if (role == "system_design")
    return "Start by clarifying requirements and scale, then outline the main components and how "
           "data flows between them. Size the hot path, name the trade-offs you are making, and "
           "say which bottleneck you would expect first and how you would measure it.";
  return "Answer in three parts. First, give the direct answer in one sentence. Second, support "
         "it with a concrete example from your own experience, with numbers if you have them. "
         "Third, connect it back to what this role needs.";
}

std::vector<std::string> chunks(const std::string& text, std::size_t words_per_chunk) {
  std::vector<std::string> out;
  std::string current;
  std::size_t n = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t end = std::min(text.find(' ', i), text.size());
    current += text.substr(i, end - i);
    i = end;
    if (i < text.size()) current += ' ', ++i;
    if (++n == words_per_chunk) {
      out.push_back(std::move(current));
      current.clear();
      n = 0;
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

}  // namespace parley::answers
