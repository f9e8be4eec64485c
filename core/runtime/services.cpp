#include "core/runtime/services.hpp"

#include <mutex>

#include "parley/sdk/errors.hpp"

namespace parley::core {

std::shared_ptr<sdk::Revoker> ServiceRegistry::provide(const std::string& owner,
                                                       const std::string& name,
                                                       std::shared_ptr<void> service,
                                                       const std::string& type_name) {
  if (!service) throw sdk::RegistrationError("service '" + name + "' from '" + owner + "' is null");
  std::unique_lock lock(mutex_);
  auto [it, fresh] = services_.emplace(name, Entry{owner, std::move(service), type_name});
  if (!fresh)
    throw sdk::RegistrationError("service '" + name + "' offered by '" + owner +
                                 "' is already offered by '" + it->second.owner + "'");
  const void* raw = it->second.service.get();
  return std::make_shared<sdk::Revoker>([this, name, raw] {
    std::unique_lock l(mutex_);
    auto it = services_.find(name);
    if (it != services_.end() && it->second.service.get() == raw) services_.erase(it);
  });
}

std::shared_ptr<void> ServiceRegistry::find(const std::string& name,
                                            const std::string& type_name) const {
  std::shared_lock lock(mutex_);
  auto it = services_.find(name);
  if (it == services_.end()) return nullptr;
  const Entry& e = it->second;
  if (!type_name.empty() && !e.type_name.empty() && type_name != e.type_name)
    throw sdk::RegistrationError("service '" + name + "' of '" + e.owner + "' is a " + e.type_name +
                                 ", not a " + type_name);
  return e.service;
}

}  // namespace parley::core
