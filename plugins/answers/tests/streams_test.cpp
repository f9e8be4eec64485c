// The answers plugin on the SDK's test host: questions start streams, chunks reach the room in
// order, new questions cancel, stop and an empty room cancel, and a provider that fails or is slow
// falls back to the offline answer.
#include <gtest/gtest.h>
#include <parley/sdk/testing/host.hpp>
#include <parley/sdk/testing/rooms.hpp>

namespace parley_plugin_export {
parley::sdk::Plugin* create();
}

namespace parley::answers {
namespace {

using namespace std::chrono_literals;
using sdk::json::Value;
using sdk::testing::FakeRooms;
using sdk::testing::ScriptedHttp;
using sdk::testing::TestHost;

const std::string kRoom = "8a6f0c1e-0d2b-4c3a-9e8f-7a6b5c4d3e2f";

using Config = std::map<std::string, std::string>;

struct Fixture {
  std::unique_ptr<sdk::Plugin> plugin{parley_plugin_export::create()};
  std::shared_ptr<FakeRooms> rooms = std::make_shared<FakeRooms>(kRoom);
  TestHost host;
  explicit Fixture(std::map<std::string, std::string> config) : host(*plugin, std::move(config)) {
    host.offer<sdk::RoomsService>(sdk::kRoomsService, rooms);
    host.start();
  }
  void ask(const std::string& question) {
    sdk::json::Writer w;
    w.beginObject().field("room_id", kRoom).field("question", question);
    w.field("session_id", "interviewer-1").field("participant", "interviewer").endObject();
    host.publish({"room.question", w.take()});
  }
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& e : rooms->events) out.emplace_back(e["type"].asString());
    return out;
  }
  std::string joinedChunks() const {
    std::string all;
    for (const auto& e : rooms->ofType("answer_suggestion_chunk")) all += e["chunk"].asString();
    return all;
  }
};

std::map<std::string, std::string> openai() {
  return {
      {"provider", "openai"},  {"base_url", "https://llm.example"}, {"api_key", "k"},
      {"model", "test-model"}, {"first_token_timeout_ms", "1000"},  {"total_timeout_ms", "5000"}};
}

std::string sseChunk(const std::string& content) {
  sdk::json::Writer w;
  w.beginObject().field("object", "chat.completion.chunk").key("choices").beginArray();
  w.beginObject().key("delta").beginObject().field("content", content).endObject().endObject();
  return "data: " + w.endArray().endObject().take() + "\n\n";
}

TEST(Offline, AnAnswerStreamsInOrderThenCompletes) {
  Fixture f(Config{{"chunk_delay_ms", "10"}});
  f.ask("How would you design a system for a million users?");
  EXPECT_EQ(f.types(), std::vector<std::string>{"answer_suggestion_start"});
  EXPECT_TRUE(f.rooms->room_state.is_streaming);
  f.host.advance(10s);
  const auto chunks = f.rooms->ofType("answer_suggestion_chunk");
  ASSERT_GT(chunks.size(), 5u);
  for (std::size_t i = 0; i < chunks.size(); ++i)
    EXPECT_EQ(chunks[i]["index"].asInt(), static_cast<int>(i));
  const auto done = f.rooms->ofType("answer_suggestion_done");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0]["reason"].asString(), "completed");
  EXPECT_EQ(done[0]["suggestion"].asString(), f.joinedChunks());
  EXPECT_EQ(f.types().back(), "answer_suggestion");
  EXPECT_FALSE(f.rooms->room_state.is_streaming);
  EXPECT_EQ(f.rooms->room_state.partial_answer, f.joinedChunks());
  EXPECT_EQ(f.host.value("answer_streams_started"), 1);
  EXPECT_EQ(f.host.average("avg_stream_duration").count, 1u);
}

