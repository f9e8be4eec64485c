#pragma once

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>

#include "parley/sdk/registration.hpp"

namespace parley::core {

// Interfaces offered by one plugin to others, by versioned name.
class ServiceRegistry {
 public:
  std::shared_ptr<sdk::Revoker> provide(const std::string& owner, const std::string& name,
                                        std::shared_ptr<void> service);
  std::shared_ptr<void> find(const std::string& name) const;

 private:
  struct Entry {
    std::string owner;
    std::shared_ptr<void> service;
  };
  mutable std::shared_mutex mutex_;
  std::map<std::string, Entry, std::less<>> services_;
};

}  // namespace parley::core
