#include "core/ws/handshake.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>

namespace parley::core::ws {

namespace {
std::string base64(const unsigned char* bytes, int n) {
  std::string out(static_cast<std::size_t>(4 * ((n + 2) / 3)), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes, n);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}
}  // namespace

std::string acceptKey(std::string_view key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(key);
  input += kGuid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return base64(digest, SHA_DIGEST_LENGTH);
}

bool validKey(std::string_view key) {
  if (key.size() != 24 || key.compare(22, 2, "==") != 0) return false;
  for (std::size_t i = 0; i < 22; ++i) {
    const char c = key[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
          c == '/'))
      return false;
  }
  unsigned char decoded[18];
  // 24 characters decode to 18 bytes of which the "==" padding makes the last two filler.
  return EVP_DecodeBlock(decoded, reinterpret_cast<const unsigned char*>(key.data()), 24) == 18;
}

std::string newKey() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  return base64(bytes, sizeof bytes);
}

std::vector<std::string_view> headerList(std::string_view value) {
  std::vector<std::string_view> parts;
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view part = value.substr(0, comma);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
    if (!part.empty()) parts.push_back(part);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return parts;
}

bool headerHasToken(std::string_view value, std::string_view token) {
  for (std::string_view part : headerList(value))
    if (iequals(part, token)) return true;
  return false;
}

}  // namespace parley::core::ws
