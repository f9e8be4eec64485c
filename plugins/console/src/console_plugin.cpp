// console: the web console. `/` is an interview room in the browser (interviewer, candidate, or a
// read-only viewer from a share link); `/dashboard` charts the metrics contract for operators.
// Static files only: the pages speak the same public protocol as any client.
#include <dlfcn.h>
#include <parley/sdk/errors.hpp>
#include <parley/sdk/plugin.hpp>

#include <stdexcept>

#include "static_files.hpp"

namespace parley::console {
namespace {

using namespace parley::sdk;

// Where the installed files are, next to this library: PREFIX/lib/parley/plugins/console.so finds
// PREFIX/share/parley/console (the build tree has the same layout).
std::string installedRoot() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&installedRoot), &info) == 0 || !info.dli_fname) return {};
  std::string self = info.dli_fname;
  const auto slash = self.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : self.substr(0, slash);
  return dir + "/" PARLEY_CONSOLE_FROM_PLUGIN_DIR;
}

// Each page is a route of its own; every file is also under /console/.
constexpr std::pair<const char*, const char*> kPages[] = {
    {"/", "index.html"},
    {"/dashboard", "dashboard.html"},
};

class ConsolePlugin final : public Plugin {
 public:
  Descriptor describe() const override {
    Descriptor d;
    d.id = "console";
    d.version = "1.0.0";
    d.summary = "The web console: an interview room at /, the operators' dashboard at /dashboard.";
    d.config = {
        {"root", ConfigType::kString, "",
         "The console's files; empty: share/parley/console of the installation."},
    };
    return d;
  }

  void configure(const PluginConfig& cfg) override {
    root_ = cfg.getString("root");
    if (root_.empty()) root_ = installedRoot();
    try {
      files_ = StaticFiles::load(root_);
    } catch (const std::runtime_error& e) {
      throw ConfigError(std::string("plugins.console.root: ") + e.what());
    }
    for (const auto& [path, file] : kPages)
      if (!files_.find(file))
        throw ConfigError("plugins.console.root: " + root_ + " has no " + file);
  }

  void start(Context& ctx) override {
    // Files are in memory and never change while running: handlers stay on the loop.
    auto add = [&](const std::string& pattern, const StaticFile* file) {
      RouteSpec spec{"GET", pattern, AuthPolicy::kPublic, {}, RunOn::kLoop};
      regs_.push_back(ctx.http().add(
          spec, [file](const Request& request) { return StaticFiles::serve(*file, request); }));
    };
    for (const auto& [pattern, file] : kPages) add(pattern, files_.find(file));
    for (const auto& [path, file] : files_.files()) add("/console/" + path, &file);
    ctx.log().info("serving " + std::to_string(files_.files().size()) + " files from " + root_);
  }

  void stop() override { regs_.clear(); }

 private:
  std::string root_;
  StaticFiles files_;
  std::vector<Registration> regs_;
};

}  // namespace
}  // namespace parley::console

PARLEY_PLUGIN(parley::console::ConsolePlugin)
