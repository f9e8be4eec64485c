#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "parley/sdk/metrics.hpp"

namespace parley::sdk {

namespace {
constexpr std::uint64_t kHotBit = std::uint64_t{1} << 63;

std::uint64_t toBits(double d) {
  std::uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}
double fromBits(std::uint64_t b) {
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
}
void atomicAdd(std::atomic<std::uint64_t>& sum_bits, double value) {
  std::uint64_t old = sum_bits.load(std::memory_order_relaxed);
  while (!sum_bits.compare_exchange_weak(old, toBits(fromBits(old) + value),
                                         std::memory_order_release, std::memory_order_relaxed)) {
  }
}
}  // namespace

namespace {
// Plugins built against SDK 1.2 allocate Histograms with that header's layout.
struct Sdk12Histogram {
  std::vector<double> bounds;
  std::atomic<std::uint64_t> started_and_hot;
  std::unique_ptr<int[]> shards;
  std::mutex read_mutex;
};
}  // namespace
static_assert(sizeof(Histogram) == sizeof(Sdk12Histogram) &&
                  alignof(Histogram) == alignof(Sdk12Histogram),
              "Histogram's size is part of the SDK's ABI");

struct Histogram::Shard {
  std::atomic<std::uint64_t> sum_bits{0};  // a double; 0 bits == 0.0
  std::atomic<std::uint64_t> completed{0};
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets;
};

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), shards_(new Shard[2]) {
  for (std::size_t i = 1; i < bounds_.size(); ++i)
    if (!(bounds_[i - 1] < bounds_[i]))
      throw std::invalid_argument("histogram bounds must be strictly increasing");
  for (int s = 0; s < 2; ++s) {
    shards_[s].buckets.reset(new std::atomic<std::uint64_t>[bounds_.size() + 1]);
    for (std::size_t i = 0; i <= bounds_.size(); ++i) shards_[s].buckets[i] = 0;
  }
}

Histogram::~Histogram() = default;

void Histogram::observe(double value) noexcept {
  // One NaN or infinity would poison the sum, and the JSON, for the life of the process.
  if (!std::isfinite(value)) return;
  // acq_rel pairs with the reader's swap: an observation lands wholly in the shard it began in.
  const std::uint64_t n = started_and_hot_.fetch_add(1, std::memory_order_acq_rel);
  Shard& shard = shards_[n >> 63];
  if (!bounds_.empty()) {
    auto idx = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
    shard.buckets[idx].fetch_add(1, std::memory_order_release);
  }
  atomicAdd(shard.sum_bits, value);
  shard.completed.fetch_add(1, std::memory_order_release);
}

// Reads with `read(began)` while no observation was in flight and no reader moved the shards,
// trying a few times; false if it never found such a moment. An observation begins (started), adds
// to its shard, then completes (release); so if every one begun had completed when the
// completions were read (acquire), what `read` loads after holds them all, and if none began
// before the second look at `started`, it holds no other. A swap by another reader shows in swaps_.
template <class Read>
bool Histogram::readQuiet(Read&& read) const {
  for (int attempt = 0; attempt < 8; ++attempt) {
    const std::uint64_t swaps = swaps_.load(std::memory_order_acquire);
    if (swaps & 1) continue;
    const std::uint64_t began = started_and_hot_.load(std::memory_order_acquire) & ~kHotBit;
    const std::uint64_t done = shards_[0].completed.load(std::memory_order_acquire) +
                               shards_[1].completed.load(std::memory_order_acquire);
    if (done != began) continue;
    read(began);  // acquire loads only: the checks below stay after them
    if ((started_and_hot_.load(std::memory_order_acquire) & ~kHotBit) != began) continue;
    if (swaps_.load(std::memory_order_acquire) != swaps) continue;
    return true;
  }
  return false;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snapshot(snap);
  return snap;
}

