// Share tokens as strings: their randomness, shape and hashing.
#include <gtest/gtest.h>

#include <set>

#include "token.hpp"

namespace parley::share {
namespace {

TEST(Token, FreshTokensAreUrlSafeAndNeverRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string t = newToken();
    ASSERT_EQ(t.size(), 36u);
    ASSERT_EQ(t.substr(0, 4), "pst_");
    ASSERT_EQ(
        t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 4),
        std::string::npos)
        << t;
    ASSERT_TRUE(wellFormed(t));
    ASSERT_TRUE(seen.insert(t).second) << "a repeat: " << t;
  }
}

TEST(Token, TruncatedPaddedAndForeignStringsAreNotTokens) {
  const std::string t = newToken();
  EXPECT_FALSE(wellFormed(t.substr(0, t.size() - 1)));
  EXPECT_FALSE(wellFormed(t + "A"));
  EXPECT_FALSE(wellFormed(t + "="));
  EXPECT_FALSE(wellFormed("xst_" + t.substr(4)));
  EXPECT_FALSE(wellFormed(t.substr(0, 10) + "+" + t.substr(11)));
  EXPECT_FALSE(wellFormed(""));
}

TEST(Token, OnlyTheHashIsKeptAndComparedInConstantTime) {
  const std::string t = newToken();
  const std::string h = tokenHash(t);
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(h, tokenHash(t));
  EXPECT_EQ(h.find(t), std::string::npos);
  std::string tampered = t;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  EXPECT_NE(tokenHash(tampered), h);
  EXPECT_TRUE(sameHash(h, tokenHash(t)));
  EXPECT_FALSE(sameHash(h, tokenHash(tampered)));
  EXPECT_FALSE(sameHash(h, h.substr(1)));
  EXPECT_EQ(shareId(h), h.substr(0, 16));
  // A known vector: SHA-256("abc").
  EXPECT_EQ(tokenHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace parley::share
