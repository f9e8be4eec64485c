// Where an upstream URL points: scheme, host, port and request target.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace parley::core {

struct Endpoint {
  std::string scheme;  // ws, wss, http, https
  std::string host;    // a name, or an IP address (without brackets)
  std::uint16_t port = 0;
  std::string target;  // path and query, at least "/"
  bool tls = false;

  // "host" or "host:port" for a Host header (the port only when it is not the scheme's default).
  std::string hostHeader() const;
};

// Parses ws://, wss://, http:// and https:// URLs; nullopt (with `error`) for anything else.
std::optional<Endpoint> parseEndpoint(const std::string& url, std::string& error);

}  // namespace parley::core
