#pragma once

#include <string_view>

namespace parley::core {

// The one naming rule for plugin ids, metric names, config keys and route captures.
inline bool isSnakeName(std::string_view name) {
  if (name.empty() || name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

}  // namespace parley::core
