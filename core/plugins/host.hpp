// The plugin lifecycle: load -> describe -> configure -> start (dependency order) -> stop
// (reverse). A required plugin that fails at any step stops start-up; an optional one is skipped,
// logged and reported, and so are the optional plugins that depend on it.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/plugins/context.hpp"
#include "parley/sdk/plugin.hpp"

namespace Poco {
class Logger;
}

namespace parley::core {

class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using ConfigSections = std::map<std::string, std::map<std::string, std::string>>;

class PluginHost {
 public:
  struct Status {
    std::string id;
    std::string version;
    std::string path;
    std::string summary;
    bool running = false;
    bool failed = false;
    std::string failure;  // why it was skipped
    sdk::Health health;
  };

  PluginHost(const CoreServices& core, Poco::Logger& log);
  ~PluginHost();  // stops what runs and destroys the plugin objects; libraries stay loaded

  // Each step throws StartupError for a required plugin's failure, a missing dependency or a cycle.
  void load(const std::string& dir, const std::vector<std::string>& ids,
            const std::set<std::string>& optional);
  // `sections` holds plugins.<id>.<key> values by id; unknown keys and bad values are errors.
  void configure(const ConfigSections& sections);
  void start();
  void stop();

  std::vector<Status> status() const;  // in start order
  const std::vector<sdk::ConfigKey>* declaredKeys(const std::string& id) const;

 private:
  struct Slot;
  void fail(Slot& slot, const std::string& step, const std::string& reason);
  void orderByDependencies();

  CoreServices core_;
  Poco::Logger& log_;
  std::vector<std::unique_ptr<Slot>> slots_;  // in start order once configured
  std::vector<Slot*> started_;
};

}  // namespace parley::core
