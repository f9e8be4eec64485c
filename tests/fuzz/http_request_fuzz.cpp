// libFuzzer target for the HTTP request parser: whatever the bytes, and however they are split
// across reads, parsing terminates without a crash, never consumes more than it was given, ends in
// one state, and an error always carries a status to answer. The first input byte chooses the
// split size, so the fuzzer explores partial heads and bodies too.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/http/request_parser.hpp"

using parley::core::RequestParser;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 64;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  parley::core::RequestLimits limits;
  limits.max_header_bytes = 2048;
  limits.max_body_bytes = 4096;
  RequestParser parser(limits);
  std::string pending;
  std::size_t offset = 0;
  bool body_asked = false;
  while (offset < input.size() || !pending.empty()) {
    const std::size_t take = std::min(step, input.size() - offset);
    pending.append(input, offset, take);
    offset += take;
    const std::size_t used = parser.feed(pending.data(), pending.size());
    if (used > pending.size()) std::abort();
    pending.erase(0, used);
    if (parser.state() == RequestParser::State::kHead && !body_asked) {
      if (parser.head().method.empty()) std::abort();
      parser.readBody();  // once, as the connection does
      body_asked = true;
      continue;
    }
    if (parser.state() == RequestParser::State::kError) {
      if (parser.errorStatus() < 400 || parser.errorStatus() > 505 || parser.errorCode().empty())
        std::abort();
      return 0;
    }
    if (parser.state() == RequestParser::State::kDone) {
      if (parser.body().size() > limits.max_body_bytes) std::abort();
      return 0;
    }
    if (take == 0 && used == 0) break;  // everything offered, more is needed
  }
  return 0;
}
