// Writing HTTP/1.1 responses. Every response says HTTP/1.1, whatever the request's version, and
// carries Date and Content-Length; header names or values a handler gave that would break the
// framing (CR, LF, NUL) are dropped.
#pragma once

#include <string>
#include <string_view>

#include "parley/sdk/http.hpp"

namespace parley::core {

enum class ConnectionHeader { kNone, kClose, kKeepAlive };

const char* reasonPhrase(int status);

// Appends the status line, headers and (unless `head_only`, for HEAD) the body.
void appendResponse(std::string& out, const sdk::Response& response, bool head_only,
                    ConnectionHeader connection);

}  // namespace parley::core
