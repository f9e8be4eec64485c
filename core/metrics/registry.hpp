// The process-wide metrics registry: instruments registered by plugins (and the core) under unique
// names, composed on demand into the contract's JSON and into Prometheus text.
//
// Registration is rare and takes a lock; composing takes it shared; updating an instrument never
// touches the registry at all.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics/contract.hpp"
#include "parley/sdk/metrics.hpp"

namespace parley::core {

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();

  // Each throws sdk::RegistrationError on an invalid or already-claimed name (naming both
  // owners), or a contract name of the wrong kind; the returned revoker unregisters.
  std::shared_ptr<sdk::Revoker> addCounter(const std::string& owner, const std::string& name,
                                           const std::string& help,
                                           std::shared_ptr<sdk::Counter> counter);
  std::shared_ptr<sdk::Revoker> addGauge(const std::string& owner, const std::string& name,
                                         const std::string& help,
                                         std::shared_ptr<sdk::Gauge> gauge);
  std::shared_ptr<sdk::Revoker> addAverage(const std::string& owner, const sdk::AverageSpec& spec,
                                           std::shared_ptr<sdk::Histogram> average);
  std::shared_ptr<sdk::Revoker> addCategories(const std::string& owner,
                                              const sdk::CategorySpec& spec,
                                              std::shared_ptr<sdk::CategoryCounter> counter);
  std::shared_ptr<sdk::Revoker> addLabeled(const std::string& owner, const sdk::LabeledSpec& spec,
                                           std::shared_ptr<sdk::CategoryCounter> counter);
  // A gauge whose value `read` gives at scrape time, on the scraping thread, under the registry's
  // shared lock: it must be quick, thread-safe, and must not register metrics.
  std::shared_ptr<sdk::Revoker> addComputed(const std::string& owner, const std::string& name,
                                            const std::string& help,
                                            std::function<std::int64_t()> read);

  // Appends the /api/system/metrics document.
  void writeJson(std::string& out, double generated_at) const;
  // Appends the /metrics document (text exposition format 0.0.4).
  void writePrometheus(std::string& out) const;

 private:
  struct Instrument;
  struct Claim {
    std::string owner;
    std::string metric;
    int contract_slot = -1;  // >= 0: held for that contract field until its instrument comes
  };
  // A contract field's source: an instrument, and which of its values (-1: its own value, or a
  // category counter's total; i >= 0: category i).
  struct SlotRef {
    std::shared_ptr<const Instrument> instrument;
    int part = -1;
  };
  std::shared_ptr<sdk::Revoker> add(std::shared_ptr<Instrument> instrument);
  void remove(const Instrument* instrument, const std::vector<std::string>& keys);

  mutable std::shared_mutex mutex_;
  std::vector<SlotRef> contract_slots_;                    // aligned with contractFields()
  std::vector<std::shared_ptr<const Instrument>> extras_;  // in registration order
  std::map<std::string, Claim, std::less<>> claims_;
};

}  // namespace parley::core
