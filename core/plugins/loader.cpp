#include "core/plugins/loader.hpp"

#include <boost/dll/shared_library.hpp>

#include "core/plugins/elf_section.hpp"

#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

namespace parley::core {

namespace {

std::string text(const char* field, std::size_t size) {
  return std::string(field, strnlen(field, size));
}

void expectSame(const std::string& path, const char* field, const std::string& expected,
                const std::string& found) {
  if (expected != found)
    throw PluginLoadError(path + ": ABI " + field + " mismatch: expected '" + expected +
                          "', found '" + found + "'");
}

void checkAbi(const std::string& path, const sdk::AbiRecord& found) {
  constexpr sdk::AbiRecord mine = sdk::currentAbiRecord();
  if (found.magic != sdk::kAbiMagic)
    throw PluginLoadError(path + ": parley_plugin_abi is not a Parley ABI record (bad magic)");
  if (found.sdk_major != mine.sdk_major)
    throw PluginLoadError(path + ": ABI sdk_major mismatch: expected " +
                          std::to_string(mine.sdk_major) + ", found " +
                          std::to_string(found.sdk_major));
  if (found.sdk_minor > mine.sdk_minor)
    throw PluginLoadError(path + ": ABI sdk_minor too new: expected at most " +
                          std::to_string(mine.sdk_minor) + ", found " +
                          std::to_string(found.sdk_minor) + " (the plugin needs a newer parleyd)");
  expectSame(path, "toolchain", text(mine.toolchain, sizeof mine.toolchain),
             text(found.toolchain, sizeof found.toolchain));
  expectSame(path, "boost", text(mine.boost, sizeof mine.boost),
             text(found.boost, sizeof found.boost));
  expectSame(path, "poco", text(mine.poco, sizeof mine.poco), text(found.poco, sizeof found.poco));
}

// Never destroyed: see the header.
std::vector<boost::dll::shared_library>& keptLibraries() {
  static auto* libs = new std::vector<boost::dll::shared_library>;
  return *libs;
}
std::mutex& keptMutex() {
  static auto* m = new std::mutex;
  return *m;
}

}  // namespace

sdk::PluginFactory* loadPluginLibrary(const std::string& path) {
  // The record is read from the file: a refused library is never loaded, so none of its code
  // (static initialisers included) runs.
  std::optional<std::string> section;
  try {
    section = readElfSection(path, sdk::kAbiSection);
  } catch (const std::exception& e) {
    throw PluginLoadError(path + ": cannot load: " + e.what());
  }
  if (section) {
    sdk::AbiRecord record{};
    if (section->size() != sizeof record)
      throw PluginLoadError(path + ": its " + sdk::kAbiSection +
                            " section is not a Parley ABI record");
    std::memcpy(&record, section->data(), sizeof record);
    checkAbi(path, record);
  }
  boost::dll::shared_library lib;
  try {
    lib.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw PluginLoadError(path + ": cannot load: " + e.what());
  }
  if (!section) {
    // Built against SDK 1.1: the record is an exported alias, readable only once loaded.
    if (!lib.has("parley_plugin_abi"))
      throw PluginLoadError(path + ": no ABI record (not built with PARLEY_PLUGIN?)");
    checkAbi(path, lib.get_alias<const sdk::AbiRecord>("parley_plugin_abi"));
  }
  if (!lib.has("parley_plugin_factory"))
    throw PluginLoadError(path +
                          ": no parley_plugin_factory symbol (not built with PARLEY_PLUGIN?)");
  sdk::PluginFactory* factory = &lib.get_alias<sdk::PluginFactory>("parley_plugin_factory");
  std::lock_guard lock(keptMutex());
  keptLibraries().push_back(std::move(lib));
  return factory;
}

}  // namespace parley::core
