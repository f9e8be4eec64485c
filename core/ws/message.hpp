// What a client's text message asks for: its "type" and the parsed message, or the error event it
// earns instead.
#pragma once

#include <string>

#include "parley/sdk/json.hpp"

namespace parley::core::ws {

struct MessageKind {
  std::string type;          // set when the message is a JSON object with a string "type"
  sdk::json::Value message;  // the parsed message, when it has a type
  std::string error_code;    // otherwise "invalid_json" or "unknown_type"
  std::string error_message;
};

// `json` is a complete, UTF-8-valid text message.
MessageKind classifyMessage(const std::string& json);

}  // namespace parley::core::ws
