#include "core/runtime/access_registry.hpp"

#include <mutex>

#include "core/runtime/names.hpp"
#include "parley/sdk/errors.hpp"

namespace parley::core {

std::shared_ptr<sdk::Revoker> AccessRegistry::addVerifier(const std::string& owner,
                                                          const std::string& param,
                                                          sdk::Access::Verifier verify) {
  if (!isSnakeName(param) || param == "token" || param == "access_token")
    throw sdk::RegistrationError("verifier parameter '" + param + "' (from '" + owner +
                                 "') must be [a-z][a-z0-9_]*, and not the bearer's");
  auto v = std::make_shared<Verifier>();
  v->owner = owner;
  v->verify = std::move(verify);
  {
    std::unique_lock lock(mutex_);
    auto [it, fresh] = verifiers_.emplace(param, v);
    if (!fresh)
      throw sdk::RegistrationError("verifier parameter '" + param + "' (from '" + owner +
                                   "') is already verified by '" + it->second->owner + "'");
  }
  return std::make_shared<sdk::Revoker>([this, param, raw = v.get()] {
    std::shared_ptr<Verifier> gone;
    {
      std::unique_lock lock(mutex_);
      auto it = verifiers_.find(param);
      if (it != verifiers_.end() && it->second.get() == raw) {
        gone = it->second;
        verifiers_.erase(it);
      }
    }
    if (gone) gone->gate.close();
  });
}

std::shared_ptr<sdk::Revoker> AccessRegistry::addAdmissionCheck(const std::string& owner,
                                                                sdk::Access::AdmissionCheck check) {
  auto c = std::make_shared<Check>();
  c->owner = owner;
  c->check = std::move(check);
  {
    std::unique_lock lock(mutex_);
    checks_.push_back(c);
  }
  return std::make_shared<sdk::Revoker>([this, raw = c.get()] {
    std::shared_ptr<Check> gone;
    {
      std::unique_lock lock(mutex_);
      for (auto it = checks_.begin(); it != checks_.end(); ++it)
        if (it->get() == raw) {
          gone = *it;
          checks_.erase(it);
          break;
        }
    }
    if (gone) gone->gate.close();
  });
}

sdk::Grant AccessRegistry::guarded(const std::string& owner, CallGate& gate,
                                   const std::function<sdk::Grant()>& call) const {
  CallGate::Pass pass(gate);
  if (!pass) return sdk::Grant::refuse(503, "unavailable", "the verifier is being removed");
  try {
    return call();
  } catch (const std::exception& e) {
    on_error_(owner, std::string("access check threw: ") + e.what());
  } catch (...) {
    on_error_(owner, "access check threw a non-exception");
  }
  return sdk::Grant::refuse(500, "internal_error", "the access check failed");
}

std::string AccessRegistry::verifierOwner(const sdk::Fields& query) const {
  std::shared_lock lock(mutex_);
  for (const auto& [name, value] : query)
    if (auto it = verifiers_.find(name); it != verifiers_.end()) return it->second->owner;
  return {};
}

std::optional<sdk::Grant> AccessRegistry::verify(const sdk::Credentials& request) const {
  std::shared_ptr<Verifier> v;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [name, value] : request.query) {
      auto it = verifiers_.find(name);
      if (it != verifiers_.end()) {
        v = it->second;
        break;
      }
    }
  }
  if (!v) return std::nullopt;
  return guarded(v->owner, v->gate, [&] { return v->verify(request); });
}

sdk::Grant AccessRegistry::verifyWith(const std::string& param,
                                      const sdk::Credentials& request) const {
  std::shared_ptr<Verifier> v;
  {
    std::shared_lock lock(mutex_);
    auto it = verifiers_.find(param);
    if (it != verifiers_.end()) v = it->second;
  }
  if (!v) return sdk::Grant::refuse(503, "unavailable", "no verifier for '" + param + "'");
  return guarded(v->owner, v->gate, [&] { return v->verify(request); });
}

sdk::Grant AccessRegistry::admit(const sdk::Admission& admission) const {
  std::vector<std::shared_ptr<Check>> checks;
  {
    std::shared_lock lock(mutex_);
    checks = checks_;
  }
  for (const auto& c : checks) {
    sdk::Grant g = guarded(c->owner, c->gate, [&] { return c->check(admission); });
    if (!g.ok) return g;
  }
  return sdk::Grant::allow(admission.subject);
}

bool AccessRegistry::isCredential(const std::string& param) const {
  if (param == "token" || param == "access_token") return true;
  std::shared_lock lock(mutex_);
  return verifiers_.count(param) > 0;
}

}  // namespace parley::core
