// Credential verifiers and websocket admission checks that plugins add (sdk/access.hpp), gated
// like every other hook.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/runtime/call_gate.hpp"
#include "parley/sdk/access.hpp"

namespace parley::core {

class AccessRegistry {
 public:
  using ErrorSink = std::function<void(const std::string& owner, const std::string& what)>;
  explicit AccessRegistry(ErrorSink on_error) : on_error_(std::move(on_error)) {}

  std::shared_ptr<sdk::Revoker> addVerifier(const std::string& owner, const std::string& param,
                                            sdk::Access::Verifier verify);
  std::shared_ptr<sdk::Revoker> addAdmissionCheck(const std::string& owner,
                                                  sdk::Access::AdmissionCheck check);

  // The plugin whose verifier verify() would ask, or empty.
  std::string verifierOwner(const sdk::Fields& query) const;
  // The decision of the verifier of the first query parameter that has one; nullopt when the
  // query holds none.
  std::optional<sdk::Grant> verify(const sdk::Credentials& request) const;
  // The decision of the verifier of `param` (a route's); a refusal when there is none.
  sdk::Grant verifyWith(const std::string& param, const sdk::Credentials& request) const;
  // Every admission check in turn; the first refusal wins.
  sdk::Grant admit(const sdk::Admission& admission) const;
  // Whether a query parameter carries credentials (token, access_token, a verifier's): such
  // parameters are never shown to plugins in SessionInfo::query.
  bool isCredential(const std::string& param) const;

 private:
  struct Verifier {
    std::string owner;
    sdk::Access::Verifier verify;
    CallGate gate;
  };
  struct Check {
    std::string owner;
    sdk::Access::AdmissionCheck check;
    CallGate gate;
  };
  sdk::Grant guarded(const std::string& owner, CallGate& gate,
                     const std::function<sdk::Grant()>& call) const;

  ErrorSink on_error_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<Verifier>> verifiers_;
  std::vector<std::shared_ptr<Check>> checks_;
};

}  // namespace parley::core
