#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "parley/sdk/json.hpp"

namespace parley::core {

struct BearerAuthConfig {
  std::vector<std::string> operator_tokens;  // static monitoring tokens, compared in constant time
  std::string hs256_secret;                  // empty = HS256 disabled
  std::string public_key_file;               // PEM public key: RSA => RS256 accepted,
                                             // EC P-256 => ES256 accepted; empty = disabled
  int leeway_sec = 0;                        // clock skew tolerance for exp/nbf
};

struct AuthResult {
  bool ok = false;
  std::string subject;  // JWT "sub", or "operator" for an operator token
  bool is_operator = false;
  // On failure, one of: missing_token, malformed_token, bad_signature, unsupported_algorithm,
  // token_expired, token_not_yet_valid, missing_subject, unknown_token.
  std::string code;
  std::string message;      // on failure: one human sentence; never contains the token itself
  sdk::json::Value claims;  // a JWT's payload; null for an operator token
};

// Thread-safe after construction: all state is immutable, so one instance can serve every
// request thread.
class BearerAuth {
 public:
  // Throws std::invalid_argument naming the offending setting (and file) when public_key_file
  // cannot be read or parsed or holds anything but an RSA (>= 2048 bits) or EC P-256 public
  // key, or when a non-empty hs256_secret is shorter than 32 bytes.
  explicit BearerAuth(const BearerAuthConfig& config);
  ~BearerAuth();

  // header is the full Authorization header value, e.g. "Bearer abc". The scheme is matched
  // case-insensitively and surrounding spaces/tabs are tolerated. An empty header, or one with
  // another scheme, yields missing_token.
  AuthResult authenticateHeader(std::string_view header) const;

  // A raw token, e.g. from ?token= on a websocket URL.
  AuthResult authenticateToken(std::string_view token) const;

  bool jwtEnabled() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::core
