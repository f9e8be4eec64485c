#include "token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace parley::share {

namespace {
constexpr std::string_view kPrefix = "pst_";
constexpr std::size_t kRandomBytes = 24;  // 192 bits: 32 base64 characters, no padding
constexpr std::size_t kEncoded = kRandomBytes / 3 * 4;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool urlSafe(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}
}  // namespace

std::string newToken() {
  unsigned char bytes[kRandomBytes];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("the CSPRNG failed");
  std::string token(kPrefix);
  for (std::size_t i = 0; i < kRandomBytes; i += 3) {
    const unsigned v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) token += kAlphabet[(v >> shift) & 63];
  }
  OPENSSL_cleanse(bytes, sizeof bytes);
  return token;
}

bool wellFormed(std::string_view token) {
  if (token.size() != kPrefix.size() + kEncoded || token.substr(0, kPrefix.size()) != kPrefix)
    return false;
  for (char c : token.substr(kPrefix.size()))
    if (!urlSafe(c)) return false;
  return true;
}

std::string tokenHash(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(token.data(), token.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

std::string shareId(const std::string& hash) {
  return hash.substr(0, 16);
}

bool sameHash(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace parley::share
