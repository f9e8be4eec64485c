// Share tokens as strings: made from a CSPRNG, recognised by their shape, stored only as a hash.
#pragma once

#include <string>
#include <string_view>

namespace parley::share {

// "pst_" and 32 URL-safe base64 characters: 192 random bits from OpenSSL's CSPRNG.
std::string newToken();
// Whether `token` has that shape (a truncated or padded one has not).
bool wellFormed(std::string_view token);
// What the store keeps: SHA-256 of the token, lower-case hex.
std::string tokenHash(std::string_view token);
// A token's public name, in logs, events and viewers' claims: the first 16 hex digits of its
// hash. It does not let anyone use the token.
std::string shareId(const std::string& hash);
// Compares two hashes in constant time.
bool sameHash(const std::string& a, const std::string& b);

}  // namespace parley::share
