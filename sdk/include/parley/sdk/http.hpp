// HTTP routes a plugin adds to the core's server. Requests arrive fully read (bodies are bounded
// by http.max_body_bytes) on one of the server's pool threads; a handler may block briefly (a
// storage read) but never for long, since it holds that thread.
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

class PARLEY_SDK_API HttpRoutes {
 public:
  virtual ~HttpRoutes();
  // `pattern` is a path whose segments may be {name} captures, e.g. "/api/session/{id}/share".
  // Two routes with the same method and pattern are refused with RegistrationError.
  virtual Registration add(const std::string& method, const std::string& pattern, AuthPolicy auth,
                           Handler handler) = 0;
};

}  // namespace parley::sdk
