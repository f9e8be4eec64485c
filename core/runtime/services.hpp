#pragma once

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>

#include "parley/sdk/registration.hpp"

namespace parley::core {

// Interfaces offered by one plugin to others, by versioned name, with the type they were offered
// as (when the plugin said), so that a consumer asking for another type is refused instead of
// handed a pointer to the wrong thing.
class ServiceRegistry {
 public:
  // `type_name` is typeid(T).name() of the offered type, or empty (SDK 1.1's untyped provide).
  std::shared_ptr<sdk::Revoker> provide(const std::string& owner, const std::string& name,
                                        std::shared_ptr<void> service,
                                        const std::string& type_name = {});
  // Null when nothing is offered under `name`. Throws sdk::RegistrationError when both sides
  // named a type and they differ.
  std::shared_ptr<void> find(const std::string& name, const std::string& type_name = {}) const;

 private:
  struct Entry {
    std::string owner;
    std::shared_ptr<void> service;
    std::string type_name;
  };
  mutable std::shared_mutex mutex_;
  std::map<std::string, Entry, std::less<>> services_;
};

}  // namespace parley::core
