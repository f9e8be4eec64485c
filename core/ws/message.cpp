#include "core/ws/message.hpp"

namespace parley::core::ws {

MessageKind classifyMessage(const std::string& json) {
  MessageKind kind;
  sdk::json::ParseError error;
  if (!sdk::json::parse(json, kind.message, &error) || !kind.message.isObject()) {
    kind.message = {};
    kind.error_code = "invalid_json";
    kind.error_message = "a text message must be a JSON object";
    if (!error.message.empty())
      kind.error_message += " (" + error.message + " at byte " + std::to_string(error.offset) + ")";
    return kind;
  }
  const sdk::json::Value& type = kind.message["type"];
  if (!type.isString()) {
    kind.message = {};
    kind.error_code = "unknown_type";
    kind.error_message = "a message needs a string \"type\"";
    return kind;
  }
  kind.type = std::string(type.asString());
  return kind;
}

}  // namespace parley::core::ws
