// The offline provider's answers: prepared answers from a Markdown file, the best match for a
// question, and a structured template (STAR for behavioural questions) when nothing matches.
// Needs no network; also the fallback when an LLM times out or fails.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace parley::answers {

struct PreparedAnswer {
  std::string topic;
  std::vector<std::string> keywords;
  std::string text;
};

// A mistake in an answers file, at a line (from 1).
struct AnswersFileError : std::runtime_error {
  AnswersFileError(int line, const std::string& what) : std::runtime_error(what), line(line) {}
  int line;
};

// Parses the answers file: "## Topic" sections, each with an optional "keywords: a, b" line.
// Throws AnswersFileError for a section without text.
std::vector<PreparedAnswer> parseAnswers(const std::string& markdown);

class OfflineAnswers {
 public:
  explicit OfflineAnswers(std::vector<PreparedAnswer> answers) : answers_(std::move(answers)) {}
  // The best prepared answer for the question, or a template built for it.
  std::string answer(const std::string& question, const std::string& role) const;
  // The score of the best match (0 when nothing shares a word): for tests and logs.
  double bestScore(const std::string& question, std::size_t* index = nullptr) const;

 private:
  std::vector<PreparedAnswer> answers_;
};

// Whether a question asks for a past experience ("tell me about a time", "describe a
// situation", ...): the STAR template fits those.
bool isBehavioural(const std::string& question);

// Splits text into chunks of a few words, as a streaming model would.
std::vector<std::string> chunks(const std::string& text, std::size_t words_per_chunk);

}  // namespace parley::answers
