// RFC 6455 framing: an incremental parser that reassembles and validates fragmented messages, for
// either side (a server reads masked frames, a client unmasked ones), and an encoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ws/utf8.hpp"

namespace parley::core::ws {

enum class Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Close codes this server sends or checks (RFC 6455 section 7.4).
namespace close_code {
constexpr std::uint16_t kNormal = 1000;
constexpr std::uint16_t kGoingAway = 1001;
constexpr std::uint16_t kProtocolError = 1002;
constexpr std::uint16_t kNoStatus = 1005;  // never sent: "the peer's close had no code"
constexpr std::uint16_t kInvalidPayload = 1007;
constexpr std::uint16_t kPolicy = 1008;
constexpr std::uint16_t kTooBig = 1009;
constexpr std::uint16_t kInternalError = 1011;
}  // namespace close_code

// A complete message (text or binary, reassembled) or a control frame.
struct Message {
  Opcode opcode = Opcode::kText;
  std::string payload;                               // for kClose: the reason text
  std::uint16_t close_code = close_code::kNoStatus;  // kClose only
};

class FrameParser {
 public:
  enum class Role { kServer, kClient };  // whose end of the connection parses
  explicit FrameParser(std::size_t max_message_bytes, Role role = Role::kServer)
      : max_message_(max_message_bytes), role_(role) {}

  // Consumes every complete frame at the front of [data, data + size), appending finished
  // messages and control frames to `out`, and returns how many bytes it consumed; the rest is an
  // incomplete frame, to be offered again with more bytes. After a violation it consumes nothing
  // more and failed() is true: close with failureCode().
  std::size_t parse(const std::uint8_t* data, std::size_t size, std::vector<Message>& out);

  bool failed() const { return failure_code_ != 0; }
  std::uint16_t failureCode() const { return failure_code_; }
  const std::string& failureReason() const { return failure_reason_; }

 private:
  std::size_t fail(std::uint16_t code, std::string reason);

  std::size_t max_message_;
  Role role_;
  bool in_message_ = false;  // a fragmented data message is being reassembled
  Opcode message_opcode_ = Opcode::kText;
  std::string message_;
  Utf8Validator utf8_;
  std::uint16_t failure_code_ = 0;
  std::string failure_reason_;
};

// One unfragmented frame: unmasked (a server's), or masked with the 4 bytes at `mask` (a client's).
std::string encodeFrame(Opcode opcode, std::string_view payload,
                        const std::uint8_t* mask = nullptr);
// A close frame; `reason` is cut to fit the 125-byte control frame limit.
std::string encodeClose(std::uint16_t code, std::string_view reason,
                        const std::uint8_t* mask = nullptr);

}  // namespace parley::core::ws
