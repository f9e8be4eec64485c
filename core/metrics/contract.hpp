// The fields of GET /api/system/metrics, as ../shared/contract/system-metrics.md fixes them:
// name, JSON type and order. The response always carries every field; a field whose owner is not
// loaded reads 0.
#pragma once

#include <string_view>
#include <vector>

namespace parley::core {

enum class FieldKind {
  kCounter,  // a JSON integer, fed by a Counter
  kGauge,    // a JSON integer, fed by a Gauge
  kAverage,  // a JSON float with fixed decimals, fed by an Average; also emits its raw pair
};

struct ContractField {
  std::string_view name;
  FieldKind kind;
  std::string_view help;
  int decimals = 0;                 // kAverage only
  std::string_view total_name{};    // kAverage only: the raw sum
  std::string_view samples_name{};  // kAverage only: the raw count
};

const std::vector<ContractField>& contractFields();

}  // namespace parley::core
