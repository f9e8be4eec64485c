#include "core/metrics/registry.hpp"

#include <charconv>
#include <cmath>
#include <mutex>

#include "core/runtime/names.hpp"
#include "parley/sdk/errors.hpp"

namespace parley::core {

namespace {

enum class Kind { kCounter, kGauge, kAverage };
constexpr std::string_view kContractOwner = "the metrics contract";

const char* kindName(Kind k) {
  switch (k) {
    case Kind::kCounter: return "a counter";
    case Kind::kGauge: return "a gauge";
    case Kind::kAverage: return "an average";
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

// Every name an instrument occupies: "json:<key>" for each JSON key, "prometheus:<series>" for
// each Prometheus series, so that no two instruments can collide in either document.
std::vector<std::string> claimKeys(Kind kind, std::string_view name, std::string_view total,
                                   std::string_view samples) {
  std::vector<std::string> keys = {"json:" + std::string(name)};
  if (kind == Kind::kAverage) {
    keys.push_back("json:" + std::string(total));
    keys.push_back("json:" + std::string(samples));
    const std::string family = promName(name, true).family;
    for (const char* suffix : {"", "_bucket", "_sum", "_count"})
      keys.push_back("prometheus:parley_" + family + suffix);
  } else {
    keys.push_back("prometheus:parley_" + promFamily(name, kind == Kind::kCounter));
  }
  return keys;
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

}  // namespace

struct MetricsRegistry::Instrument {
  Kind kind;
  std::string name;
  std::string help;
  std::string owner;
  std::shared_ptr<sdk::Counter> counter;
  std::shared_ptr<sdk::Gauge> gauge;
  std::shared_ptr<sdk::Histogram> average;
  std::string total_name;
  std::string samples_name;
  int decimals = 2;
  int contract_slot = -1;
};

MetricsRegistry::MetricsRegistry() {
  const auto& fields = contractFields();
  contract_slots_.resize(fields.size());
  // Every name a contract field will use, in JSON and in Prometheus, is held for it: only that
  // field's own instrument may take it.
  for (std::size_t slot = 0; slot < fields.size(); ++slot) {
    const ContractField& f = fields[slot];
    for (const auto& key : claimKeys(kindOf(f.kind), f.name, f.total_name, f.samples_name))
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
  i->name = name;
  i->help = help;
  i->owner = owner;
  i->counter = std::move(counter);
  return add(std::move(i));
}

std::shared_ptr<sdk::Revoker> MetricsRegistry::addGauge(const std::string& owner,
                                                        const std::string& name,
                                                        const std::string& help,
                                                        std::shared_ptr<sdk::Gauge> gauge) {
  auto i = std::make_shared<Instrument>();
  i->kind = Kind::kGauge;
  i->name = name;
  i->help = help;
  i->owner = owner;
  i->gauge = std::move(gauge);
  return add(std::move(i));
}

std::shared_ptr<sdk::Revoker> MetricsRegistry::addAverage(const std::string& owner,
                                                          const sdk::AverageSpec& spec,
                                                          std::shared_ptr<sdk::Histogram> average) {
  auto i = std::make_shared<Instrument>();
  i->kind = Kind::kAverage;
  i->name = spec.name;
  i->help = spec.help;
  i->owner = owner;
  i->average = std::move(average);
  i->total_name = spec.total_name;
  i->samples_name = spec.samples_name;
  i->decimals = spec.decimals;
  return add(std::move(i));
}

std::shared_ptr<sdk::Revoker> MetricsRegistry::add(std::shared_ptr<Instrument> inst) {
  const std::string who = "metric '" + inst->name + "' (from '" + inst->owner + "')";
  if (!inst->counter && !inst->gauge && !inst->average)
    throw sdk::RegistrationError(who + ": the instrument is null");
  std::vector<std::string> names = {inst->name};
  if (inst->kind == Kind::kAverage) {
    if (inst->decimals < 0 || inst->decimals > 9)
      throw sdk::RegistrationError(who + ": decimals must be between 0 and 9");
    names.push_back(inst->total_name);
    names.push_back(inst->samples_name);
    if (names[0] == names[1] || names[0] == names[2] || names[1] == names[2])
      throw sdk::RegistrationError(who + ": an average and its raw pair need three distinct names");
  }
  for (const auto& n : names)
    if (!isSnakeName(n))
      throw sdk::RegistrationError(who + ": '" + n + "' is not a valid name ([a-z][a-z0-9_]*)");

  const auto& fields = contractFields();
  for (std::size_t slot = 0; slot < fields.size(); ++slot) {
    const ContractField& f = fields[slot];
    if (f.name != inst->name) continue;
    if (kindOf(f.kind) != inst->kind)
      throw sdk::RegistrationError(who + ": the metrics contract defines it as " +
                                   kindName(kindOf(f.kind)) + ", not " + kindName(inst->kind));
    if (f.kind == FieldKind::kAverage) {
      if (f.total_name != inst->total_name || f.samples_name != inst->samples_name)
        throw sdk::RegistrationError(who + ": the metrics contract names its raw pair '" +
                                     std::string(f.total_name) + "'/'" +
                                     std::string(f.samples_name) + "'");
      inst->decimals = f.decimals;
    }
    inst->contract_slot = static_cast<int>(slot);
  }

  const auto keys = claimKeys(inst->kind, inst->name, inst->total_name, inst->samples_name);
  std::unique_lock lock(mutex_);
  for (const auto& key : keys) {
    auto it = claims_.find(key);
    if (it == claims_.end()) continue;
    const Claim& c = it->second;
    if (c.owner == kContractOwner && c.contract_slot >= 0 && c.contract_slot == inst->contract_slot)
      continue;  // the contract field's own instrument takes what was held for it
    if (key.rfind("json:", 0) == 0)
      throw sdk::RegistrationError("metric '" + key.substr(5) + "' registered by '" + inst->owner +
                                   "' is already registered by '" + c.owner + "'");
    throw sdk::RegistrationError(who + " would be exported as '" + key.substr(11) +
                                 "', which metric '" + c.metric + "' of '" + c.owner +
                                 "' already exports");
  }
  for (const auto& key : keys) claims_[key] = Claim{inst->owner, inst->name, -1};
  if (inst->contract_slot >= 0)
    contract_slots_[inst->contract_slot] = inst;
  else
    extras_.push_back(inst);

  const Instrument* raw = inst.get();
  return std::make_shared<sdk::Revoker>([this, raw, keys] { remove(raw, keys); });
}

void MetricsRegistry::remove(const Instrument* inst, const std::vector<std::string>& keys) {
  std::unique_lock lock(mutex_);
  const int slot = inst->contract_slot;
  for (const auto& key : keys) {
    if (slot >= 0)
      claims_[key] = Claim{std::string(kContractOwner), inst->name, slot};
    else
      claims_.erase(key);
  }
  if (slot >= 0) {
    contract_slots_[slot].reset();
    return;
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
                             const sdk::Histogram::Snapshot& s, std::string& pairs) {
    appendKey(out, name);
    appendFixed(out, s.count ? s.sum / static_cast<double>(s.count) : 0.0, decimals);
    appendKey(pairs, total);
    appendFixed(pairs, s.sum, decimals + 2);
    appendKey(pairs, samples);
    appendInt(pairs, static_cast<long long>(s.count));
  };
  std::string pairs;  // raw pairs follow the contract's own fields
  std::shared_lock lock(mutex_);
  const auto& fields = contractFields();
  for (std::size_t slot = 0; slot < fields.size(); ++slot) {
    const ContractField& f = fields[slot];
    const Instrument* inst = contract_slots_[slot].get();
    if (f.kind == FieldKind::kAverage) {
      writeAverage(f.name, f.total_name, f.samples_name, f.decimals,
                   inst ? inst->average->snapshot() : sdk::Histogram::Snapshot{}, pairs);
      continue;
    }
    appendKey(out, f.name);
    if (!inst)
      out += '0';
    else if (inst->counter)
      appendInt(out, static_cast<long long>(inst->counter->value()));
    else
      appendInt(out, inst->gauge->value());
  }
  out += pairs;
  pairs.clear();
  for (const auto& inst : extras_) {
    if (inst->kind == Kind::kAverage) {
      writeAverage(inst->name, inst->total_name, inst->samples_name, inst->decimals,
                   inst->average->snapshot(), pairs);
      out += pairs;
      pairs.clear();
      continue;
    }
    appendKey(out, inst->name);
    if (inst->counter)
      appendInt(out, static_cast<long long>(inst->counter->value()));
    else
      appendInt(out, inst->gauge->value());
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
  auto writeInstrument = [&](const Instrument& inst, std::string_view help) {
    if (inst.kind == Kind::kAverage)
      writeAverage(inst.name, help, inst.average->bounds(), inst.average->snapshot());
    else if (inst.counter)
      writeScalar(inst.name, help, inst.kind, static_cast<long long>(inst.counter->value()));
    else
      writeScalar(inst.name, help, inst.kind, inst.gauge->value());
  };

  std::shared_lock lock(mutex_);
  const auto& fields = contractFields();
  for (std::size_t slot = 0; slot < fields.size(); ++slot) {
    const ContractField& f = fields[slot];
    if (const Instrument* inst = contract_slots_[slot].get())
      writeInstrument(*inst, f.help);
    else if (f.kind == FieldKind::kAverage)
      writeAverage(f.name, f.help, {}, {});
    else
      writeScalar(f.name, f.help, kindOf(f.kind), 0);
  }
  for (const auto& inst : extras_)
    writeInstrument(*inst, inst->help.empty() ? std::string_view(inst->name) : inst->help);
}

}  // namespace parley::core
