// The websocket opening handshake's arithmetic (RFC 6455 4), shared by the server's upgrade and
// the upstream client.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace parley::core::ws {

// Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string acceptKey(std::string_view key);
// Whether a Sec-WebSocket-Key is what the RFC asks: 16 bytes in base64 (24 characters).
bool validKey(std::string_view key);
// A fresh Sec-WebSocket-Key (16 random bytes, base64).
std::string newKey();
// Whether a comma-separated header value (Connection, Upgrade) holds `token`, ignoring case.
// The elements of a comma-separated header value, trimmed, empty ones left out.
std::vector<std::string_view> headerList(std::string_view value);
bool headerHasToken(std::string_view value, std::string_view token);

}  // namespace parley::core::ws