void Histogram::snapshot(Snapshot& snap) const {
  snap.buckets.resize(bounds_.empty() ? 0 : bounds_.size() + 1);
  const auto readBoth = [&](std::uint64_t began) {
    for (std::size_t i = 0; i < snap.buckets.size(); ++i)
      snap.buckets[i] = shards_[0].buckets[i].load(std::memory_order_acquire) +
                        shards_[1].buckets[i].load(std::memory_order_acquire);
    snap.sum = fromBits(shards_[0].sum_bits.load(std::memory_order_acquire)) +
               fromBits(shards_[1].sum_bits.load(std::memory_order_acquire));
    snap.count = began;
  };
  // Most reads find nothing being observed: then both shards, summed, are one consistent set.
  // Otherwise this reader swaps the shards, unless another is already at it.
  std::uint64_t swaps = 0;
  for (;;) {
    if (readQuiet(readBoth)) return;
    swaps = swaps_.load(std::memory_order_relaxed);
    if (!(swaps & 1) && swaps_.compare_exchange_strong(swaps, swaps + 1, std::memory_order_acq_rel))
      break;
    std::this_thread::yield();
  }
  auto& self = const_cast<Histogram&>(*this);
  // Flip the hot bit: new observations go to the other shard from here on.
  const std::uint64_t n = self.started_and_hot_.fetch_add(kHotBit, std::memory_order_acq_rel);
  const std::uint64_t started = n & ~kHotBit;
  Shard& cold = self.shards_[n >> 63];
  Shard& hot = self.shards_[(n >> 63) ^ 1];
  // The cold shard holds every observation begun so far (the previous swap merged all into it);
  // wait for the few still being written.
  while (cold.completed.load(std::memory_order_acquire) != started) std::this_thread::yield();

  snap.count = started;
  snap.sum = fromBits(cold.sum_bits.load(std::memory_order_relaxed));
  for (std::size_t i = 0; i < snap.buckets.size(); ++i)
    snap.buckets[i] = cold.buckets[i].load(std::memory_order_relaxed);

  // Merge into the new hot shard and zero the cold one, so the next read again finds everything
  // in one place. Each store releases: a reader that loads one of them then finds swaps_ changed.
  atomicAdd(hot.sum_bits, snap.sum);
  for (std::size_t i = 0; i < snap.buckets.size(); ++i) {
    hot.buckets[i].fetch_add(snap.buckets[i], std::memory_order_release);
    cold.buckets[i].store(0, std::memory_order_release);
  }
  hot.completed.fetch_add(started, std::memory_order_release);
  cold.sum_bits.store(0, std::memory_order_release);
  cold.completed.store(0, std::memory_order_release);
  swaps_.store(swaps + 2, std::memory_order_release);
}

Histogram::Totals Histogram::totals() const {
  Totals totals;
  const auto readSums = [&](std::uint64_t began) {
    totals.sum = fromBits(shards_[0].sum_bits.load(std::memory_order_acquire)) +
                 fromBits(shards_[1].sum_bits.load(std::memory_order_acquire));
    totals.count = began;
  };
  if (readQuiet(readSums)) return totals;
  // Observed without pause: the swap of shards always gets a consistent pair.
  const Snapshot snap = snapshot();
  return {snap.sum, snap.count};
}

namespace {
std::vector<double> categoryBounds(std::size_t n) {
  std::vector<double> bounds;
  for (std::size_t i = 0; i + 1 < n; ++i) bounds.push_back(static_cast<double>(i));
  return bounds;
}
}  // namespace

CategoryCounter::CategoryCounter(std::size_t categories)
    : categories_(categories), counts_(categoryBounds(categories)) {
  if (categories == 0) throw std::invalid_argument("a category counter needs a category");
}

void CategoryCounter::inc(std::size_t category) noexcept {
  if (category < categories_) counts_.observe(static_cast<double>(category));
}

CategoryCounter::Snapshot CategoryCounter::snapshot() const {
  Snapshot s;
  snapshot(s);
  return s;
}

void CategoryCounter::snapshot(Snapshot& into) const {
  Histogram::Snapshot h;
  h.buckets.swap(into.counts);  // the histogram reads into the caller's storage
  counts_.snapshot(h);
  into.total = h.count;
  into.counts.swap(h.buckets);
  if (categories_ == 1) into.counts.assign(1, h.count);  // no bounds, so no buckets: all in one
}

std::vector<double> Histogram::millisecondBuckets() {
  return {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
}

std::vector<double> Histogram::secondBuckets() {
  return {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

}  // namespace parley::sdk