TEST(Offline, SyncStateMidStreamShowsThePartialAnswer) {
  Fixture f(Config{{"chunk_delay_ms", "50"}});
  f.ask("Tell me about yourself please");
  f.host.advance(500ms);
  EXPECT_TRUE(f.rooms->room_state.is_streaming);
  EXPECT_FALSE(f.rooms->room_state.partial_answer.empty());
  EXPECT_EQ(f.joinedChunks().rfind(f.rooms->room_state.partial_answer, 0), 0u)
      << "the partial answer is what was streamed so far";
}

TEST(Offline, TheSameQuestionWhileStreamingIsIgnoredAnotherCancels) {
  Fixture f(Config{{"chunk_delay_ms", "50"}});
  f.ask("Tell me about yourself please");
  f.host.advance(200ms);
  f.ask("TELL ME ABOUT YOURSELF PLEASE");  // the same key
  f.host.advance(200ms);
  EXPECT_EQ(f.rooms->ofType("answer_suggestion_start").size(), 1u);
  f.ask("How do you handle a tight deadline under pressure?");
  const auto done = f.rooms->ofType("answer_suggestion_done");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0]["reason"].asString(), "cancelled");
  EXPECT_EQ(done[0]["question"].asString(), "Tell me about yourself please");
  EXPECT_TRUE(f.rooms->ofType("answer_suggestion").empty()) << "none after cancelled";
  f.host.advance(20s);
  EXPECT_EQ(f.rooms->ofType("answer_suggestion_done").back()["reason"].asString(), "completed");
  EXPECT_EQ(f.host.value("answer_streams_cancelled"), 1);
  EXPECT_EQ(f.host.value("answer_streams_started"), 2);
}

TEST(Offline, StopAndAnEmptyRoomCancel) {
  Fixture f(Config{{"chunk_delay_ms", "50"}});
  auto& interviewer = f.host.connect({{"participant", "interviewer"}});
  auto& candidate = f.host.connect({{"participant", "candidate"}});
  f.ask("Tell me about yourself please");
  candidate.receive(R"({"type":"stop_answer_generation"})");
  EXPECT_EQ(candidate.sent("error")[0]["code"].asString(), "forbidden");
  f.host.run();
  EXPECT_TRUE(f.rooms->ofType("answer_suggestion_done").empty());
  interviewer.receive(R"({"type":"stop_answer_generation"})");
  EXPECT_EQ(f.rooms->ofType("answer_suggestion_done").back()["reason"].asString(), "cancelled");

  f.ask("What are your strengths and weaknesses?");
  f.rooms->membership(0);
  f.host.run();
  EXPECT_EQ(f.rooms->ofType("answer_suggestion_done").back()["reason"].asString(), "cancelled");
  EXPECT_EQ(f.host.value("answer_streams_cancelled"), 2);
}

TEST(OpenAi, TheRequestCarriesTheProfileAndTheDeltasStream) {
  Fixture f(openai());
  f.host.connect({{"participant", "candidate"},
                  {"role", "system_design"},
                  {"jd", "Staff engineer, payments"},
                  {"resume", "Ten years of Go"},
                  {"answer_language", "de"}});
  f.ask("How would you design a ledger?");
  ASSERT_EQ(f.host.httpRequests().size(), 1u);
  ScriptedHttp llm = f.host.httpRequests()[0];
  EXPECT_EQ(llm.request().method, "POST");
  EXPECT_EQ(llm.request().url, "https://llm.example/v1/chat/completions");
  Value body;
  ASSERT_TRUE(sdk::json::parse(llm.request().body, body));
  EXPECT_EQ(body["model"].asString(), "test-model");
  EXPECT_TRUE(body["stream"].asBool());
  EXPECT_TRUE(body["stream_options"]["include_usage"].asBool());
  const std::string system(body["messages"][0]["content"].asString());
  const std::string user(body["messages"][1]["content"].asString());
  EXPECT_NE(system.find("system_design"), std::string::npos);
  EXPECT_NE(system.find("'de'"), std::string::npos);
  EXPECT_NE(user.find("Staff engineer, payments"), std::string::npos);
  EXPECT_NE(user.find("Ten years of Go"), std::string::npos);
  EXPECT_NE(user.find("How would you design a ledger?"), std::string::npos);

  llm.respond(200, {{"content-type", "text/event-stream"}});
  llm.body(": keep-alive\n\n");
  llm.body(sseChunk("") + "data: {\"choices\":[{\"delta\":{\"content\":null}}]}\n\n");
  llm.body(sseChunk("Start with "));
  llm.body("data: {\"choices\":[{\"delta\":{\"conte");  // split across reads
  llm.body("nt\":\"the ledger.\"},\"extra\":1}]}\r\n\r\n");
  EXPECT_EQ(f.joinedChunks(), "Start with the ledger.");
  llm.body("data: [DONE]\n\n");
  const auto done = f.rooms->ofType("answer_suggestion_done");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0]["reason"].asString(), "completed");
  EXPECT_EQ(done[0]["suggestion"].asString(), "Start with the ledger.");
}

