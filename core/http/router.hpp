// Routes by method and path. Literal paths are a hash lookup; patterns with {name} captures are
// matched segment by segment. Unknown path: 404; known path, other method: 405 with Allow.
// Paths are matched as their segments, each percent-decoded on its own: an encoded "/" (%2F) is a
// character of its segment, never a separator.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/runtime/call_gate.hpp"
#include "parley/sdk/http.hpp"
#include "parley/sdk/websocket.hpp"

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
    sdk::RunOn where = sdk::RunOn::kWorker;  // kLoop: it never blocks
    std::string verifier;  // set: a plugin's verifier of this query parameter lets requests in
    CallGate gate;
  };
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed, kBadPath };
  struct Match {
    Outcome outcome = Outcome::kNotFound;
    std::shared_ptr<Route> route;
    sdk::Fields params;
    std::string path;   // decoded, for messages and handlers
    std::string allow;  // for kMethodNotAllowed, e.g. "GET, POST"
  };

  // Throws sdk::RegistrationError on a malformed pattern or method, or a route already taken.
  std::shared_ptr<sdk::Revoker> add(const std::string& owner, const std::string& method,
                                    const std::string& pattern, sdk::AuthPolicy auth,
                                    sdk::Handler handler, sdk::RunOn where = sdk::RunOn::kWorker,
                                    const std::string& verifier = {});
  // `raw_path` as it came in the request target, still percent-encoded, without the query.
  // kBadPath when it is not "/"-rooted or its encoding is malformed.
  Match match(std::string_view method, std::string_view raw_path) const;

 private:
  void remove(const Route* route);
  static bool matches(const Route& route, const std::vector<std::string>& parts,
                      sdk::Fields* params);

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<Route>>> literal_;
  std::vector<std::shared_ptr<Route>> patterns_;
};

}  // namespace parley::core
