// A blocking HTTP/1.1 client for tests, on Poco; errors come back as responses, never throws for
// an HTTP status.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <Poco/JSON/Object.h>

namespace parley::test {

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names as sent
  std::string header(const std::string& name) const;
  Poco::JSON::Object::Ptr json() const;  // parses body; throws if it is not a JSON object
};

HttpResult http(std::uint16_t port, const std::string& method, const std::string& path,
                const std::map<std::string, std::string>& headers = {},
                const std::string& body = "");
inline HttpResult get(std::uint16_t port, const std::string& path,
                      const std::map<std::string, std::string>& headers = {}) {
  return http(port, "GET", path, headers);
}
std::map<std::string, std::string> bearer(const std::string& token);
// GET /api/system/metrics on `port` with the tests' operator token, parsed.
Poco::JSON::Object::Ptr systemMetrics(std::uint16_t port);

// An HS256 JWT with `sub`, expiring `exp_offset_sec` from now.
std::string hs256Jwt(const std::string& secret, const std::string& sub, long exp_offset_sec = 300);
// The same with more claims in its payload (room_id, participant, ...).
std::string hs256Jwt(const std::string& secret, const std::string& sub,
                     const Poco::JSON::Object::Ptr& claims, long exp_offset_sec = 300);

// Sends raw bytes on a fresh connection and returns everything read until the server closes
// or `timeout_ms` passes.
std::string rawExchange(std::uint16_t port, const std::string& bytes, int timeout_ms = 5000);

}  // namespace parley::test
