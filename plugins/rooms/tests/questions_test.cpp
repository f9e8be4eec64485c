#include <gtest/gtest.h>

#include "questions.hpp"

namespace parley::rooms {
namespace {

using namespace std::chrono_literals;

TEST(Rooms, UuidsAreRecognised) {
  EXPECT_TRUE(isUuid("0b6f0d5e-9a3c-4f5e-8d2a-1c2b3a4d5e6f"));
  EXPECT_TRUE(isUuid("0B6F0D5E-9A3C-4F5E-8D2A-1C2B3A4D5E6F"));
  EXPECT_FALSE(isUuid(""));
  EXPECT_FALSE(isUuid("room-1"));
  EXPECT_FALSE(isUuid("0b6f0d5e-9a3c-4f5e-8d2a-1c2b3a4d5e6"));   // short
  EXPECT_FALSE(isUuid("0b6f0d5e 9a3c-4f5e-8d2a-1c2b3a4d5e6f"));  // no dash
  EXPECT_FALSE(isUuid("0b6f0d5e-9a3c-4f5e-8d2a-1c2b3a4d5e6g"));  // not hex
}

TEST(Rooms, WordsAndKeys) {
  EXPECT_EQ(wordCount("  Tell me   about\tyourself "), 4u);
  EXPECT_EQ(wordCount(""), 0u);
  EXPECT_EQ(questionKey("  Tell ME about Yourself  "), "tell me about yourself");
  EXPECT_EQ(questionKey(std::string(80, 'Q')), std::string(50, 'q'));
}

TEST(Rooms, QuestionsNeedEnoughWords) {
  QuestionGate gate(4);
  auto refusal = gate.admit("r", "Why this job?", 3s);
  ASSERT_TRUE(refusal);
  EXPECT_NE(refusal->find("at least 4 words"), std::string::npos);
  EXPECT_FALSE(gate.admit("r", "Why do you want this job?", 3s));
}

TEST(Rooms, RepeatsWithinTheWindowAreDroppedPerRoom) {
  QuestionGate gate(4);
  const auto t0 = QuestionGate::Clock::time_point{} + 100s;
  EXPECT_FALSE(gate.admit("r", "Tell me about yourself", 3s, t0));
  EXPECT_TRUE(gate.admit("r", "  tell me ABOUT yourself", 3s, t0 + 2900ms));
  EXPECT_FALSE(gate.admit("other", "Tell me about yourself", 3s, t0 + 1s)) << "another room";
  EXPECT_FALSE(gate.admit("r", "Tell me about yourself", 3s, t0 + 3s)) << "the window passed";
  EXPECT_FALSE(gate.admit("r", "What is your biggest weakness?", 3s, t0 + 3100ms));
  gate.forgetRoom("r");
  EXPECT_FALSE(gate.admit("r", "What is your biggest weakness?", 3s, t0 + 3200ms));
}

}  // namespace
}  // namespace parley::rooms
