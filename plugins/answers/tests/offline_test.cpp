// The offline provider: the shipped answers file parses, questions find their topic, others get a
// template, and answers stream in chunks.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "offline.hpp"

namespace parley::answers {
namespace {

std::string shipped() {
  std::ifstream in(std::string(PARLEY_SOURCE_DIR) + "/etc/answers.md");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Answers, TheShippedFileParsesIntoTopicsWithKeywords) {
  const auto answers = parseAnswers(shipped());
  ASSERT_GE(answers.size(), 6u);
  EXPECT_EQ(answers[0].topic, "Tell me about yourself");
  EXPECT_FALSE(answers[0].keywords.empty());
  for (const auto& a : answers) EXPECT_GT(a.text.size(), 100u) << a.topic;
}

TEST(Answers, ASectionWithoutTextIsRefusedWithItsLine) {
  try {
    parseAnswers("# Title\n\n## Empty one\nkeywords: x\n\n## Fine\nSome text.\n");
    FAIL() << "no error";
  } catch (const AnswersFileError& e) {
    EXPECT_EQ(e.line, 3);
    EXPECT_EQ(std::string(e.what()), "section 'Empty one' has no answer text");
  }
}

TEST(Answers, QuestionsFindTheirTopic) {
  OfflineAnswers offline(parseAnswers(shipped()));
  EXPECT_NE(offline.answer("How would you design a system for a million users?", "general")
                .find("requirements"),
            std::string::npos);
  EXPECT_NE(offline.answer("Tell me about a time you failed and what you learned", "general")
                .find("real failure"),
            std::string::npos);
  EXPECT_NE(offline.answer("Why do you want to join our company?", "general").find("compelling"),
            std::string::npos);
}

TEST(Answers, WithoutAMatchATemplateAnswersStarForBehaviouralQuestions) {
  OfflineAnswers offline(parseAnswers("## Cooking\nkeywords: pasta\nBoil water.\n"));
  EXPECT_EQ(offline.bestScore("Describe a situation where you influenced stakeholders"), 0);
  const std::string star =
      offline.answer("Describe a situation where you influenced stakeholders", "general");
  EXPECT_NE(star.find("Situation"), std::string::npos);
  EXPECT_NE(star.find("Result"), std::string::npos);
  EXPECT_NE(offline.answer("What is the CAP theorem about?", "system_design").find("trade-offs"),
            std::string::npos);
  EXPECT_NE(offline.answer("What is the CAP theorem about?", "general").find("three parts"),
            std::string::npos);
}

TEST(Answers, ChunksJoinBackToTheAnswer) {
  const std::string text = "one two three four five six seven";
  const auto c = chunks(text, 3);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0], "one two three ");
  std::string joined;
  for (const auto& part : c) joined += part;
  EXPECT_EQ(joined, text);
}

}  // namespace
}  // namespace parley::answers
