#include "core/metrics/registry.hpp"

#include <charconv>
#include <cmath>
#include <mutex>

#include "core/runtime/names.hpp"
#include "parley/sdk/errors.hpp"

namespace parley::core {

namespace {

enum class Kind { kCounter, kGauge, kAverage, kCategories };
constexpr std::string_view kContractOwner = "the metrics contract";

const char* kindName(Kind k) {
  switch (k) {
    case Kind::kCounter: return "a counter";
    case Kind::kGauge: return "a gauge";
    case Kind::kAverage: return "an average";
    case Kind::kCategories: return "a category counter";
  }
  return "?";
}

Kind kindOf(FieldKind k) {
  switch (k) {
    case FieldKind::kCounter: return Kind::kCounter;
    case FieldKind::kGauge: return Kind::kGauge;
    case FieldKind::kAverage: return Kind::kAverage;
  }
  return Kind::kCounter;
}

void appendInt(std::string& out, long long v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void appendFixed(std::string& out, double v, int decimals) {
  if (!std::isfinite(v)) v = 0;  // instruments drop non-finite values; never emit invalid JSON
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  out.append(buf, r.ptr);
}

// Shortest text that reads back as the same double; Prometheus accepts any float syntax.
void appendShortest(std::string& out, double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void appendKey(std::string& out, std::string_view name) {
  out += ",\"";
  out += name;
  out += "\":";
}

// Prometheus wants base units in names: "_ms" becomes "_seconds" (values scaled by 1e-3) and "_sec"
// becomes "_seconds". An average is the family named after it without its "avg_" prefix.
struct PromName {
  std::string family;
  double scale = 1;
};

PromName promName(std::string_view name, bool average) {
  if (average && name.substr(0, 4) == "avg_") name.remove_prefix(4);
  auto ends = [&](std::string_view suffix) {
    return name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (ends("_ms")) return {std::string(name.substr(0, name.size() - 3)) + "_seconds", 1e-3};
  if (ends("_sec")) return {std::string(name.substr(0, name.size() - 4)) + "_seconds", 1};
  if (name == "stream_duration") return {"stream_duration_seconds", 1};  // the contract: seconds
  return {std::string(name), 1};
}

// A counter's family ends in "_total" (once).
std::string promFamily(std::string_view name, bool counter) {
  std::string family = promName(name, false).family;
  if (counter && (family.size() < 6 || family.compare(family.size() - 6, 6, "_total") != 0))
    family += "_total";
  return family;
}

// Every name a value occupies: "json:<key>" for its JSON key, "prometheus:<series>" for each
// Prometheus series, so that no two instruments can collide in either document.
void addClaimKeys(Kind kind, std::string_view name, std::string_view total,
                  std::string_view samples, std::vector<std::string>& keys) {
  keys.push_back("json:" + std::string(name));
  if (kind != Kind::kAverage) {
    keys.push_back("prometheus:parley_" + promFamily(name, kind != Kind::kGauge));
    return;
  }
  keys.push_back("json:" + std::string(total));
  keys.push_back("json:" + std::string(samples));
  const std::string family = promName(name, true).family;
  for (const char* suffix : {"", "_bucket", "_sum", "_count"})
    keys.push_back("prometheus:parley_" + family + suffix);
}

void appendFamilyHeader(std::string& out, std::string_view family, std::string_view help,
                        const char* type) {
  out += "# HELP parley_";
  out += family;
  out += ' ';
  for (char c : help) {  // the format allows no raw newlines or backslashes in HELP
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  out += "\n# TYPE parley_";
  out += family;
  out += ' ';
  out += type;
  out += '\n';
}

// Category counters are read once per document, whichever fields they feed. The readings live in
// a per-thread buffer that keeps its storage, so a scrape allocates nothing here after the first;
// hence one cache per thread at a time (a document's writer makes one and calls no other writer).
class CategoryCache {
 public:
  CategoryCache() : cache_(buffer()) {}
  std::uint64_t value(const sdk::CategoryCounter& c, int part) {
    const sdk::CategoryCounter::Snapshot& s = read(c);
    return part < 0 ? s.total : s.counts[static_cast<std::size_t>(part)];
  }
  // Valid until the next read: a new counter may move the entries.
  const sdk::CategoryCounter::Snapshot& read(const sdk::CategoryCounter& c) {
    for (std::size_t i = 0; i < used_; ++i)
      if (cache_[i].counter == &c) return cache_[i].snap;
    if (used_ == cache_.size()) cache_.emplace_back();
    Entry& e = cache_[used_++];
    e.counter = &c;
    c.snapshot(e.snap);
    return e.snap;
  }

 private:
  struct Entry {
    const sdk::CategoryCounter* counter = nullptr;
    sdk::CategoryCounter::Snapshot snap;
  };
  static std::vector<Entry>& buffer() {
    static thread_local std::vector<Entry> entries;
    return entries;
  }
  std::vector<Entry>& cache_;
  std::size_t used_ = 0;  // entries of this document; those past it are storage from earlier ones
};

}  // namespace

struct MetricsRegistry::Instrument {
  Kind kind;
  std::string owner;
  std::string help;
  std::string name;  // a category counter's total
  std::string total_name;
  std::string samples_name;
  int decimals = 2;
  std::vector<std::string> parts;  // a category counter's category names
  std::string label;               // set: the categories are one labelled Prometheus family
  std::shared_ptr<sdk::Counter> counter;
  std::shared_ptr<sdk::Gauge> gauge;
  std::function<std::int64_t()> computed;  // a gauge read at scrape time
  std::shared_ptr<sdk::Histogram> average;
  std::shared_ptr<sdk::CategoryCounter> categories;
  std::vector<std::pair<int, int>> contract;  // (slot, part) this instrument fills

  // Calls f(name, part) for each value with a name of its own; averages count as one (their pair
  // follows). Nothing allocated: writeJson runs this for every instrument of every scrape.
  template <class F>
  void forEachValue(F&& f) const {
    f(name, -1);
    if (label.empty())
      for (std::size_t i = 0; i < parts.size(); ++i) f(parts[i], static_cast<int>(i));
  }
  // A counter's or gauge's value (part as in SlotRef).
  long long scalar(CategoryCache& cache, int part) const {
    if (categories) return static_cast<long long>(cache.value(*categories, part));
    if (counter) return static_cast<long long>(counter->value());
    if (gauge) return gauge->value();
    try {
      return computed();
    } catch (...) {
      return 0;  // a scrape never fails because one plugin's reading did
    }
  }
  std::vector<std::string> claimKeys() const {
    std::vector<std::string> keys;
    forEachValue([&](const std::string& n, int) {
      addClaimKeys(kind == Kind::kCategories ? Kind::kCounter : kind, n, total_name, samples_name,
                   keys);
    });
    return keys;
  }
};

MetricsRegistry::MetricsRegistry() {
  const auto& fields = contractFields();
  contract_slots_.resize(fields.size());
  // Every name a contract field will use, in JSON and in Prometheus, is held for it: only that
  // field's own instrument may take it.
  for (std::size_t slot = 0; slot < fields.size(); ++slot) {
    const ContractField& f = fields[slot];
    std::vector<std::string> keys;
    addClaimKeys(kindOf(f.kind), f.name, f.total_name, f.samples_name, keys);
    for (const auto& key : keys)
      claims_[key] =
          Claim{std::string(kContractOwner), std::string(f.name), static_cast<int>(slot)};
  }
}

MetricsRegistry::~MetricsRegistry() = default;

std::shared_ptr<sdk::Revoker> MetricsRegistry::addCounter(const std::string& owner,
                                                          const std::string& name,
                                                          const std::string& help,
                                                          std::shared_ptr<sdk::Counter> counter) {
  auto i = std::make_shared<Instrument>();
  i->kind = Kind::kCounter;
  i->owner = owner;
  i->name = name;
  i->help = help;
  i->counter = std::move(counter);
  return add(std::move(i));
}

std::shared_ptr<sdk::Revoker> MetricsRegistry::addGauge(const std::string& owner,
                                                        const std::string& name,
                                                        const std::string& help,
                                                        std::shared_ptr<sdk::Gauge> gauge) {
  auto i = std::make_shared<Instrument>();
  i->kind = Kind::kGauge;
  i->owner = owner;
  i->name = name;
  i->help = help;
  i->gauge = std::move(gauge);
  return add(std::move(i));
}

std::shared_ptr<sdk::Revoker> MetricsRegistry::addAverage(const std::string& owner,
                                                          const sdk::AverageSpec& spec,
                                                          std::shared_ptr<sdk::Histogram> average) {
  auto i = std::make_shared<Instrument>();
  i->kind = Kind::kAverage;
  i->owner = owner;
  i->name = spec.name;
  i->help = spec.help;
  i->total_name = spec.total_name;
  i->samples_name = spec.samples_name;
  i->decimals = spec.decimals;
  i->average = std::move(average);
  return add(std::move(i));
}

std::shared_ptr<sdk::Revoker> MetricsRegistry::addCategories(
    const std::string& owner, const sdk::CategorySpec& spec,
    std::shared_ptr<sdk::CategoryCounter> counter) {
  auto i = std::make_shared<Instrument>();
  i->kind = Kind::kCategories;
  i->owner = owner;
  i->name = spec.total_name;
  i->help = spec.help;
  i->parts = spec.names;
  if (counter && counter->categories() != spec.names.size())
    throw sdk::RegistrationError("metric '" + spec.total_name + "' (from '" + owner +
                                 "'): " + std::to_string(spec.names.size()) + " names for " +
                                 std::to_string(counter->categories()) + " categories");
  i->categories = std::move(counter);
  return add(std::move(i));
}

std::shared_ptr<sdk::Revoker> MetricsRegistry::addLabeled(
    const std::string& owner, const sdk::LabeledSpec& spec,
    std::shared_ptr<sdk::CategoryCounter> counter) {
  const std::string who = "metric '" + spec.name + "' (from '" + owner + "')";
  if (!isSnakeName(spec.label))
    throw sdk::RegistrationError(who + ": label '" + spec.label +
                                 "' is not a valid name ([a-z][a-z0-9_]*)");
  for (const auto& v : spec.values)
    if (!isSnakeName(v))
      throw sdk::RegistrationError(who + ": label value '" + v +
                                   "' is not a valid name ([a-z][a-z0-9_]*)");
  if (counter && counter->categories() != spec.values.size())
    throw sdk::RegistrationError(who + ": " + std::to_string(spec.values.size()) +
                                 " label values for " + std::to_string(counter->categories()) +
                                 " categories");
  auto i = std::make_shared<Instrument>();
  i->kind = Kind::kCategories;
  i->owner = owner;
  i->name = spec.name;
  i->help = spec.help;
  i->parts = spec.values;
  i->label = spec.label;
  i->categories = std::move(counter);
  return add(std::move(i));
}

std::shared_ptr<sdk::Revoker> MetricsRegistry::addComputed(const std::string& owner,
                                                           const std::string& name,
                                                           const std::string& help,
                                                           std::function<std::int64_t()> read) {
  auto i = std::make_shared<Instrument>();
  i->kind = Kind::kGauge;
  i->owner = owner;
  i->name = name;
  i->help = help;
  i->computed = std::move(read);
  return add(std::move(i));
}

std::shared_ptr<sdk::Revoker> MetricsRegistry::add(std::shared_ptr<Instrument> inst) {
  const std::string who = "metric '" + inst->name + "' (from '" + inst->owner + "')";
  if (!inst->counter && !inst->gauge && !inst->average && !inst->categories && !inst->computed)
    throw sdk::RegistrationError(who + ": the instrument is null");
  std::vector<std::string> names;
  inst->forEachValue([&](const std::string& n, int) { names.push_back(n); });
  if (inst->kind == Kind::kAverage) {
    if (inst->decimals < 0 || inst->decimals > 9)
      throw sdk::RegistrationError(who + ": decimals must be between 0 and 9");
    names.push_back(inst->total_name);
    names.push_back(inst->samples_name);
  }
  for (std::size_t a = 0; a < names.size(); ++a) {
    if (!isSnakeName(names[a]))
      throw sdk::RegistrationError(who + ": '" + names[a] +
                                   "' is not a valid name ([a-z][a-z0-9_]*)");
    for (std::size_t b = a + 1; b < names.size(); ++b)
      if (names[a] == names[b])
        throw sdk::RegistrationError(who + ": its names must be distinct ('" + names[a] +
                                     "' twice)");
  }

  // Which contract fields it fills, each with the contract's kind and shape.
  const auto& fields = contractFields();
  const Kind value_kind = inst->kind == Kind::kCategories ? Kind::kCounter : inst->kind;
  inst->forEachValue([&](const std::string& n, int part) {
    for (std::size_t slot = 0; slot < fields.size(); ++slot) {
      const ContractField& f = fields[slot];
      if (f.name != n) continue;
      if (kindOf(f.kind) != value_kind)
        throw sdk::RegistrationError("metric '" + n + "' (from '" + inst->owner +
                                     "'): the metrics contract defines it as " +
                                     kindName(kindOf(f.kind)) + ", not " + kindName(value_kind));
      if (f.kind == FieldKind::kAverage) {
        if (f.total_name != inst->total_name || f.samples_name != inst->samples_name)
          throw sdk::RegistrationError(who + ": the metrics contract names its raw pair '" +
                                       std::string(f.total_name) + "'/'" +
                                       std::string(f.samples_name) + "'");
        inst->decimals = f.decimals;
      }
      inst->contract.emplace_back(static_cast<int>(slot), part);
    }
  });

  const auto keys = inst->claimKeys();
  std::unique_lock lock(mutex_);
  for (const auto& key : keys) {
    auto it = claims_.find(key);
    if (it == claims_.end()) continue;
    const Claim& c = it->second;
    const bool held_for_it =
        c.owner == kContractOwner &&
        std::any_of(inst->contract.begin(), inst->contract.end(),
                    [&](const auto& sp) { return sp.first == c.contract_slot; });
    if (held_for_it) continue;  // the contract field's own instrument takes what was held for it
    if (key.rfind("json:", 0) == 0)
      throw sdk::RegistrationError("metric '" + key.substr(5) + "' registered by '" + inst->owner +
                                   "' is already registered by '" + c.owner + "'");
    throw sdk::RegistrationError(who + " would be exported as '" + key.substr(11) +
                                 "', which metric '" + c.metric + "' of '" + c.owner +
                                 "' already exports");
  }
  for (const auto& key : keys) claims_[key] = Claim{inst->owner, inst->name, -1};
  for (const auto& [slot, part] : inst->contract) contract_slots_[slot] = SlotRef{inst, part};
  if (inst->contract.empty()) extras_.push_back(inst);

  const Instrument* raw = inst.get();
  return std::make_shared<sdk::Revoker>([this, raw, keys] { remove(raw, keys); });
}

void MetricsRegistry::remove(const Instrument* inst, const std::vector<std::string>& keys) {
  std::unique_lock lock(mutex_);
  for (const auto& key : keys) claims_.erase(key);
  // What the contract held before this instrument took it, it holds again.
  const auto& fields = contractFields();
  const auto contract = inst->contract;  // resetting the slots may release the instrument
  for (const auto& [slot, part] : contract) {
    contract_slots_[slot] = SlotRef{};
    const ContractField& f = fields[slot];
    std::vector<std::string> held;
    addClaimKeys(kindOf(f.kind), f.name, f.total_name, f.samples_name, held);
    for (const auto& key : held)
      claims_[key] = Claim{std::string(kContractOwner), std::string(f.name), slot};
  }
  for (auto it = extras_.begin(); it != extras_.end(); ++it)
    if (it->get() == inst) {
      extras_.erase(it);
      return;
    }
}

void MetricsRegistry::writeJson(std::string& out, double generated_at) const {
  out += "{\"generated_at\":";
  appendFixed(out, generated_at, 3);

  auto writeAverage = [&out](std::string_view name, std::string_view total,
                             std::string_view samples, int decimals,
                             const sdk::Histogram::Totals& s, std::string& pairs) {
    appendKey(out, name);
    appendFixed(out, s.count ? s.sum / static_cast<double>(s.count) : 0.0, decimals);
    appendKey(pairs, total);
    appendFixed(pairs, s.sum, decimals + 2);
    appendKey(pairs, samples);
    appendInt(pairs, static_cast<long long>(s.count));
  };
  CategoryCache categories;
  auto scalar = [&categories](const Instrument& inst, int part) -> long long {
    return inst.scalar(categories, part);
  };

  // Raw pairs follow the contract's own fields; the buffer is the thread's, so that a scrape
  // allocates nothing here after the first.
  static thread_local std::string pairs;
  pairs.clear();
  std::shared_lock lock(mutex_);
  const auto& fields = contractFields();
  for (std::size_t slot = 0; slot < fields.size(); ++slot) {
    const ContractField& f = fields[slot];
    const SlotRef& ref = contract_slots_[slot];
    if (f.kind == FieldKind::kAverage) {
      writeAverage(f.name, f.total_name, f.samples_name, f.decimals,
                   ref.instrument ? ref.instrument->average->totals() : sdk::Histogram::Totals{},
                   pairs);
      continue;
    }
    appendKey(out, f.name);
    if (!ref.instrument)
      out += '0';
    else
      appendInt(out, scalar(*ref.instrument, ref.part));
  }
  out += pairs;
  pairs.clear();
  for (const auto& inst : extras_) {
    if (inst->kind == Kind::kAverage) {
      writeAverage(inst->name, inst->total_name, inst->samples_name, inst->decimals,
                   inst->average->totals(), pairs);
      out += pairs;
      pairs.clear();
      continue;
    }
    inst->forEachValue([&](const std::string& n, int part) {
      appendKey(out, n);
      appendInt(out, scalar(*inst, part));
    });
  }
  out += "}";
}

void MetricsRegistry::writePrometheus(std::string& out) const {
  auto writeScalar = [&out](std::string_view name, std::string_view help, Kind kind,
                            long long value) {
    const bool counter = kind == Kind::kCounter;
    PromName p = promName(name, false);
    p.family = promFamily(name, counter);
    appendFamilyHeader(out, p.family, help, counter ? "counter" : "gauge");
    out += "parley_";
    out += p.family;
    out += ' ';
    if (p.scale == 1)
      appendInt(out, value);
    else
      appendShortest(out, static_cast<double>(value) * p.scale);
    out += '\n';
  };
  auto writeAverage = [&out](std::string_view name, std::string_view help,
                             const std::vector<double>& bounds, const sdk::Histogram::Snapshot& s) {
    const PromName p = promName(name, true);
    appendFamilyHeader(out, p.family, help, bounds.empty() ? "summary" : "histogram");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds.size() && !bounds.empty(); ++i) {
      cumulative += i < s.buckets.size() ? s.buckets[i] : 0;
      out += "parley_";
      out += p.family;
      out += "_bucket{le=\"";
      if (i < bounds.size())
        appendShortest(out, bounds[i] * p.scale);
      else
        out += "+Inf";
      out += "\"} ";
      appendInt(out, static_cast<long long>(cumulative));
      out += '\n';
    }
    out += "parley_";
    out += p.family;
    out += "_sum ";
    appendShortest(out, s.sum * p.scale);
    out += "\nparley_";
    out += p.family;
    out += "_count ";
    appendInt(out, static_cast<long long>(s.count));
    out += '\n';
  };
  // One family with a label: parley_<name>_total{<label>="<value>"} per category.
  auto writeLabeled = [&out](const Instrument& inst, const sdk::CategoryCounter::Snapshot& s) {
    const std::string family = promFamily(inst.name, true);
    appendFamilyHeader(out, family, inst.help, "counter");
    for (std::size_t i = 0; i < inst.parts.size(); ++i) {
      out += "parley_";
      out += family;
      out += '{';
      out += inst.label;
      out += "=\"";
      out += inst.parts[i];
      out += "\"} ";
      appendInt(out, static_cast<long long>(i < s.counts.size() ? s.counts[i] : 0));
      out += '\n';
    }
  };
  CategoryCache categories;
  // Histograms are read into the thread's own snapshot, which keeps its storage between scrapes.
  static thread_local sdk::Histogram::Snapshot histogram;
  // One value of an instrument (part as in SlotRef), under its own name.
  auto writeValue = [&](const Instrument& inst, const std::string& name, int part,
                        std::string_view help) {
    if (inst.kind == Kind::kAverage) {
      inst.average->snapshot(histogram);
      writeAverage(name, help, inst.average->bounds(), histogram);
    } else if (!inst.label.empty()) {
      writeLabeled(inst, categories.read(*inst.categories));
    } else {
      writeScalar(name, help, inst.categories ? Kind::kCounter : inst.kind,
                  inst.scalar(categories, part));
    }
  };

  std::shared_lock lock(mutex_);
  const auto& fields = contractFields();
  for (std::size_t slot = 0; slot < fields.size(); ++slot) {
    const ContractField& f = fields[slot];
    const SlotRef& ref = contract_slots_[slot];
    if (ref.instrument)
      writeValue(*ref.instrument, std::string(f.name), ref.part, f.help);
    else if (f.kind == FieldKind::kAverage)
      writeAverage(f.name, f.help, {}, {});
    else
      writeScalar(f.name, f.help, kindOf(f.kind), 0);
  }
  for (const auto& inst : extras_)
    inst->forEachValue([&](const std::string& name, int part) {
      writeValue(*inst, name, part, inst->help.empty() ? std::string_view(name) : inst->help);
    });
}

}  // namespace parley::core
