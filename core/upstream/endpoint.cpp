#include "core/upstream/endpoint.hpp"

#include <cctype>

namespace parley::core {

std::string Endpoint::hostHeader() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + host + "]" : host;
  const std::uint16_t standard = tls ? 443 : 80;
  return port == standard ? h : h + ":" + std::to_string(port);
}

std::optional<Endpoint> parseEndpoint(const std::string& url, std::string& error) {
  Endpoint e;
  const auto colon = url.find("://");
  if (colon == std::string::npos) {
    error = "'" + url + "' is not an absolute URL";
    return std::nullopt;
  }
  e.scheme = url.substr(0, colon);
  for (char& c : e.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (e.scheme == "ws" || e.scheme == "http") {
    e.port = 80;
  } else if (e.scheme == "wss" || e.scheme == "https") {
    e.port = 443;
    e.tls = true;
  } else {
    error = "unsupported scheme '" + e.scheme + "' (ws, wss, http, https)";
    return std::nullopt;
  }
  std::string rest = url.substr(colon + 3);
  const auto slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  e.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (e.target[0] == '?') e.target = "/" + e.target;
  if (authority.find('@') != std::string::npos) {
    error = "credentials in a URL are not supported; use a header";
    return std::nullopt;
  }
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) {
      error = "unterminated IPv6 address in '" + url + "'";
      return std::nullopt;
    }
    e.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        error = "bad authority in '" + url + "'";
        return std::nullopt;
      }
      port = authority.substr(close + 2);
    }
  } else {
    const auto c = authority.rfind(':');
    e.host = authority.substr(0, c);
    if (c != std::string::npos) port = authority.substr(c + 1);
  }
  if (e.host.empty()) {
    error = "no host in '" + url + "'";
    return std::nullopt;
  }
  for (char ch : e.host)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' || ch == ':' ||
          ch == '_')) {
      error = "bad host in '" + url + "'";
      return std::nullopt;
    }
  if (!port.empty()) {
    unsigned long n = 0;
    for (char ch : port) {
      if (!std::isdigit(static_cast<unsigned char>(ch)) || (n = n * 10 + (ch - '0')) > 65535) {
        error = "bad port in '" + url + "'";
        return std::nullopt;
      }
    }
    if (n == 0) {
      error = "bad port in '" + url + "'";
      return std::nullopt;
    }
    e.port = static_cast<std::uint16_t>(n);
  }
  for (char ch : e.target)
    if (static_cast<unsigned char>(ch) <= 0x20 || static_cast<unsigned char>(ch) >= 0x7F) {
      error = "the path of '" + url + "' must be percent-encoded";
      return std::nullopt;
    }
  return e;
}

}  // namespace parley::core