TEST(OpenAi, ANewQuestionClosesTheRunningRequestAtOnce) {
  Fixture f(openai());
  f.ask("How would you design a ledger?");
  ScriptedHttp first = f.host.httpRequests()[0];
  first.respond(200);
  first.body(sseChunk("Well"));
  f.ask("Tell me about a time you failed");
  EXPECT_TRUE(first.cancelled()) << "the connection is closed, not left reading";
  EXPECT_EQ(f.rooms->ofType("answer_suggestion_done")[0]["reason"].asString(), "cancelled");
  ASSERT_EQ(f.host.httpRequests().size(), 2u);
}

TEST(OpenAi, ErrorsAndTimeoutsFallBackToTheOfflineAnswer) {
  {
    Fixture f(openai());
    f.ask("How would you design a ledger?");
    ScriptedHttp llm = f.host.httpRequests()[0];
    llm.respond(400);
    llm.body(R"({"error":{"message":"bad model","type":"invalid_request_error"}})");
    llm.finish();
    const auto done = f.rooms->ofType("answer_suggestion_done");
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0]["reason"].asString(), "error_fallback");
    EXPECT_FALSE(done[0]["suggestion"].asString().empty());
    EXPECT_EQ(f.rooms->ofType("answer_suggestion")[0]["reason"].asString(), "error_fallback");
  }
  {
    Fixture f(openai());
    f.ask("How would you design a ledger?");
    ScriptedHttp llm = f.host.httpRequests()[0];
    llm.respond(200);
    llm.body(sseChunk("Partial"));
    llm.body("data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n");
    EXPECT_EQ(f.rooms->ofType("answer_suggestion_done")[0]["reason"].asString(), "error_fallback");
    EXPECT_TRUE(llm.cancelled());
  }
  {
    Fixture f(openai());
    f.ask("How would you design a ledger?");
    ScriptedHttp llm = f.host.httpRequests()[0];
    llm.respond(200);
    f.host.advance(999ms);
    EXPECT_TRUE(f.rooms->ofType("answer_suggestion_done").empty());
    f.host.advance(1ms);
    EXPECT_EQ(f.rooms->ofType("answer_suggestion_done")[0]["reason"].asString(),
              "timeout_fallback");
    EXPECT_TRUE(llm.cancelled());
  }
  {
    Fixture f(openai());
    f.ask("How would you design a ledger?");
    ScriptedHttp llm = f.host.httpRequests()[0];
    llm.respond(200);
    llm.body(sseChunk("Some"));
    llm.fail(sdk::UpstreamResult::Kind::kClosed, "the peer closed the connection");
    EXPECT_EQ(f.rooms->ofType("answer_suggestion_done")[0]["reason"].asString(), "error_fallback");
  }
}

TEST(OpenAi, AnEmptyAnswerEndsEmpty) {
  Fixture f(openai());
  f.ask("How would you design a ledger?");
  ScriptedHttp llm = f.host.httpRequests()[0];
  llm.respond(200);
  llm.body(sseChunk("") + "data: [DONE]\n\n");
  EXPECT_EQ(f.rooms->ofType("answer_suggestion_done")[0]["reason"].asString(), "empty");
}

}  // namespace
}  // namespace parley::answers
