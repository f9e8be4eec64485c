// libFuzzer target for the message dispatcher's first step: classifying a client text message
// (the JSON parse and "type" lookup every text frame goes through). Only valid UTF-8 reaches it
// in the server, so other inputs are skipped. Invariants: exactly one outcome, and an error is
// one of the two codes the protocol defines.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/ws/message.hpp"
#include "core/ws/utf8.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  parley::core::ws::Utf8Validator utf8;
  if (!utf8.feed(data, size) || !utf8.complete()) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto kind = parley::core::ws::classifyMessage(text);
  const bool typed = kind.error_code.empty();
  if (typed != kind.error_message.empty()) std::abort();  // a code without a message, or reverse
  if (!typed && kind.error_code != "invalid_json" && kind.error_code != "unknown_type")
    std::abort();
  if (!typed && !kind.type.empty()) std::abort();
  return 0;
}
