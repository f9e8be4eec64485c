#include "core/runtime/services.hpp"

#include <mutex>

#include "parley/sdk/errors.hpp"

namespace parley::core {

std::shared_ptr<sdk::Revoker> ServiceRegistry::provide(const std::string& owner,
                                                       const std::string& name,
                                                       std::shared_ptr<void> service) {
  if (!service) throw sdk::RegistrationError("service '" + name + "' from '" + owner + "' is null");
  std::unique_lock lock(mutex_);
  auto [it, fresh] = services_.emplace(name, Entry{owner, std::move(service)});
  if (!fresh)
    throw sdk::RegistrationError("service '" + name + "' offered by '" + owner +
                                 "' is already offered by '" + it->second.owner + "'");
  return std::make_shared<sdk::Revoker>([this, name] {
    std::unique_lock l(mutex_);
    services_.erase(name);
  });
}

std::shared_ptr<void> ServiceRegistry::find(const std::string& name) const {
  std::shared_lock lock(mutex_);
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : it->second.service;
}

}  // namespace parley::core
