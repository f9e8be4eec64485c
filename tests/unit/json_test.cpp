// The SDK's JSON reader and writer: strict parsing, safe accessors, and output that is always
// valid JSON in valid UTF-8.
#include <gtest/gtest.h>

#include <string>

#include "parley/sdk/json.hpp"

namespace parley::sdk::json {
namespace {

Value parsed(std::string_view text) {
  Value v;
  ParseError error;
  EXPECT_TRUE(parse(text, v, &error)) << text << ": " << error.message << " at " << error.offset;
  return v;
}

std::string refusal(std::string_view text) {
  Value v;
  ParseError error;
  EXPECT_FALSE(parse(text, v, &error)) << text;
  return error.message;
}

TEST(Json, ReadsAMessage) {
  const Value m =
      parsed(R"({"type":"candidate_transcript","text":"I led the \"migration\"","is_final":true,)"
             R"("n":-12.5e1,"words":[{"w":"I","start":0.25}],"none":null})");
  EXPECT_TRUE(m.isObject());
  EXPECT_EQ(m["type"].asString(), "candidate_transcript");
  EXPECT_EQ(m["text"].asString(), "I led the \"migration\"");
  EXPECT_TRUE(m["is_final"].asBool());
  EXPECT_DOUBLE_EQ(m["n"].asNumber(), -125.0);
  EXPECT_EQ(m["n"].asInt(7), -125);
  EXPECT_EQ(m["words"].size(), 1u);
  EXPECT_DOUBLE_EQ(m["words"][0]["start"].asNumber(), 0.25);
  EXPECT_TRUE(m["none"].isNull());
  EXPECT_TRUE(m.has("none"));
  EXPECT_EQ(m.keys().size(), 6u);
}

TEST(Json, AbsentOrMistypedReadsAsTheFallback) {
  const Value m = parsed(R"({"text":5,"list":[1]})");
  EXPECT_EQ(m["text"].asString("none"), "none");
  EXPECT_EQ(m["missing"].asString(), "");
  EXPECT_FALSE(m["missing"]["deeper"][3].asBool(false));
  EXPECT_EQ(m["list"][9].asInt(-1), -1);
  EXPECT_EQ(m["text"].asInt(), 5);
  EXPECT_EQ(parsed("2.5").asInt(-1), -1) << "not integral";
  EXPECT_FALSE(m.has("missing"));
}

TEST(Json, DecodesEscapesAndSurrogatePairs) {
  EXPECT_EQ(parsed(R"("\u00e9\u20ac\ud83d\ude00\n\t\/")").asString(),
            "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\n\t/");
}

TEST(Json, RefusesWhatRfc8259Refuses) {
  for (const char* bad : {"",
                          "{",
                          "{\"a\":1,}",
                          "[1,]",
                          "{'a':1}",
                          "{\"a\" 1}",
                          "NaN",
                          "01",
                          "1.",
                          ".5",
                          "1e",
                          "+1",
                          "tru",
                          "nul",
                          "\"unterminated",
                          "\"tab\there\"",
                          "\"\\x41\"",
                          "\"\\ud800\"",
                          "\"\\udc00\"",
                          "\"\\ud800\\u0041\"",
                          "{} {}",
                          "[] x",
                          "1e999",
                          "/* c */ {}"})
    EXPECT_FALSE(refusal(bad).empty()) << bad;
  EXPECT_EQ(refusal("\"\xff\""), "invalid UTF-8 in a string");
  EXPECT_EQ(refusal("\"\xc0\xaf\""), "invalid UTF-8 in a string") << "overlong";
  EXPECT_EQ(refusal("\"\xed\xa0\x80\""), "invalid UTF-8 in a string") << "a surrogate";
}

TEST(Json, BoundsNesting) {
  EXPECT_TRUE(parsed(std::string(64, '[') + std::string(64, ']')).isArray());
  EXPECT_EQ(refusal(std::string(65, '[') + std::string(65, ']')), "nested too deeply");
  // Deep input is refused, not a stack overflow.
  EXPECT_EQ(refusal(std::string(100000, '[')), "nested too deeply");
}

TEST(Json, SaysWhereItStopped) {
  Value v;
  ParseError error;
  ASSERT_FALSE(parse(R"({"a":1 "b":2})", v, &error));
  EXPECT_EQ(error.offset, 7u);
  EXPECT_EQ(error.message, "expected ',' or '}' in an object");
}

TEST(Json, IsObjectValidatesWithoutBuilding) {
  EXPECT_TRUE(isObject(R"( {"a":[1,{"b":null}]} )"));
  EXPECT_FALSE(isObject("[1]"));
  EXPECT_FALSE(isObject("\"text\""));
  EXPECT_FALSE(isObject("{\"a\":\"\xff\"}"));
  EXPECT_FALSE(isObject("{} trailing"));
  // A number no double holds: parse() refuses it, and so does isObject() (found by the fuzzer).
  const char* huge = R"({"a":[1,5e222222222222222222222222226]})";
  Value v;
  EXPECT_FALSE(parse(huge, v));
  EXPECT_FALSE(isObject(huge));
}

TEST(Json, ValidUtf8) {
  EXPECT_TRUE(validUtf8("plain \xC3\xA9 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(validUtf8("\xff\xfe"));
  EXPECT_FALSE(validUtf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(validUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

TEST(JsonWriter, WritesDocumentsWithCommasAndEscapes) {
  Writer w;
  w.beginObject()
      .field("type", "pong")
      .field("n", 3)
      .field("big", 18446744073709551615ull)
      .field("ok", true)
      .field("ratio", 0.25)
      .field("fixed", 2.0 / 3.0, 3)
      .key("list")
      .beginArray()
      .value(1)
      .null()
      .value("x")
      .endArray()
      .key("raw")
      .raw(R"({"a":1})")
      .field("text", "quote \" backslash \\ newline \n bell \x07")
      .endObject();
  EXPECT_EQ(w.str(), R"({"type":"pong","n":3,"big":18446744073709551615,"ok":true,"ratio":0.25,)"
                     R"("fixed":0.667,"list":[1,null,"x"],"raw":{"a":1},)"
                     R"("text":"quote \" backslash \\ newline \n bell \u0007"})");
}

TEST(JsonWriter, ReplacesInvalidUtf8AndNonFiniteNumbers) {
  Writer w;
  w.beginArray()
      .value(std::string_view("a\xff"
                              "b\xC3"))
      .value(1.0 / 0.0)
      .endArray();
  EXPECT_EQ(w.str(),
            "[\"a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\",null]");
  Value back;
  EXPECT_TRUE(parse(w.str(), back));
}

TEST(JsonWriter, WritesAParsedValueBackTheSame) {
  const std::string text = R"({"b":[true,false,null,"s",1.5,-2],"a":{"nested":{}}})";
  EXPECT_EQ(Writer().value(parsed(text)).take(), text);
}

TEST(JsonWriter, ErrorDocuments) {
  EXPECT_EQ(jsonError("not_found", "no such endpoint: /\xff"),
            "{\"error\":{\"code\":\"not_found\",\"message\":\"no such endpoint: /\xEF\xBF\xBD\"}}");
}

}  // namespace
}  // namespace parley::sdk::json
