#include "core/metrics/registry.hpp"

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "parley/sdk/errors.hpp"

namespace parley::core {
namespace {

// The document's keys in order: the contract's fields as /work/shared/contract/system-metrics.md
// lists them, then the averages' raw pairs.
const std::vector<std::string> kJsonOrder = {"generated_at",
                                             "ws_connections_active",
                                             "ws_rooms_active",
                                             "ws_disconnects_total",
                                             "ws_disconnect_client_disconnect",
                                             "ws_disconnect_stop_command",
                                             "ws_disconnect_receive_audio_error",
                                             "ws_disconnect_deepgram_error",
                                             "ws_disconnect_socket_closed",
                                             "ws_disconnect_max_turns_reached",
                                             "ws_disconnect_other",
                                             "answer_streams_started",
                                             "answer_streams_cancelled",
                                             "emotional_events_emitted",
                                             "assist_hints_emitted",
                                             "share_tokens_active",
                                             "share_tokens_revoked",
                                             "avg_stream_duration",
                                             "avg_latency_ms",
                                             "avg_redis_publish_latency_ms",
                                             "avg_fanout_delay_ms",
                                             "share_token_ttl_sec",
                                             "stream_duration_total_sec",
                                             "stream_duration_samples",
                                             "latency_total_ms",
                                             "latency_samples",
                                             "redis_publish_total_ms",
                                             "redis_publish_samples",
                                             "fanout_delay_total_ms",
                                             "fanout_delay_samples"};

std::string Json(const MetricsRegistry& reg, double at = 1739771400.123) {
  std::string out;
  reg.writeJson(out, at);
  return out;
}

// Parses keeping the document's key order, so order can be asserted too.
Poco::JSON::Object::Ptr Parse(const std::string& text) {
  Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::shared_ptr<sdk::Counter> CounterOf(std::uint64_t n) {
  auto c = std::make_shared<sdk::Counter>();
  c->inc(n);
  return c;
}
std::shared_ptr<sdk::Gauge> GaugeOf(std::int64_t v) {
  auto g = std::make_shared<sdk::Gauge>();
  g->set(v);
  return g;
}
std::shared_ptr<sdk::Average> Avg() {
  return std::make_shared<sdk::Average>();
}
sdk::AverageSpec LatencySpec() {
  return {"avg_latency_ms", "latency_total_ms", "latency_samples", "Turn latency.", 2};
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The message of the RegistrationError `f` throws, or "" (and a failure) if it throws none.
template <class F>
std::string Refusal(F&& f) {
  try {
    f();
  } catch (const sdk::RegistrationError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no RegistrationError";
  return "";
}

TEST(MetricsRegistryJsonTest, EmptyRegistryHasEveryContractFieldInOrder) {
  MetricsRegistry reg;
  const std::string text = Json(reg);
  auto obj = Parse(text);
  std::vector<std::string> names;
  obj->getNames(names);
  EXPECT_EQ(names, kJsonOrder);
  EXPECT_EQ(text.rfind("{\"generated_at\":1739771400.123,", 0), 0u) << text;

  for (const auto& n : names) {
    // Averages, raw totals and the timestamp are floats; counts, levels and samples integers.
    const bool fractional = n == "generated_at" || n.rfind("avg_", 0) == 0 || Has(n, "_total_");
    EXPECT_EQ(obj->get(n).isInteger(), !fractional) << n;
    if (n != "generated_at") {
      EXPECT_EQ(obj->getValue<double>(n), 0.0) << n;
    }
  }
  // The contract fixes the decimals: 4 for the stream duration, 2 for the others.
  EXPECT_TRUE(Has(text, "\"avg_stream_duration\":0.0000,")) << text;
  for (std::string n : {"avg_latency_ms", "avg_redis_publish_latency_ms", "avg_fanout_delay_ms"})
    EXPECT_TRUE(Has(text, "\"" + n + "\":0.00,")) << text;
}

TEST(MetricsRegistryJsonTest, RegisteredValuesAppear) {
  MetricsRegistry reg;
  auto c = CounterOf(61);
  auto lat = Avg();
  lat->observe(1.0);
  lat->observe(2.0);
  auto r1 = reg.addCounter("alpha", "answer_streams_started", "", c);
  auto r2 = reg.addGauge("alpha", "ws_connections_active", "", GaugeOf(12));
  auto r3 = reg.addGauge("beta", "share_token_ttl_sec", "", GaugeOf(86400));
  auto r4 = reg.addAverage("beta", LatencySpec(), lat);
  auto dur = Avg();
  dur->observe(2.14321);
  // Asks for 2 decimals; the contract's 4 win.
  sdk::AverageSpec spec{"avg_stream_duration", "stream_duration_total_sec",
                        "stream_duration_samples", "", 2};
  auto r5 = reg.addAverage("beta", spec, dur);
  c->inc();  // read when composed, not when registered

  const std::string text = Json(reg);
  auto obj = Parse(text);
  EXPECT_EQ(obj->getValue<long>("answer_streams_started"), 62);
  EXPECT_EQ(obj->getValue<long>("ws_connections_active"), 12);
  EXPECT_EQ(obj->getValue<long>("share_token_ttl_sec"), 86400);
  EXPECT_TRUE(Has(text, "\"avg_latency_ms\":1.50,")) << text;
  EXPECT_DOUBLE_EQ(obj->getValue<double>("latency_total_ms"), 3.0);
  EXPECT_EQ(obj->getValue<long>("latency_samples"), 2);
  EXPECT_TRUE(Has(text, "\"avg_stream_duration\":2.1432,")) << text;
}

sdk::CategorySpec DisconnectSpec() {
  sdk::CategorySpec spec{"ws_disconnects_total", {}, "Disconnects."};
  for (std::size_t i = 4; i < 11; ++i) spec.names.push_back(kJsonOrder[i]);
  return spec;
}

// Category counters are read into a buffer of the scraping thread's that outlives the scrape: each
// scrape still shows its own registry's counters, as they are at that moment.
TEST(MetricsRegistryJsonTest, CategoryCountersAreReadAfreshEachScrape) {
  MetricsRegistry reg;
  auto disconnects = std::make_shared<sdk::CategoryCounter>(7);
  auto jobs = std::make_shared<sdk::CategoryCounter>(2);
  auto r1 = reg.addCategories("alpha", DisconnectSpec(), disconnects);
  auto r2 = reg.addCategories("alpha", {"jobs_total", {"jobs_ok", "jobs_failed"}, ""}, jobs);
  disconnects->inc(0);
  disconnects->inc(6);
  jobs->inc(1);
  auto obj = Parse(Json(reg));
  EXPECT_EQ(obj->getValue<long>("ws_disconnects_total"), 2);
  EXPECT_EQ(obj->getValue<long>("ws_disconnect_client_disconnect"), 1);
  EXPECT_EQ(obj->getValue<long>("ws_disconnect_other"), 1);
  EXPECT_EQ(obj->getValue<long>("jobs_total"), 1);
  EXPECT_EQ(obj->getValue<long>("jobs_failed"), 1);

  // Another registry scraped on the same thread in between, with counters of its own.
  MetricsRegistry other;
  auto others = std::make_shared<sdk::CategoryCounter>(7);
  auto r3 = other.addCategories("beta", DisconnectSpec(), others);
  others->inc(3);
  auto other_obj = Parse(Json(other));
  EXPECT_EQ(other_obj->getValue<long>("ws_disconnects_total"), 1);
  EXPECT_EQ(other_obj->getValue<long>("ws_disconnect_deepgram_error"), 1);
  EXPECT_EQ(other_obj->getValue<long>("ws_disconnect_other"), 0);

  disconnects->inc(6);
  jobs->inc(0);
  r2->revoke();
  obj = Parse(Json(reg));
  EXPECT_EQ(obj->getValue<long>("ws_disconnects_total"), 3);
  EXPECT_EQ(obj->getValue<long>("ws_disconnect_other"), 2);
  EXPECT_EQ(obj->getValue<long>("ws_disconnect_deepgram_error"), 0);
  EXPECT_FALSE(obj->has("jobs_total"));
}

TEST(MetricsRegistryJsonTest, ExtrasFollowTheContractInRegistrationOrder) {
  MetricsRegistry reg;
  auto job = Avg();
  job->observe(4.0);
  auto r1 = reg.addCounter("alpha", "zz_custom", "", CounterOf(7));
  auto r2 = reg.addAverage("alpha", {"job_ms", "job_total_ms", "job_samples", "", 1}, job);
  auto r3 = reg.addGauge("beta", "aa_level", "", GaugeOf(-2));

  const std::string text = Json(reg);
  auto obj = Parse(text);
  std::vector<std::string> names;
  obj->getNames(names);
  std::vector<std::string> want = kJsonOrder;
  want.insert(want.end(), {"zz_custom", "job_ms", "job_total_ms", "job_samples", "aa_level"});
  EXPECT_EQ(names, want);
  EXPECT_EQ(obj->getValue<long>("zz_custom"), 7);
  EXPECT_EQ(obj->getValue<long>("aa_level"), -2);
  EXPECT_TRUE(Has(text, "\"job_ms\":4.0,")) << text;
  EXPECT_EQ(obj->getValue<long>("job_samples"), 1);
}

// One bad observation (a 0/0 somewhere in a plugin) must not make the whole document unparsable.
TEST(MetricsRegistryJsonTest, NonFiniteObservationKeepsTheDocumentValid) {
  MetricsRegistry reg;
  auto lat = Avg();
  lat->observe(std::numeric_limits<double>::quiet_NaN());
  auto r = reg.addAverage("alpha", LatencySpec(), lat);
  const std::string text = Json(reg);
  EXPECT_NO_THROW(Parse(text)) << text;
}

TEST(MetricsRegistryTest, DuplicateNameNamesBothOwners) {
  MetricsRegistry reg;
  auto r = reg.addCounter("alpha", "jobs_done", "", CounterOf(0));
  std::string msg = Refusal([&] { reg.addGauge("beta", "jobs_done", "", GaugeOf(0)); });
  EXPECT_TRUE(Has(msg, "jobs_done")) << msg;
  EXPECT_TRUE(Has(msg, "alpha")) << msg;
  EXPECT_TRUE(Has(msg, "beta")) << msg;
}

TEST(MetricsRegistryTest, InvalidNamesAreRefused) {
  MetricsRegistry reg;
  for (const char* name : {"Bad", "1x", "a-b", "", "_x", "a b"})
    EXPECT_THROW(reg.addCounter("alpha", name, "", CounterOf(0)), sdk::RegistrationError) << name;
  Refusal([&] { reg.addAverage("alpha", {"job_ms", "Job_total", "job_samples", "", 2}, Avg()); });
  Refusal([&] { reg.addCounter("alpha", "null_counter", "", nullptr); });
}

TEST(MetricsRegistryTest, ContractShapeIsEnforced) {
  MetricsRegistry reg;
  std::string msg =
      Refusal([&] { reg.addCounter("alpha", "ws_connections_active", "", CounterOf(0)); });
  EXPECT_TRUE(Has(msg, "ws_connections_active")) << msg;
  Refusal([&] { reg.addGauge("alpha", "ws_disconnects_total", "", GaugeOf(0)); });
  Refusal([&] { reg.addCounter("alpha", "avg_latency_ms", "", CounterOf(0)); });
  Refusal([&] { reg.addAverage("alpha", {"ws_rooms_active", "r_total", "r_n", "", 2}, Avg()); });
  // A contract average must use the contract's raw pair.
  msg = Refusal([&] {
    reg.addAverage("alpha", {"avg_latency_ms", "lat_total_ms", "lat_samples", "", 2}, Avg());
  });
  EXPECT_TRUE(Has(msg, "latency_total_ms")) << msg;
  // Nor may anyone else claim a contract average's raw pair.
  msg = Refusal([&] { reg.addCounter("alpha", "latency_samples", "", CounterOf(0)); });
  EXPECT_TRUE(Has(msg, "latency_samples")) << msg;
  Refusal([&] { reg.addGauge("alpha", "fanout_delay_total_ms", "", GaugeOf(0)); });
  Refusal([&] { reg.addAverage("alpha", {"job_ms", "latency_total_ms", "job_n", "", 2}, Avg()); });
  // Nothing was claimed by the refused attempts.
  EXPECT_NO_THROW(reg.addAverage("alpha", LatencySpec(), Avg()));
  EXPECT_NO_THROW(reg.addGauge("alpha", "ws_connections_active", "", GaugeOf(0)));
}

TEST(MetricsRegistryTest, RevokingFreesTheName) {
  MetricsRegistry reg;
  auto lat = Avg();
  lat->observe(10.0);
  auto rc = reg.addCounter("alpha", "jobs_done", "", CounterOf(5));
  auto rg = reg.addGauge("alpha", "ws_connections_active", "", GaugeOf(5));
  auto ra = reg.addAverage("alpha", LatencySpec(), lat);
  for (const auto& r : {rc, rg, ra}) r->revoke();
  const std::string text = Json(reg);
  auto obj = Parse(text);
  EXPECT_FALSE(obj->has("jobs_done"));
  // Revoked contract fields read 0 again.
  EXPECT_EQ(obj->getValue<long>("ws_connections_active"), 0);
  EXPECT_EQ(obj->getValue<long>("latency_samples"), 0);
  EXPECT_TRUE(Has(text, "\"avg_latency_ms\":0.00,")) << text;
  // The names are free again; the raw pair goes back to the contract, not up for grabs.
  Refusal([&] { reg.addCounter("beta", "latency_samples", "", CounterOf(0)); });
  EXPECT_NO_THROW(reg.addAverage("beta", LatencySpec(), Avg()));
  EXPECT_NO_THROW(reg.addGauge("beta", "ws_connections_active", "", GaugeOf(1)));
  auto again = reg.addCounter("beta", "jobs_done", "", CounterOf(9));
  EXPECT_EQ(Parse(Json(reg))->getValue<long>("jobs_done"), 9);
  again->revoke();
  {  // A plugin's handle revokes when dropped.
    sdk::Registration handle(reg.addCounter("gamma", "jobs_done", "", CounterOf(1)));
    EXPECT_TRUE(handle.active());
  }
  EXPECT_NO_THROW(reg.addCounter("delta", "jobs_done", "", CounterOf(1)));
}

bool Once(const std::string& text, const std::string& part) {
  return Has(text, part) && text.find(part) == text.rfind(part);
}

// Names are unique process-wide, raw pairs included: either the registry refuses an average whose
// raw pair reuses a taken name, or the document still has each key once.
TEST(MetricsRegistryTest, RawPairNamesNeverDuplicateAJsonKey) {
  const sdk::AverageSpec cases[] = {
      {"job_ms", "job_ms", "job_n", "", 2},                      // the average's own name
      {"job_ms", "job_n", "job_n", "", 2},                       // total == samples
      {"avg_job_ms", "answer_streams_started", "job_n", "", 2},  // a contract field's name
  };
  for (const auto& spec : cases) {
    MetricsRegistry reg;
    std::shared_ptr<sdk::Revoker> r;
    try {
      r = reg.addAverage("alpha", spec, Avg());
    } catch (const sdk::RegistrationError&) {
      continue;
    }
    const std::string text = Json(reg);
    for (const auto& key : std::set<std::string>{spec.name, spec.total_name, spec.samples_name})
      EXPECT_TRUE(Once(text, "\"" + key + "\":"))
          << "accepted " << spec.name << "/" << spec.total_name << "/" << spec.samples_name
          << "; \"" << key << "\" repeats";
  }
}

// Sample lines of a Prometheus text document: "name{labels}" -> value.
std::map<std::string, double> SampleMap(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    out.emplace(line.substr(0, sp), std::stod(line.substr(sp + 1)));
  }
  return out;
}
std::string Prom(const MetricsRegistry& reg) {
  std::string out;
  reg.writePrometheus(out);
  return out;
}

TEST(MetricsRegistryPromTest, ScalarFamiliesHeadersAndValues) {
  MetricsRegistry reg;
  auto r1 = reg.addCounter("alpha", "answer_streams_started", "", CounterOf(3));
  auto r2 = reg.addCounter("alpha", "ws_disconnects_total", "", CounterOf(4));
  auto r3 = reg.addCounter("alpha", "jobs_done", "", CounterOf(2));
  auto r4 = reg.addGauge("alpha", "queue_depth", "Jobs waiting\\now\nnext line.", GaugeOf(6));
  const std::string text = Prom(reg);
  auto m = SampleMap(text);
  EXPECT_EQ(m["parley_answer_streams_started_total"], 3);
  EXPECT_EQ(m["parley_ws_disconnects_total"], 4);
  EXPECT_FALSE(Has(text, "_total_total")) << text;
  EXPECT_TRUE(Has(text, "# TYPE parley_answer_streams_started_total counter\n")) << text;
  EXPECT_TRUE(Has(text, "# HELP parley_answer_streams_started_total Answer")) << text;
  EXPECT_TRUE(Has(text, "# TYPE parley_ws_connections_active gauge\n")) << text;
  EXPECT_TRUE(Has(text, "# TYPE parley_share_token_ttl_seconds gauge\n")) << text;
  // Unregistered contract fields still appear, as zero.
  EXPECT_EQ(m.count("parley_ws_connections_active"), 1u);
  EXPECT_EQ(m["parley_ws_connections_active"], 0);
  // Extras: the name stands in for a missing help; HELP escapes backslash and newline.
  EXPECT_EQ(m["parley_jobs_done_total"], 2);
  EXPECT_EQ(m["parley_queue_depth"], 6);
  EXPECT_TRUE(Has(text, "# HELP parley_jobs_done_total jobs_done\n")) << text;
  EXPECT_TRUE(Has(text, "# HELP parley_queue_depth Jobs waiting\\\\now\\nnext line.\n")) << text;
}

TEST(MetricsRegistryPromTest, AveragesBecomeBaseUnitFamilies) {
  MetricsRegistry reg;
  auto lat = std::make_shared<sdk::Histogram>(std::vector<double>{1, 10, 100});
  for (double v : {0.5, 5.0, 50.0, 50.0, 500.0}) lat->observe(v);
  auto dur = Avg();
  dur->observe(2.0);
  dur->observe(3.0);
  auto r1 = reg.addAverage("alpha", LatencySpec(), lat);
  sdk::AverageSpec spec{"avg_stream_duration", "stream_duration_total_sec",
                        "stream_duration_samples", "", 2};
  auto r2 = reg.addAverage("alpha", spec, dur);
  const std::string text = Prom(reg);
  auto m = SampleMap(text);

  // Milliseconds with buckets: a histogram in seconds, bounds and sum scaled, counts cumulative.
  EXPECT_TRUE(Has(text, "# TYPE parley_latency_seconds histogram\n")) << text;
  EXPECT_TRUE(Has(text, "# HELP parley_latency_seconds ")) << text;
  std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
  const std::string prefix = "parley_latency_seconds_bucket{le=\"";
  for (const auto& [name, value] : m)
    if (name.rfind(prefix, 0) == 0)
      buckets.emplace_back(std::stod(name.substr(prefix.size())), value);
  std::sort(buckets.begin(), buckets.end());  // by le; "+Inf" parses as infinity
  ASSERT_EQ(buckets.size(), 4u) << text;
  const double want_le[] = {0.001, 0.01, 0.1}, want_count[] = {1, 2, 4, 5};
  for (std::size_t i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(buckets[i].first, want_le[i]) << i;
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(buckets[i].second, want_count[i]) << i;
  EXPECT_TRUE(Has(text, prefix + "+Inf\"} 5\n")) << text;
  EXPECT_EQ(m["parley_latency_seconds_count"], 5);
  EXPECT_DOUBLE_EQ(m["parley_latency_seconds_sum"], 0.6055);

  // Seconds without buckets: a summary, unscaled.
  EXPECT_TRUE(Has(text, "# TYPE parley_stream_duration_seconds summary\n")) << text;
  EXPECT_DOUBLE_EQ(m["parley_stream_duration_seconds_sum"], 5.0);
  EXPECT_EQ(m["parley_stream_duration_seconds_count"], 2);
  EXPECT_FALSE(Has(text, "parley_stream_duration_seconds_bucket")) << text;
}

// Distinct names must stay distinct families in /metrics, or the document is invalid: either
// the registry refuses the second name or the family appears once.
TEST(MetricsRegistryPromTest, DistinctNamesStayDistinctFamilies) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"jobs", "jobs_total"}, "jobs_total"},
      {{"wait_ms", "wait_seconds"}, "wait_seconds_total"},
      {{"ws_disconnects"}, "ws_disconnects_total"}};  // the contract's own counter
  for (const auto& [names, family] : cases) {
    MetricsRegistry reg;
    std::vector<std::shared_ptr<sdk::Revoker>> held;
    for (const auto& n : names) {
      try {
        held.push_back(reg.addCounter("alpha", n, "", CounterOf(1)));
      } catch (const sdk::RegistrationError&) {
      }
    }
    EXPECT_TRUE(Once(Prom(reg), "# TYPE parley_" + family + " ")) << "parley_" << family;
  }
}

// The real parser and linter has the last word on the exposition format.
TEST(MetricsRegistryPromTest, PromtoolAcceptsTheOutput) {
  MetricsRegistry reg;
  auto plain = Avg();
  plain->observe(1.25);
  auto hist = std::make_shared<sdk::Histogram>(sdk::Histogram::millisecondBuckets());
  for (double v : {0.01, 0.3, 7.0, 20000.0}) hist->observe(v);
  auto r1 = reg.addCounter("alpha", "jobs_done", "Jobs done.", CounterOf(3));
  auto r2 = reg.addGauge("alpha", "queue_depth", "Jobs waiting.", GaugeOf(4));
  auto r3 = reg.addAverage("alpha", {"avg_job_ms", "job_total_ms", "job_n", "Jobs.", 2}, plain);
  auto r4 = reg.addAverage("alpha", LatencySpec(), hist);
  const std::string text = Prom(reg);

  const std::string path = (std::filesystem::temp_directory_path() /
                            ("parley-prom-" + std::to_string(::getpid()) + ".txt"))
                               .string();
  std::ofstream(path) << text;
  // promtool prints what it finds to the test's output.
  const int status = std::system(("/usr/bin/promtool check metrics < '" + path + "'").c_str());
  std::filesystem::remove(path);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << text;
}

}  // namespace
}  // namespace parley::core
