// The plugin interface and the macro that exports one from a shared library.
//
// Lifecycle, driven by parleyd on its main thread:
//   describe()  -> id, version, dependencies, configuration keys (may be called more than once)
//   configure() -> the validated configuration; throw ConfigError to refuse it
//   start()     -> register routes, metrics, subscriptions, services, session handlers
//   stop()      -> release what start() made; everything registered was revoked just before
// Plugins start in dependency order; at shutdown every plugin's registrations are revoked (and its
// scopes closed), then stop() runs, then the plugin objects are destroyed, each in reverse start
// order. An exception from any of these is caught by the core and reported with the plugin's id.
#pragma once

#include <string>
#include <vector>

#include <boost/dll/alias.hpp>

#include "parley/sdk/abi.hpp"
#include "parley/sdk/config.hpp"
#include "parley/sdk/context.hpp"
#include "parley/sdk/export.hpp"

namespace parley::sdk {

// Descriptor and Health are frozen since SDK 1.1.
struct Descriptor {
  std::string id;       // [a-z][a-z0-9_]*; the name in plugins.load and plugins.<id>.*
  std::string version;  // the plugin's own version, for logs
  std::string summary;  // one line for parleyd --check-config
  std::vector<std::string> dependencies;  // ids of plugins that must start first
  std::vector<ConfigKey> config;
};

struct Health {
  bool ready = true;
  std::string detail;  // why not, for /readyz
};

class PARLEY_SDK_API Plugin {
 public:
  virtual ~Plugin();
  virtual Descriptor describe() const = 0;
  virtual void configure(const PluginConfig& config);
  virtual void start(Context& context) = 0;
  virtual void stop();
  // Polled by /readyz from HTTP threads: whether the backends this plugin needs are reachable.
  virtual Health health() const;
};

using PluginFactory = Plugin*();

}  // namespace parley::sdk

// Exports `PluginClass` (default-constructible, derived from parley::sdk::Plugin) from this
// library, and places its ABI record where the loader reads it without loading the library. Use
// it once, in one source file of the plugin.
#define PARLEY_PLUGIN(PluginClass)                                                                \
  namespace parley_plugin_export {                                                                \
  ::parley::sdk::Plugin* create() {                                                               \
    return new PluginClass();                                                                     \
  }                                                                                               \
  __attribute__((section("parley_abi"), used)) extern const ::parley::sdk::AbiRecord abi_record = \
      ::parley::sdk::currentAbiRecord();                                                          \
  }                                                                                               \
  BOOST_DLL_ALIAS(parley_plugin_export::create, parley_plugin_factory)
