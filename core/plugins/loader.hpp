// Opens a plugin library and checks its ABI record before running any of its code. This is the
// only file in the core that knows about Boost.DLL.
#pragma once

#include <stdexcept>
#include <string>

#include "parley/sdk/plugin.hpp"

namespace parley::core {

class PluginLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Loads `path` (absolute) and returns its factory. Throws PluginLoadError with one line naming the
// file and, for an ABI mismatch, the field, the expected and the found value. A loaded library is
// never unloaded: objects, vtables and exceptions from it may live until the process ends.
sdk::PluginFactory* loadPluginLibrary(const std::string& path);

}  // namespace parley::core
