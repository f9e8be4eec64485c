#include "core/ws/frame.hpp"

#include <cstring>

namespace parley::core::ws {

namespace {

constexpr std::size_t kMaxControlPayload = 125;

bool isControl(std::uint8_t opcode) {
  return opcode & 0x8;
}

bool knownOpcode(std::uint8_t opcode) {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xA);
}

// Codes a peer may send in a close frame (RFC 6455 7.4.1 and the IANA registry).
bool validCloseCode(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

// Appends the payload, unmasked with `key` when there is one.
void unmask(const std::uint8_t* in, std::size_t n, const std::uint8_t* key, std::string& out) {
  const std::size_t base = out.size();
  out.resize(base + n);
  char* dst = out.data() + base;
  if (!key) {
    std::memcpy(dst, in, n);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<char>(in[i] ^ key[i & 3]);
}

}  // namespace

std::size_t FrameParser::fail(std::uint16_t code, std::string reason) {
  failure_code_ = code;
  failure_reason_ = std::move(reason);
  return 0;
}

std::size_t FrameParser::parse(const std::uint8_t* data, std::size_t size,
                               std::vector<Message>& out) {
  std::size_t consumed = 0;
  while (!failed()) {
    const std::uint8_t* p = data + consumed;
    const std::size_t avail = size - consumed;
    if (avail < 2) break;
    const bool fin = p[0] & 0x80;
    const std::uint8_t rsv = p[0] & 0x70;
    const std::uint8_t opcode = p[0] & 0x0F;
    const bool masked = p[1] & 0x80;
    std::uint64_t length = p[1] & 0x7F;
    std::size_t header = 2;

    // Everything decidable from the first two bytes is decided before waiting for more.
    if (rsv) return consumed + fail(close_code::kProtocolError, "reserved bits set");
    if (!knownOpcode(opcode)) return consumed + fail(close_code::kProtocolError, "unknown opcode");
    if (masked != (role_ == Role::kServer))
      return consumed + fail(close_code::kProtocolError, role_ == Role::kServer
                                                             ? "client frames must be masked"
                                                             : "server frames must not be masked");
    if (isControl(opcode) && (!fin || length > kMaxControlPayload))
      return consumed + fail(close_code::kProtocolError, "invalid control frame");

    if (length == 126) {
      if (avail < 4) break;
      length = (std::uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (length == 127) {
      if (avail < 10) break;
      length = 0;
      for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
      header = 10;
      if (length >> 63) return consumed + fail(close_code::kProtocolError, "invalid length");
    }
    if (!isControl(opcode)) {
      const bool continuation = opcode == static_cast<std::uint8_t>(Opcode::kContinuation);
      if (continuation && !in_message_)
        return consumed + fail(close_code::kProtocolError, "unexpected continuation");
      if (!continuation && in_message_)
        return consumed + fail(close_code::kProtocolError, "expected a continuation");
    }
    const std::size_t already = in_message_ && !isControl(opcode) ? message_.size() : 0;
    if (length > max_message_ || already + length > max_message_)
      return consumed + fail(close_code::kTooBig, "message too big");
    const std::size_t key_size = masked ? 4 : 0;
    if (avail < header + key_size + length) break;

    const std::uint8_t* key = masked ? p + header : nullptr;
    const std::uint8_t* payload = p + header + key_size;
    const auto n = static_cast<std::size_t>(length);
    consumed += header + key_size + n;

    if (isControl(opcode)) {
      Message m;
      m.opcode = static_cast<Opcode>(opcode);
      unmask(payload, n, key, m.payload);
      if (m.opcode == Opcode::kClose) {
        if (n == 1) return consumed + fail(close_code::kProtocolError, "close payload of 1 byte");
        if (n >= 2) {
          m.close_code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(m.payload[0]) << 8) |
                                                    static_cast<std::uint8_t>(m.payload[1]));
          m.payload.erase(0, 2);
          if (!validCloseCode(m.close_code))
            return consumed + fail(close_code::kProtocolError, "invalid close code");
          Utf8Validator reason;
          if (!reason.feed(reinterpret_cast<const std::uint8_t*>(m.payload.data()),
                           m.payload.size()) ||
              !reason.complete())
            return consumed + fail(close_code::kInvalidPayload, "close reason is not UTF-8");
        }
      }
      out.push_back(std::move(m));
      continue;
    }

    if (opcode != static_cast<std::uint8_t>(Opcode::kContinuation)) {  // checked above
      in_message_ = true;
      message_opcode_ = static_cast<Opcode>(opcode);
      message_.clear();
      utf8_.reset();
    }
    const std::size_t start = message_.size();
    unmask(payload, n, key, message_);
    if (message_opcode_ == Opcode::kText) {
      // Fail fast: an invalid byte is refused in the fragment that carries it.
      if (!utf8_.feed(reinterpret_cast<const std::uint8_t*>(message_.data()) + start, n) ||
          (fin && !utf8_.complete()))
        return consumed + fail(close_code::kInvalidPayload, "text is not valid UTF-8");
    }
    if (fin) {
      in_message_ = false;
      Message m;
      m.opcode = message_opcode_;
      m.payload.swap(message_);
      out.push_back(std::move(m));
    }
  }
  return consumed;
}

std::string encodeFrame(Opcode opcode, std::string_view payload, const std::uint8_t* mask) {
  std::string frame;
  const std::size_t n = payload.size();
  frame.reserve(n + 14);
  frame.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode)));
  const char mask_bit = mask ? static_cast<char>(0x80) : 0;
  if (n < 126) {
    frame.push_back(static_cast<char>(mask_bit | static_cast<char>(n)));
  } else if (n <= 0xFFFF) {
    frame.push_back(static_cast<char>(mask_bit | 126));
    frame.push_back(static_cast<char>(n >> 8));
    frame.push_back(static_cast<char>(n & 0xFF));
  } else {
    frame.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      frame.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> shift) & 0xFF));
  }
  if (!mask) {
    frame.append(payload);
    return frame;
  }
  frame.append(reinterpret_cast<const char*>(mask), 4);
  const std::size_t base = frame.size();
  frame.resize(base + n);
  for (std::size_t i = 0; i < n; ++i)
    frame[base + i] = static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ mask[i & 3]);
  return frame;
}

std::string encodeClose(std::uint16_t code, std::string_view reason, const std::uint8_t* mask) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  // Cut to fit, but never inside a UTF-8 sequence: the peer must be able to validate the reason.
  std::string_view cut = reason.substr(0, kMaxControlPayload - 2);
  if (cut.size() < reason.size()) {
    std::size_t end = cut.size();
    while (end > 0 && (static_cast<std::uint8_t>(reason[end]) & 0xC0) == 0x80) --end;
    cut = cut.substr(0, end);
  }
  payload.append(cut);
  return encodeFrame(Opcode::kClose, payload, mask);
}

}  // namespace parley::core::ws
