// HTTP routes a plugin adds to the core's server. Requests arrive fully read (bodies are bounded
// by http.max_body_bytes). A handler runs on the worker pool, where it may block (storage), unless
// its route says it runs on the event loop (RouteSpec::where = RunOn::kLoop, since SDK 1.2), for
// handlers that never block. Either way the event loop writes the response.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "parley/sdk/export.hpp"
#include "parley/sdk/registration.hpp"

namespace parley::sdk {

enum class AuthPolicy {
  kPublic,    // no credentials needed
  kBearer,    // any valid bearer: a JWT (subject = its "sub") or an operator token
  kOperator,  // operator tokens only (monitoring and administration)
};

// Request, Response and Principal are frozen since SDK 1.1: later versions add beside them.
struct Principal {
  std::string subject;  // JWT "sub"; "operator" for an operator token; empty when public
  bool is_operator = false;
};

using Fields = std::vector<std::pair<std::string, std::string>>;

struct PARLEY_SDK_API Request {
  std::string method;
  std::string path;    // decoded, without the query
  Fields path_params;  // from {name} segments of the route pattern
  Fields query;        // decoded, in order
  Fields headers;      // names lower-cased
  std::string body;
  Principal principal;
  std::string remote_address;

  // The first value for `name`, or `fallback`.
  const std::string& pathParam(const std::string& name, const std::string& fallback = {}) const;
  const std::string& queryParam(const std::string& name, const std::string& fallback = {}) const;
  const std::string& header(const std::string& lower_name, const std::string& fallback = {}) const;
};

struct PARLEY_SDK_API Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  Fields headers;

  static Response json(int status, std::string body);
  static Response error(int status, std::string_view code, std::string_view message);
};

using Handler = std::function<Response(const Request&)>;

// Where a handler runs. kLoop: on an event loop; it must never block. kWorker: on the worker pool,
// where it may block. (For websocket handlers see also websocket.hpp.)
enum class RunOn { kLoop, kWorker };

// Since SDK 1.2.
struct RouteSpec {
  std::string method;
  std::string pattern;
  AuthPolicy auth = AuthPolicy::kBearer;
  // Set: the route is let in by the verifier of this query parameter (Access::addVerifier), and
  // `auth` is not consulted; the verifier's subject is the principal. Such a route runs on the
  // worker pool (the verifier, then the handler), whatever `where` says.
  std::string verifier;
  RunOn where = RunOn::kWorker;
};

class PARLEY_SDK_API HttpRoutes {
 public:
  virtual ~HttpRoutes();
  // `pattern` is a path whose segments may be {name} captures, e.g. "/api/session/{id}/share".
  // Two routes with the same method and pattern are refused with RegistrationError. The handler
  // runs on the worker pool.
  virtual Registration add(const std::string& method, const std::string& pattern, AuthPolicy auth,
                           Handler handler) = 0;
  // Since SDK 1.2.
  virtual Registration add(const RouteSpec& spec, Handler handler) = 0;
};

}  // namespace parley::sdk
