// Instruments a plugin owns and registers with the core's metrics registry.
//
// Updates are lock-free and cheap enough for any hot path: a relaxed atomic for counters and
// gauges; for averages and histograms two atomics plus one per bucket, with no lock shared between
// threads. The registry reads them when /api/system/metrics or /metrics is scraped.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "parley/sdk/export.hpp"
#include "parley/sdk/registration.hpp"

namespace parley::sdk {

// Monotonic count of events since process start.
class PARLEY_SDK_API Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A level that goes up and down (connections open, tokens active, a configured value).
class PARLEY_SDK_API Gauge {
 public:
  void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  void sub(std::int64_t d) noexcept { value_.fetch_sub(d, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Sum and count of observations, optionally with buckets. An Average is a Histogram without
// buckets. A snapshot always has sum, count and buckets from the same set of observations: a
// reader that finds no observation in flight reads both shards as they are; otherwise it swaps
// shards (writers add to a "hot" one) and waits for the in-flight writes of the one it reads (the
// scheme of the Prometheus Go client). No writer ever waits; a reader waits only while another
// reader swaps.
class PARLEY_SDK_API Histogram {
 public:
  struct Snapshot {
    double sum = 0;
    std::uint64_t count = 0;
    std::vector<std::uint64_t> buckets;  // per bound, not cumulative; the last is +Inf
  };

  // Upper bounds, strictly increasing; empty for a plain average.
  explicit Histogram(std::vector<double> upper_bounds = {});
  ~Histogram();
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void observe(double value) noexcept;  // NaN and infinities are ignored
  Snapshot snapshot() const;
  // The same into `into`, reusing its storage: a reader that scrapes often allocates nothing
  // (since SDK 1.2).
  void snapshot(Snapshot& into) const;
  // Sum and count alone, from the same set of observations, without touching the buckets: what an
  // average needs (since SDK 1.2).
  struct Totals {
    double sum = 0;
    std::uint64_t count = 0;
  };
  Totals totals() const;
  const std::vector<double>& bounds() const noexcept { return bounds_; }

  // Buckets from 50 us to 10 s, for latencies measured in milliseconds.
  static std::vector<double> millisecondBuckets();
  // Buckets from 10 ms to 5 min, for durations measured in seconds.
  static std::vector<double> secondBuckets();

 private:
  struct Shard;
  template <class Read>
  bool readQuiet(Read&& read) const;

  std::vector<double> bounds_;
  std::atomic<std::uint64_t> started_and_hot_{
      0};  // bit 63: hot shard; the rest: observations begun
  std::unique_ptr<Shard[]> shards_;
  // Shard swaps begun and ended: odd while a reader moves observations between the shards. A
  // reader that reads both shards as they are checks it did not change meanwhile (a sequence
  // lock among readers; writers never look at it). It and its padding fill the place where SDK 1.2
  // had a mutex, so a plugin built against that header has the same layout.
  mutable std::atomic<std::uint64_t> swaps_{0};
  [[maybe_unused]] char reserved_[sizeof(std::mutex) - sizeof(std::atomic<std::uint64_t>)] = {};
};
using Average = Histogram;

// Counts events by category (disconnects by reason, say). The total and the per-category counts
// come from one consistent snapshot, so in any scrape the total equals the sum of the categories.
class PARLEY_SDK_API CategoryCounter {
 public:
  struct Snapshot {
    std::uint64_t total = 0;
    std::vector<std::uint64_t> counts;  // one per category
  };
  explicit CategoryCounter(std::size_t categories);
  void inc(std::size_t category) noexcept;  // an out-of-range category is ignored
  Snapshot snapshot() const;
  void snapshot(Snapshot& into) const;  // reusing `into`'s storage (since SDK 1.2)
  std::size_t categories() const noexcept { return categories_; }

 private:
  std::size_t categories_;
  Histogram counts_;  // bucket i counts category i
};

// How a CategoryCounter appears: `total_name` holds the total, `names[i]` category i; each is a
// counter field of its own in JSON and in Prometheus.
struct CategorySpec {
  std::string total_name;
  std::vector<std::string> names;
  std::string help;
};

// Since SDK 1.2. A CategoryCounter exported to Prometheus as one family with a label,
// parley_<name>_total{<label>="<value>"}; in /api/system/metrics, "<name>" holds the total.
// The label and its values are [a-z][a-z0-9_]*.
struct LabeledSpec {
  std::string name;                 // e.g. "fanout_messages_dropped"
  std::string label;                // e.g. "reason"
  std::vector<std::string> values;  // one per category, in category order
  std::string help;
};

// How an average appears in /api/system/metrics: `name` is the average itself, `total_name` and
// `samples_name` its raw pair, so a monitor can compute the average over any window from two
// snapshots. In /metrics it is `parley_<name without "avg_">` in base units ("_ms" becomes
// "_seconds"), a histogram if it has buckets, else a summary.
struct AverageSpec {
  std::string name;          // e.g. "avg_latency_ms"
  std::string total_name;    // e.g. "latency_total_ms"
  std::string samples_name;  // e.g. "latency_samples"
  std::string help;
  int decimals = 2;  // digits after the point in the JSON average
};

// Where a plugin registers its instruments. Names are [a-z][a-z0-9_]* and unique across the whole
// process: registering a name someone already holds throws RegistrationError naming both owners.
// A name from the metrics contract must be registered with the contract's kind.
class PARLEY_SDK_API MetricsRegistry {
 public:
  virtual ~MetricsRegistry();
  virtual Registration add(const std::string& name, const std::string& help,
                           std::shared_ptr<Counter> counter) = 0;
  virtual Registration add(const std::string& name, const std::string& help,
                           std::shared_ptr<Gauge> gauge) = 0;
  virtual Registration add(const AverageSpec& spec, std::shared_ptr<Histogram> average) = 0;
  // Since SDK 1.1.
  virtual Registration add(const CategorySpec& spec, std::shared_ptr<CategoryCounter> counter) = 0;
  // Since SDK 1.2.
  virtual Registration add(const LabeledSpec& spec, std::shared_ptr<CategoryCounter> counter) = 0;
  // A gauge computed when metrics are scraped (tokens active, say): `read` runs on the scraping
  // thread while other scrapes may run too, so it must be quick and thread-safe. Once the
  // Registration is revoked it is not running and will not run again.
  virtual Registration addComputed(const std::string& name, const std::string& help,
                                   std::function<std::int64_t()> read) = 0;
};

}  // namespace parley::sdk
