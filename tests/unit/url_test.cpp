#include "core/http/url.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::core {
namespace {

// Decoded text, or "<refused>" when percentDecode returns false.
std::string Decode(std::string_view in, bool plus_is_space = false) {
  std::string out;
  return percentDecode(in, out, plus_is_space) ? out : "<refused>";
}

TEST(PercentDecodeTest, DecodesValidEscapes) {
  EXPECT_EQ(Decode("plain"), "plain");
  EXPECT_EQ(Decode(""), "");
  EXPECT_EQ(Decode("a%20b"), "a b");
  EXPECT_EQ(Decode("%41%62c"), "Abc");
  EXPECT_EQ(Decode("%2f%2F"), "//");  // either case of hex digit
  EXPECT_EQ(Decode("%25"), "%");      // an escaped '%' is not decoded twice
  EXPECT_EQ(Decode("%2541"), "%41");
  EXPECT_EQ(Decode("caf%C3%A9"), "caf\xC3\xA9");
  EXPECT_EQ(Decode("%ff"), "\xff");
}

TEST(PercentDecodeTest, PlusDependsOnTheFlag) {
  EXPECT_EQ(Decode("a+b", true), "a b");
  EXPECT_EQ(Decode("a+b", false), "a+b");
  EXPECT_EQ(Decode("a%2Bb", true), "a+b");  // an escaped plus stays a plus
}

TEST(PercentDecodeTest, MalformedEscapesAreRefused) {
  for (const char* in : {"%", "%4", "%zz", "%4g", "%g4", "abc%", "abc%4", "%%41", "% 41"})
    EXPECT_EQ(Decode(in), "<refused>") << in;
}

TEST(PercentDecodeTest, EncodedNulIsRefused) {
  EXPECT_EQ(Decode("%00"), "<refused>");
  EXPECT_EQ(Decode("a%00b"), "<refused>");
  EXPECT_EQ(Decode("%01"), "\x01");  // other control characters are the caller's business
}

TEST(PercentDecodeTest, OutputIsReplacedNotAppended) {
  std::string out = "stale";
  ASSERT_TRUE(percentDecode("new", out, false));
  EXPECT_EQ(out, "new");
}

sdk::Fields Query(std::string_view q, bool* ok = nullptr) {
  sdk::Fields out;
  const bool good = parseQuery(q, out);
  if (ok) *ok = good;
  return out;
}

TEST(ParseQueryTest, KeepsOrderAndDuplicates) {
  EXPECT_EQ(Query("b=2&a=1&b=3"), (sdk::Fields{{"b", "2"}, {"a", "1"}, {"b", "3"}}));
}

TEST(ParseQueryTest, EmptyPairsAreSkipped) {
  EXPECT_EQ(Query("&&a=1&&b=2&"), (sdk::Fields{{"a", "1"}, {"b", "2"}}));
  bool ok = false;
  EXPECT_TRUE(Query("", &ok).empty());
  EXPECT_TRUE(ok);
  EXPECT_TRUE(Query("&", &ok).empty());
  EXPECT_TRUE(ok);
}

TEST(ParseQueryTest, MissingEqualsMeansEmptyValue) {
  EXPECT_EQ(Query("flag&x=1"), (sdk::Fields{{"flag", ""}, {"x", "1"}}));
  EXPECT_EQ(Query("x="), (sdk::Fields{{"x", ""}}));
  EXPECT_EQ(Query("=v"), (sdk::Fields{{"", "v"}}));
  // Only the first '=' separates.
  EXPECT_EQ(Query("expr=a=b"), (sdk::Fields{{"expr", "a=b"}}));
}

TEST(ParseQueryTest, DecodesNamesAndValues) {
  EXPECT_EQ(Query("first+name=J%C3%BCrgen+M&q%5B%5D=a%26b%3Dc"),
            (sdk::Fields{{"first name", "J\xC3\xBCrgen M"}, {"q[]", "a&b=c"}}));
}

TEST(ParseQueryTest, BadEncodingFails) {
  bool ok = true;
  Query("a=%zz", &ok);
  EXPECT_FALSE(ok);
  ok = true;
  Query("a%=1", &ok);
  EXPECT_FALSE(ok);
  ok = true;
  Query("ok=1&v=%00", &ok);
  EXPECT_FALSE(ok);
  ok = true;
  Query("v=%4", &ok);
  EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace parley::core
