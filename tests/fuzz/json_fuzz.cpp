// libFuzzer target for the SDK's JSON parser: whatever the input, parsing terminates without a
// crash; a document it accepts writes back to text that parses to the same document; isObject
// and validUtf8 agree with the full parser.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "parley/sdk/json.hpp"

using parley::sdk::json::Value;

namespace {
bool same(const Value& a, const Value& b) {
  if (a.type() != b.type() || a.size() != b.size() || a.keys() != b.keys()) return false;
  if (a.asBool() != b.asBool() || a.asString() != b.asString()) return false;
  if (a.isNumber() && a.asNumber() != b.asNumber()) return false;
  for (std::size_t i = 0; i < a.items().size(); ++i)
    if (!same(a.items()[i], b.items()[i])) return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Value v;
  parley::sdk::json::ParseError error;
  const bool ok = parley::sdk::json::parse(text, v, &error);
  if (parley::sdk::json::isObject(text) != (ok && v.isObject())) std::abort();
  if (ok && !parley::sdk::json::validUtf8(text)) std::abort();  // accepted text is UTF-8
  if (!ok && (error.message.empty() || error.offset > size)) std::abort();
  if (!ok) return 0;
  const std::string written = parley::sdk::json::Writer().value(v).take();
  Value again;
  if (!parley::sdk::json::parse(written, again) || !same(v, again)) std::abort();
  return 0;
}
