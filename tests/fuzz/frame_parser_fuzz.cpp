// libFuzzer target for the RFC 6455 FrameParser: whatever bytes a client sends, split into reads
// of whatever sizes, the parser must not crash, and every message it hands out must keep the
// promises the connection relies on.
//
// Input layout: the low 3 bits of byte 0 give n, the number of read-size bytes that follow; read
// sizes are those bytes + 1, used in turn over the rest of the input (the client's byte stream).
// n = 0 delivers the whole stream in one read.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/ws/frame.hpp"
#include "core/ws/utf8.hpp"

namespace {

using parley::core::ws::encodeClose;
using parley::core::ws::encodeFrame;
using parley::core::ws::FrameParser;
using parley::core::ws::Message;
using parley::core::ws::Opcode;
using parley::core::ws::Utf8Validator;
namespace close_code = parley::core::ws::close_code;

constexpr std::size_t kMaxMessage = 64 * 1024;
// Inputs stay far below 64 KiB, so a second, tiny limit makes the size checks reachable too.
constexpr std::size_t kSmallMax = 100;

// A broken invariant is a crash to libFuzzer, which then keeps the input as the reproducer.
void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

bool validUtf8(const std::string& s) {
  Utf8Validator v;
  return v.feed(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()) && v.complete();
}

bool sameMessages(const std::vector<Message>& a, const std::vector<Message>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].opcode != b[i].opcode || a[i].payload != b[i].payload ||
        a[i].close_code != b[i].close_code)
      return false;
  }
  return true;
}

// RFC 6455 7.4.1 and the IANA registry; 1005 stands for "no code" and is never on the wire.
bool closeCodeAllowed(std::uint16_t c) {
  if (c == close_code::kNoStatus || (c >= 3000 && c <= 4999)) return true;
  return c >= 1000 && c <= 1014 && c != 1004 && c != 1006;
}

void checkMessage(const Message& m, std::size_t max = kMaxMessage) {
  check(m.payload.size() <= max, "message larger than the limit");
  switch (m.opcode) {
    case Opcode::kText: check(validUtf8(m.payload), "text message is not UTF-8"); break;
    case Opcode::kBinary: break;
    case Opcode::kPing:
    case Opcode::kPong: check(m.payload.size() <= 125, "control frame over 125 bytes"); break;
    case Opcode::kClose:
      check(m.payload.size() <= 123, "close reason over 123 bytes");
      check(validUtf8(m.payload), "close reason is not UTF-8");
      check(m.close_code != close_code::kNoStatus || m.payload.empty(), "reason without a code");
      check(closeCodeAllowed(m.close_code), "close code a peer may not send");
      break;
    default: check(false, "continuation or unknown opcode handed out");
  }
}

// Re-encodes a message as a server frame, masks it as a client would and parses it back: the
// encoder and the parser must agree on every message the parser can produce.
void checkRoundTrip(const Message& m) {
  const bool coded_close = m.opcode == Opcode::kClose && m.close_code != close_code::kNoStatus;
  const std::string frame =
      coded_close ? encodeClose(m.close_code, m.payload) : encodeFrame(m.opcode, m.payload);
  const std::uint8_t key[4] = {0xA5, 0x01, 0x7E, 0xC3};
  const std::size_t payload = coded_close ? m.payload.size() + 2 : m.payload.size();
  const std::size_t header = frame.size() - payload;
  std::vector<std::uint8_t> masked(frame.begin(), frame.begin() + header);
  masked[1] |= 0x80;
  masked.insert(masked.end(), key, key + 4);
  for (std::size_t i = 0; i < payload; ++i)
    masked.push_back(static_cast<std::uint8_t>(frame[header + i]) ^ key[i & 3]);
  FrameParser again(kMaxMessage);
  std::vector<Message> out;
  check(again.parse(masked.data(), masked.size(), out) == masked.size(), "round trip consumed");
  check(!again.failed() && sameMessages(out, {m}), "round trip changed the message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t n = data[0] & 7;
  if (size < 1 + n) return 0;
  const std::uint8_t* sizes = data + 1;
  const std::uint8_t* stream = data + 1 + n;
  const std::size_t stream_size = size - 1 - n;

  // Read by read, keeping the unconsumed tail like the connection does.
  FrameParser chunked(kMaxMessage);
  std::vector<Message> messages;
  std::vector<std::uint8_t> pending;
  std::size_t at = 0;
  for (std::size_t read = 0; at < stream_size; ++read) {
    const std::size_t len =
        n == 0 ? stream_size : std::min<std::size_t>(sizes[read % n] + 1u, stream_size - at);
    pending.insert(pending.end(), stream + at, stream + at + len);
    at += len;
    const bool failed_before = chunked.failed();
    const std::size_t before = messages.size();
    // An exactly sized copy, so AddressSanitizer sees any read past what was offered.
    const std::vector<std::uint8_t> offered(pending);
    const std::size_t used = chunked.parse(offered.data(), offered.size(), messages);
    check(used <= offered.size(), "consumed more than offered");
    if (failed_before)
      check(used == 0 && messages.size() == before, "a failed parser went on consuming");
    for (std::size_t i = before; i < messages.size(); ++i) checkMessage(messages[i]);
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(used));
  }
  if (chunked.failed()) {
    const auto code = chunked.failureCode();
    check(code == close_code::kProtocolError || code == close_code::kInvalidPayload ||
              code == close_code::kTooBig,
          "unexpected failure code");
  } else if (!pending.empty()) {
    // What is left is an incomplete frame: offering it again must not change anything.
    const std::size_t before = messages.size();
    check(chunked.parse(pending.data(), pending.size(), messages) == 0, "tail consumed later");
    check(messages.size() == before && !chunked.failed(), "tail produced something later");
  }

  // The read sizes must not matter: one read of everything gives the same messages and verdict.
  FrameParser whole(kMaxMessage);
  std::vector<Message> all;
  const std::vector<std::uint8_t> copy(stream, stream + stream_size);
  check(whole.parse(copy.data(), copy.size(), all) <= copy.size(), "consumed more than offered");
  check(sameMessages(all, messages), "messages depend on read sizes");
  check(whole.failureCode() == chunked.failureCode(), "verdict depends on read sizes");

  // Under a tiny limit: nothing larger gets out, and what does is what the 64 KiB parser saw
  // before the message that broke the tiny limit.
  FrameParser small(kSmallMax);
  std::vector<Message> some;
  check(small.parse(copy.data(), copy.size(), some) <= copy.size(), "consumed more than offered");
  check(some.size() <= messages.size(), "a tighter limit let more through");
  for (std::size_t i = 0; i < some.size(); ++i) {
    checkMessage(some[i], kSmallMax);
    check(sameMessages({some[i]}, {messages[i]}), "a tighter limit changed a message");
  }

  for (const Message& m : messages) checkRoundTrip(m);
  return 0;
}
