// Routes by method and path. Literal paths are a hash lookup; patterns with {name} captures are
// matched segment by segment. Unknown path: 404; known path, other method: 405 with Allow.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/runtime/call_gate.hpp"
#include "parley/sdk/http.hpp"

namespace parley::core {

class Router {
 public:
  struct Route {
    std::string owner;
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // "{name}" for a capture
    sdk::AuthPolicy auth;
    sdk::Handler handler;
    CallGate gate;
  };
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed };
  struct Match {
    Outcome outcome = Outcome::kNotFound;
    std::shared_ptr<Route> route;
    sdk::Fields params;
    std::string allow;  // for kMethodNotAllowed, e.g. "GET, POST"
  };

  // Throws sdk::RegistrationError on a malformed pattern or method, or a route already taken.
  std::shared_ptr<sdk::Revoker> add(const std::string& owner, const std::string& method,
                                    const std::string& pattern, sdk::AuthPolicy auth,
                                    sdk::Handler handler);
  Match match(std::string_view method, std::string_view path) const;

 private:
  void remove(const Route* route);
  static bool matches(const Route& route, const std::vector<std::string_view>& parts,
                      sdk::Fields* params);

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<Route>>> literal_;
  std::vector<std::shared_ptr<Route>> patterns_;
};

}  // namespace parley::core
