#include "core/ws/message.hpp"

#include <Poco/JSON/Parser.h>

namespace parley::core::ws {

MessageKind classifyMessage(const std::string& json) {
  MessageKind kind;
  try {
    Poco::JSON::Parser parser;
    auto object = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
    if (!object) throw Poco::Exception("not an object");
    const Poco::Dynamic::Var type = object->get("type");
    if (type.isString()) {
      kind.type = type.extract<std::string>();
      return kind;
    }
    kind.error_code = "unknown_type";
    kind.error_message = "a message needs a string \"type\"";
  } catch (const std::exception&) {
    kind.error_code = "invalid_json";
    kind.error_message = "a text message must be a JSON object";
  }
  return kind;
}

}  // namespace parley::core::ws
