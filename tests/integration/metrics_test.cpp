// GET /api/system/metrics against the contract document itself, and GET /metrics through promtool.
#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>

#include <regex>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"

namespace parley::test {
namespace {

// The example response in ../shared/contract/system-metrics.md, in document order.
std::vector<std::pair<std::string, bool>> contractExample() {  // name, is_integer
  const std::string doc =
      readFile(std::string(PARLEY_SOURCE_DIR) + "/../shared/contract/system-metrics.md");
  const auto begin = doc.find("```json");
  const auto end = doc.find("```", begin + 7);
  const std::string json = doc.substr(begin + 7, end - begin - 7);
  std::vector<std::pair<std::string, bool>> fields;
  static const std::regex kField("\"([a-z_]+)\":\\s*(-?[0-9.]+)");
  for (std::sregex_iterator it(json.begin(), json.end(), kField), e; it != e; ++it)
    fields.emplace_back((*it)[1], (*it)[2].str().find('.') == std::string::npos);
  return fields;
}

TEST(Metrics, EveryContractFieldWithItsTypeAndOrder) {
  const auto contract = contractExample();
  ASSERT_EQ(contract.size(), 22u) << "the contract example lists 22 fields";
  Parleyd p(fixtureArgs(""));
  auto r = get(p.port(), "/api/system/metrics", bearer(kOperatorToken));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  auto json = r.json();
  std::size_t last_pos = 0;
  for (const auto& [name, is_integer] : contract) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(json->has(name));
    const Poco::Dynamic::Var v = json->get(name);
    EXPECT_TRUE(v.isNumeric());
    EXPECT_EQ(v.isInteger(), is_integer);
    if (name != "generated_at") {
      EXPECT_EQ(v.convert<double>(), 0.0) << "no plugin loaded: every field reads 0";
    }
    const std::size_t pos = r.body.find("\"" + name + "\":");
    EXPECT_GT(pos, last_pos == 0 ? 0 : last_pos) << "fields keep the contract's order";
    last_pos = pos;
  }
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_NEAR(json->getValue<double>("generated_at"), now, 5.0);
  // Averages have the contract's precision even at zero.
  EXPECT_NE(r.body.find("\"avg_stream_duration\":0.0000,"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"avg_latency_ms\":0.00,"), std::string::npos) << r.body;
}

TEST(Metrics, AveragesAndTheirRawPairsMove) {
  Parleyd p(fixtureArgs("fixture_ok"));
  for (const char* ms : {"10", "20.5", "0.125"})
    ASSERT_EQ(
        http(p.port(), "POST", std::string("/fixture/observe?ms=") + ms, bearer(kOperatorToken))
            .status,
        200);
  auto r = get(p.port(), "/api/system/metrics", bearer(kOperatorToken));
  auto json = r.json();
  EXPECT_NE(r.body.find("\"avg_latency_ms\":10.21,"), std::string::npos) << r.body;
  EXPECT_DOUBLE_EQ(json->getValue<double>("latency_total_ms"), 30.625);
  EXPECT_EQ(json->getValue<int>("latency_samples"), 3);
  EXPECT_EQ(json->getValue<int>("answer_streams_started"), 3);
  EXPECT_EQ(json->getValue<int>("share_token_ttl_sec"), 86400);
  // A plugin's own field follows the contract's.
  EXPECT_TRUE(json->has("fixture_events"));
  EXPECT_GT(r.body.find("\"fixture_events\""), r.body.find("\"fanout_delay_samples\""));
  // Averages of absent plugins stay 0 with their precision.
  EXPECT_NE(r.body.find("\"avg_fanout_delay_ms\":0.00,"), std::string::npos);
}

TEST(Metrics, NeedsABearer) {
  Parleyd p(fixtureArgs(""));
  EXPECT_EQ(get(p.port(), "/api/system/metrics").status, 401);
  EXPECT_EQ(get(p.port(), "/metrics").status, 401);
}

TEST(Metrics, PrometheusExpositionPassesPromtool) {
  Parleyd p(fixtureArgs("fixture_ok"));
  ASSERT_EQ(http(p.port(), "POST", "/fixture/observe?ms=3", bearer(kOperatorToken)).status, 200);
  auto r = get(p.port(), "/metrics", bearer(kOperatorToken));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("# TYPE parley_latency_seconds histogram"), std::string::npos);
  EXPECT_NE(r.body.find("parley_latency_seconds_bucket{le=\"0.005\"} 1"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("parley_latency_seconds_count 1"), std::string::npos);
  EXPECT_NE(r.body.find("parley_answer_streams_started_total 1"), std::string::npos);
  EXPECT_NE(r.body.find("parley_ws_disconnects_total 0"), std::string::npos);
  EXPECT_NE(r.body.find("parley_share_token_ttl_seconds 86400"), std::string::npos);

  TempDir dir("promtool");
  writeFile(dir.path() + "/metrics.txt", r.body);
  RunResult check = runCommand(
      {"/bin/sh", "-c",
       std::string(PARLEY_PROMTOOL) + " check metrics < " + dir.path() + "/metrics.txt"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

}  // namespace
}  // namespace parley::test
