#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "parley/sdk/metrics.hpp"

namespace parley::sdk {
namespace {

std::uint64_t BucketTotal(const Histogram::Snapshot& s) {
  return std::accumulate(s.buckets.begin(), s.buckets.end(), std::uint64_t{0});
}

TEST(CounterTest, IncrementsByOneAndByN) {
  Counter c;
  EXPECT_EQ(c.value(), 0u);
  c.inc();
  c.inc(41);
  EXPECT_EQ(c.value(), 42u);
}

TEST(GaugeTest, SetAddSub) {
  Gauge g;
  g.set(10);
  g.add(5);
  g.sub(20);
  EXPECT_EQ(g.value(), -5);
}

TEST(HistogramTest, EmptySnapshotIsZero) {
  Histogram h({1, 2});
  auto s = h.snapshot();
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.sum, 0.0);
  EXPECT_EQ(s.buckets, (std::vector<std::uint64_t>{0, 0, 0}));
}

TEST(HistogramTest, AverageWithoutBucketsSumsAndCounts) {
  Average a;
  a.observe(1.5);
  a.observe(2.5);
  a.observe(-1.0);
  auto s = a.snapshot();
  EXPECT_EQ(s.count, 3u);
  EXPECT_DOUBLE_EQ(s.sum, 3.0);
  EXPECT_TRUE(s.buckets.empty());
  EXPECT_TRUE(a.bounds().empty());
}

TEST(HistogramTest, BucketPlacementUsesLeSemantics) {
  Histogram h({1, 5, 10});
  // Bucket i counts values in (bounds[i-1], bounds[i]]; the last is +Inf.
  for (double v : {0.5, 1.0}) h.observe(v);      // le=1
  for (double v : {1.0001, 5.0}) h.observe(v);   // le=5
  h.observe(10.0);                               // le=10
  for (double v : {10.0001, 1e9}) h.observe(v);  // +Inf
  auto s = h.snapshot();
  EXPECT_EQ(s.buckets, (std::vector<std::uint64_t>{2, 2, 1, 2}));
  EXPECT_EQ(s.count, 7u);
  EXPECT_EQ(BucketTotal(s), s.count);
  EXPECT_DOUBLE_EQ(s.sum, 0.5 + 1.0 + 1.0001 + 5.0 + 10.0 + 10.0001 + 1e9);
}

TEST(HistogramTest, BoundsAreKept) {
  Histogram h({0.5, 1, 2});
  EXPECT_EQ(h.bounds(), (std::vector<double>{0.5, 1, 2}));
}

TEST(HistogramTest, ConstructorRefusesNonIncreasingBounds) {
  EXPECT_THROW(Histogram({1, 1}), std::invalid_argument);
  EXPECT_THROW(Histogram({2, 1}), std::invalid_argument);
  EXPECT_THROW(Histogram({1, 3, 2}), std::invalid_argument);
  EXPECT_NO_THROW(Histogram({1}));
  EXPECT_NO_THROW(Histogram(std::vector<double>{}));
}

TEST(HistogramTest, StandardBucketSetsAreStrictlyIncreasing) {
  for (const auto& bounds : {Histogram::millisecondBuckets(), Histogram::secondBuckets()}) {
    ASSERT_FALSE(bounds.empty());
    for (std::size_t i = 1; i < bounds.size(); ++i) EXPECT_LT(bounds[i - 1], bounds[i]);
    EXPECT_NO_THROW(Histogram{bounds});
  }
}

// A snapshot merges the shards; a second one must find everything again, neither lost nor doubled.
TEST(HistogramTest, RepeatedSnapshotsWithoutWritesAgree) {
  Histogram h({1, 10});
  for (double v : {0.5, 2.0, 20.0, 3.0}) h.observe(v);
  auto first = h.snapshot();
  for (int i = 0; i < 5; ++i) {
    auto again = h.snapshot();
    EXPECT_EQ(again.count, first.count) << "read " << i;
    EXPECT_EQ(again.sum, first.sum) << "read " << i;
    EXPECT_EQ(again.buckets, first.buckets) << "read " << i;
  }
  EXPECT_EQ(first.count, 4u);
  EXPECT_DOUBLE_EQ(first.sum, 25.5);
  EXPECT_EQ(first.buckets, (std::vector<std::uint64_t>{1, 2, 1}));
}

TEST(HistogramTest, ObservationsBetweenSnapshotsAccumulate) {
  Histogram h({1});
  h.observe(1);
  EXPECT_EQ(h.snapshot().count, 1u);
  h.observe(2);
  h.snapshot();
  h.observe(0.5);
  auto s = h.snapshot();
  EXPECT_EQ(s.count, 3u);
  EXPECT_DOUBLE_EQ(s.sum, 3.5);
  EXPECT_EQ(s.buckets, (std::vector<std::uint64_t>{2, 1}));
}

// A scraper reads into its own snapshot again and again: what was there before is replaced, and
// its storage is reused (the registry's scrapes allocate nothing for it after the first).
TEST(HistogramTest, SnapshotIntoReplacesOldContentAndReusesStorage) {
  Histogram h({1, 10});
  for (double v : {0.5, 2.0, 20.0}) h.observe(v);
  Histogram::Snapshot into;
  into.sum = 99;
  into.count = 99;
  into.buckets = {7, 7, 7, 7, 7};  // another histogram's reading
  h.snapshot(into);
  EXPECT_EQ(into.count, 3u);
  EXPECT_DOUBLE_EQ(into.sum, 22.5);
  EXPECT_EQ(into.buckets, (std::vector<std::uint64_t>{1, 1, 1}));
  const std::uint64_t* storage = into.buckets.data();
  h.observe(5);
  h.snapshot(into);
  EXPECT_EQ(into.buckets, (std::vector<std::uint64_t>{1, 2, 1}));
  EXPECT_EQ(into.buckets.data(), storage);
  const Histogram::Snapshot fresh = h.snapshot();
  EXPECT_EQ(fresh.count, into.count);
  EXPECT_EQ(fresh.buckets, into.buckets);
}

TEST(CategoryCounterTest, CountsEachCategoryAndTheTotal) {
  CategoryCounter c(3);
  c.inc(0);
  c.inc(2);
  c.inc(2);
  c.inc(3);  // out of range: ignored
  const CategoryCounter::Snapshot s = c.snapshot();
  EXPECT_EQ(s.total, 3u);
  EXPECT_EQ(s.counts, (std::vector<std::uint64_t>{1, 0, 2}));
  EXPECT_THROW(CategoryCounter(0), std::invalid_argument);
}

TEST(CategoryCounterTest, OneCategoryHoldsEverything) {
  CategoryCounter c(1);
  c.inc(0);
  c.inc(0);
  c.inc(1);
  CategoryCounter::Snapshot into;
  into.counts = {5, 5, 5};
  c.snapshot(into);
  EXPECT_EQ(into.total, 2u);
  EXPECT_EQ(into.counts, (std::vector<std::uint64_t>{2}));
}

TEST(CategoryCounterTest, SnapshotIntoMatchesSnapshotAndReusesStorage) {
  CategoryCounter c(4);
  CategoryCounter::Snapshot into;
  c.snapshot(into);
  EXPECT_EQ(into.total, 0u);
  EXPECT_EQ(into.counts, (std::vector<std::uint64_t>{0, 0, 0, 0}));
  const std::uint64_t* storage = into.counts.data();
  for (int i : {1, 3, 3, 0}) c.inc(static_cast<std::size_t>(i));
  c.snapshot(into);
  EXPECT_EQ(into.total, 4u);
  EXPECT_EQ(into.counts, (std::vector<std::uint64_t>{1, 1, 0, 2}));
  EXPECT_EQ(into.counts.data(), storage);
  EXPECT_EQ(c.snapshot().counts, into.counts);
}

// Writers observe 1.0 so that, in any consistent snapshot, sum == count exactly (integers well
// below 2^53 are exact doubles) and the buckets add up to count.
TEST(HistogramTest, SnapshotsAreConsistentUnderConcurrentWrites) {
  constexpr std::uint64_t kPerWriter = 200000;
  Histogram h({0.5, 1, 2});
  std::atomic<int> writers_done{0};
  std::atomic<bool> go{false};

  auto writer = [&] {
    while (!go.load()) std::this_thread::yield();
    for (std::uint64_t i = 0; i < kPerWriter; ++i) h.observe(1.0);
    writers_done.fetch_add(1);
  };

  std::uint64_t reads = 0, inconsistent = 0, went_back = 0, last_count = 0;
  std::string first_bad;
  auto reader = [&] {
    while (!go.load()) std::this_thread::yield();
    do {
      auto s = h.snapshot();
      ++reads;
      const bool ok = s.sum == static_cast<double>(s.count) && BucketTotal(s) == s.count &&
                      s.buckets.size() == 4 && s.buckets[0] == 0 && s.buckets[2] == 0 &&
                      s.buckets[3] == 0;
      if (!ok && inconsistent++ == 0) {
        first_bad = "count=" + std::to_string(s.count) + " sum=" + std::to_string(s.sum) +
                    " buckets=" + std::to_string(BucketTotal(s));
      }
      if (s.count < last_count) ++went_back;
      last_count = s.count;
    } while (writers_done.load() < 2);
  };

  std::thread r(reader), w1(writer), w2(writer);
  go.store(true);
  w1.join();
  w2.join();
  r.join();

  EXPECT_GT(reads, 0u);
  EXPECT_EQ(inconsistent, 0u) << "of " << reads << " snapshots; first: " << first_bad;
  EXPECT_EQ(went_back, 0u) << "count decreased between snapshots";
  auto final_snap = h.snapshot();
  EXPECT_EQ(final_snap.count, 2 * kPerWriter);
  EXPECT_EQ(final_snap.sum, static_cast<double>(2 * kPerWriter));
  EXPECT_EQ(final_snap.buckets, (std::vector<std::uint64_t>{0, 2 * kPerWriter, 0, 0}));
}

// Readers never wait for each other's reads, only for a swap: two of them racing, each swapping
// now and then and each reading while the other swaps, must still get consistent sets, and lose
// nothing.
TEST(HistogramTest, ConcurrentReadersDoNotLoseObservations) {
  constexpr std::uint64_t kPerWriter = 1000000;
  // Many buckets make a swap's merge long, so other reads overlap it.
  std::vector<double> bounds{0.5, 1};
  for (int i = 2; i < 512; ++i) bounds.push_back(i);
  Histogram h(bounds);
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> bad{0}, went_back{0}, reads{0};
  auto reader = [&] {
    std::uint64_t last = 0;
    while (!done.load()) {
      const auto s = h.snapshot();
      reads.fetch_add(1);
      if (s.sum != static_cast<double>(s.count) || BucketTotal(s) != s.count ||
          s.buckets[1] != s.count)
        bad.fetch_add(1);
      if (s.count < last) went_back.fetch_add(1);
      last = s.count;
    }
  };
  auto writer = [&] {
    for (std::uint64_t i = 0; i < kPerWriter; ++i) h.observe(1.0);
  };
  std::thread r1(reader), r2(reader), w1(writer), w2(writer);
  w1.join();
  w2.join();
  done.store(true);
  r1.join();
  r2.join();
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(bad.load(), 0u) << "of " << reads.load();
  EXPECT_EQ(went_back.load(), 0u);
  const auto s = h.snapshot();
  EXPECT_EQ(s.count, 2 * kPerWriter);
  EXPECT_EQ(s.sum, static_cast<double>(2 * kPerWriter));
  EXPECT_EQ(BucketTotal(s), 2 * kPerWriter);
  EXPECT_EQ(s.buckets[1], 2 * kPerWriter);
}

// totals(), what the JSON's averages read, against writers and a snapshot() moving the shards.
TEST(HistogramTest, TotalsAreConsistentUnderConcurrentWritesAndSnapshots) {
  constexpr std::uint64_t kPerWriter = 200000;
  Histogram h(Histogram::millisecondBuckets());
  std::atomic<int> writers_done{0};
  std::atomic<bool> go{false};
  auto writer = [&] {
    while (!go.load()) std::this_thread::yield();
    for (std::uint64_t i = 0; i < kPerWriter; ++i) h.observe(1.0);
    writers_done.fetch_add(1);
  };
  std::uint64_t reads = 0, inconsistent = 0, went_back = 0, last = 0;
  std::thread totals_reader([&] {
    while (!go.load()) std::this_thread::yield();
    do {
      const Histogram::Totals t = h.totals();
      ++reads;
      if (t.sum != static_cast<double>(t.count)) ++inconsistent;
      if (t.count < last) ++went_back;
      last = t.count;
    } while (writers_done.load() < 2);
  });
  std::thread snapshot_reader([&] {
    while (!go.load()) std::this_thread::yield();
    while (writers_done.load() < 2) h.snapshot();
  });
  std::thread w1(writer), w2(writer);
  go.store(true);
  w1.join();
  w2.join();
  totals_reader.join();
  snapshot_reader.join();
  EXPECT_GT(reads, 0u);
  EXPECT_EQ(inconsistent, 0u) << "of " << reads;
  EXPECT_EQ(went_back, 0u);
  const Histogram::Totals t = h.totals();
  EXPECT_EQ(t.count, 2 * kPerWriter);
  EXPECT_EQ(t.sum, static_cast<double>(2 * kPerWriter));
  EXPECT_EQ(h.snapshot().count, 2 * kPerWriter);
}

}  // namespace
}  // namespace parley::sdk
