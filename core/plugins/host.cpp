#include "core/plugins/host.hpp"

#include <Poco/Logger.h>

#include <boost/filesystem/operations.hpp>
#include <boost/filesystem/path.hpp>

#include <algorithm>
#include <functional>

#include "core/plugins/loader.hpp"
#include "core/runtime/names.hpp"
#include "parley/sdk/errors.hpp"

namespace parley::core {

struct PluginHost::Slot {
  std::string id;
  bool optional = false;
  std::string path;
  std::unique_ptr<sdk::Plugin> plugin;
  sdk::Descriptor descriptor;
  std::unique_ptr<PluginContext> context;
  bool failed = false;
  std::string failure;
};

namespace {

// Runs one call into plugin code; any exception becomes a message.
template <class F>
bool guarded(F&& f, std::string& error) {
  try {
    f();
    return true;
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "a non-standard exception";
  }
  return false;
}

}  // namespace

PluginHost::PluginHost(const CoreServices& core, Poco::Logger& log) : core_(core), log_(log) {}

PluginHost::~PluginHost() {
  stop();
  // Plugin objects go in reverse start order, while their libraries are still loaded.
  while (!slots_.empty()) slots_.pop_back();
}

void PluginHost::fail(Slot& slot, const std::string& step, const std::string& reason) {
  slot.failed = true;
  slot.failure = step + ": " + reason;
  if (!slot.optional) {
    // A plugin that refuses its settings is a configuration error (exit 78), like a core key.
    if (step == "configure") throw sdk::ConfigError("plugin '" + slot.id + "' " + slot.failure);
    throw StartupError("plugin '" + slot.id + "' " + slot.failure);
  }
  log_.warning("optional plugin '%s' skipped: %s", slot.id, slot.failure);
}

void PluginHost::load(const std::string& dir, const std::vector<std::string>& ids,
                      const std::set<std::string>& optional) {
  namespace fs = boost::filesystem;
  // Absolute, so that neither Boost.DLL's "./" prefixing nor a chdir can change what loads.
  const fs::path base = fs::absolute(fs::path(dir));
  for (const std::string& id : ids) {
    auto slot = std::make_unique<Slot>();
    slot->id = id;
    slot->optional = optional.count(id) > 0;
    slot->path = (base / (id + ".so")).lexically_normal().string();
    Slot& s = *slot;
    slots_.push_back(std::move(slot));
    if (std::count(ids.begin(), ids.end(), id) > 1)
      throw StartupError("plugins.load: '" + id + "' is listed twice");
    if (!isSnakeName(id))
      throw StartupError("plugins.load: '" + id + "' is not a valid plugin id ([a-z][a-z0-9_]*)");

    sdk::PluginFactory* factory = nullptr;
    std::string error;
    if (!guarded([&] { factory = loadPluginLibrary(s.path); }, error)) {
      fail(s, "load", error);
      continue;
    }
    if (!guarded([&] { s.plugin.reset(factory()); }, error) || !s.plugin) {
      fail(s, "create",
           error.empty() ? "the factory returned null" : "the factory threw: " + error);
      continue;
    }
    if (!guarded([&] { s.descriptor = s.plugin->describe(); }, error)) {
      fail(s, "describe", "threw: " + error);
      continue;
    }
    if (s.descriptor.id != id) {
      fail(s, "describe",
           s.path + " describes itself as '" + s.descriptor.id + "', not '" + id + "'");
      continue;
    }
    log_.information("loaded plugin '%s' %s from %s", id, s.descriptor.version, s.path);
  }
  orderByDependencies();
}

void PluginHost::orderByDependencies() {
  std::map<std::string, Slot*> by_id;
  for (auto& s : slots_) by_id[s->id] = s.get();
  for (auto& s : slots_)
    for (const auto& dep : s->descriptor.dependencies)
      if (!by_id.count(dep))
        throw StartupError("plugin '" + s->id + "' depends on '" + dep +
                           "', which is not in plugins.load");

  // Depth-first, in the configured order, so independent plugins keep the order operators wrote.
  std::vector<std::unique_ptr<Slot>> ordered;
  std::map<std::string, int> mark;  // 1 = on the current path, 2 = placed
  std::vector<std::string> path;
  std::function<void(Slot*)> visit = [&](Slot* s) {
    if (mark[s->id] == 2) return;
    path.push_back(s->id);
    if (mark[s->id] == 1) {
      auto from = std::find(path.begin(), path.end(), s->id);
      std::string cycle;
      for (auto it = from; it != path.end(); ++it) cycle += (cycle.empty() ? "" : " -> ") + *it;
      throw StartupError("plugin dependency cycle: " + cycle);
    }
    mark[s->id] = 1;
    for (const auto& dep : s->descriptor.dependencies) visit(by_id[dep]);
    mark[s->id] = 2;
    path.pop_back();
    for (auto& owned : slots_)
      if (owned.get() == s) ordered.push_back(std::move(owned));
  };
  for (auto& s : slots_)
    if (s) visit(s.get());
  slots_ = std::move(ordered);
}

const std::vector<sdk::ConfigKey>* PluginHost::declaredKeys(const std::string& id) const {
  for (const auto& s : slots_)
    if (s->id == id && s->plugin) return &s->descriptor.config;
  return nullptr;
}

void PluginHost::configure(const ConfigSections& sections) {
  for (auto& slot : slots_) {
    Slot& s = *slot;
    if (s.failed) continue;
    auto it = sections.find(s.id);
    std::string error;
    sdk::PluginConfig config;
    if (!guarded(
            [&] {
              config = sdk::PluginConfig(
                  s.id, s.descriptor.config,
                  it == sections.end() ? std::map<std::string, std::string>{} : it->second);
            },
            error)) {
      fail(s, "configure", error);
      continue;
    }
    if (!guarded([&] { s.plugin->configure(config); }, error)) {
      fail(s, "configure", error);
      continue;
    }
    s.context = std::make_unique<PluginContext>(s.id, std::move(config), core_);
  }
}

void PluginHost::start() {
  for (auto& slot : slots_) {
    Slot& s = *slot;
    if (s.failed) continue;
    for (const auto& dep : s.descriptor.dependencies) {
      auto d = std::find_if(slots_.begin(), slots_.end(), [&](auto& o) { return o->id == dep; });
      if ((*d)->failed) fail(s, "start", "depends on '" + dep + "', which was skipped");
    }
    if (s.failed) continue;
    std::string error;
    if (!guarded([&] { s.plugin->start(*s.context); }, error)) {
      s.context->revokeAll();  // whatever it registered before throwing
      try {
        fail(s, "start", "threw: " + error);
      } catch (const StartupError&) {
        stop();
        throw;
      }
      continue;
    }
    started_.push_back(&s);
    log_.information("started plugin '%s'", s.id);
  }
}

void PluginHost::stop() {
  // First nothing of any plugin runs any more (registrations revoked, scopes closed), so that
  // stop() and destruction never race a callback; then stop() and destruction, newest first.
  for (auto it = started_.rbegin(); it != started_.rend(); ++it) (*it)->context->revokeAll();
  for (auto it = started_.rbegin(); it != started_.rend(); ++it) {
    Slot& s = **it;
    std::string error;
    if (!guarded([&] { s.plugin->stop(); }, error))
      log_.error("plugin '%s' stop threw: %s", s.id, error);
    log_.information("stopped plugin '%s'", s.id);
  }
  for (auto it = started_.rbegin(); it != started_.rend(); ++it) (*it)->plugin.reset();
  started_.clear();
}

std::vector<PluginHost::Status> PluginHost::status() const {
  std::vector<Status> out;
  for (const auto& s : slots_) {
    Status st;
    st.id = s->id;
    st.version = s->descriptor.version;
    st.summary = s->descriptor.summary;
    st.path = s->path;
    st.failed = s->failed;
    st.failure = s->failure;
    st.running = std::find(started_.begin(), started_.end(), s.get()) != started_.end();
    if (st.running) {
      std::string error;
      if (!guarded([&] { st.health = s->plugin->health(); }, error))
        st.health = {false, "health check threw: " + error};
    }
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace parley::core
