// A blocking websocket client for tests, on a raw socket so that it can also send what a
// conforming client never would (unmasked frames, reserved bits and opcodes, bad UTF-8). Every read
// is bounded by a timeout: a server that stays silent fails the test instead of hanging it.
#pragma once

#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace parley::test {

using WsHeaders = std::map<std::string, std::string>;

// Opcodes as plain numbers, so that tests can send the reserved ones too.
namespace ws_op {
enum Opcode : std::uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing, kPong };
}  // namespace ws_op

struct WsFrame {
  enum class Result { kFrame, kTimeout, kClosed };  // kClosed: EOF or reset
  Result result = Result::kTimeout;
  std::uint8_t opcode = 0;
  bool fin = false;
  bool masked = false;  // a server must never mask
  std::string payload;  // for a close frame: the reason only
  int close_code = -1;  // for a close frame: its code, or -1 when its payload was empty
  bool ok() const { return result == Result::kFrame; }
  std::string describe() const;  // for assertion messages
};

struct WsClose {
  bool received = false;  // a close frame came
  int code = -1;          // its code; -1 for an empty close payload
  std::string reason;
  int frames_before = 0;    // other frames read while waiting for it
  bool tcp_closed = false;  // the server then ended the TCP connection (EOF or reset)
};

// An upgrade the server refused: its status, header block and body.
class WsRefused : public std::runtime_error {
 public:
  WsRefused(int status, std::string head, std::string body);
  std::string header(const std::string& name) const;  // "" if absent
  int status;
  std::string head;
  std::string body;
};

class WsClient {
 public:
  static constexpr std::chrono::milliseconds kTimeout{5000};

  // Upgrades GET `path_and_query`. `extra_headers` override the default upgrade headers (same
  // spelling: Host, Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version); an empty value
  // removes one. `pipelined` goes out in the same write as the request. Throws WsRefused unless the
  // answer is 101, std::runtime_error if Sec-WebSocket-Accept is wrong or nothing comes in time.
  static WsClient connect(std::uint16_t port, const std::string& path_and_query,
                          const WsHeaders& extra_headers = {}, const std::string& pipelined = "",
                          const std::string& method = "GET");

  // One frame as a client writes it; with `masked`, under a fresh random key.
  static std::string encode(std::uint8_t opcode, std::string_view payload, bool fin = true,
                            std::uint8_t rsv = 0, bool masked = true);

  WsClient(WsClient&&) = default;  // not copyable: a copy would share the socket, not the buffer
  // A header of the server's 101 answer ("" if absent).
  std::string upgradeHeader(const std::string& name) const;

  // Writes return false when the write failed: a server that failed the connection may have
  // reset it while the client was still sending, which tests do not treat as an error.
  bool sendFrame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                 std::uint8_t rsv = 0, bool masked = true);
  bool sendRaw(std::string_view bytes);
  bool sendText(std::string_view json) { return sendFrame(ws_op::kText, json); }
  // code < 0: a close frame with no payload.
  bool sendClose(int code, std::string_view reason = "");

  WsFrame readFrame(std::chrono::milliseconds timeout = kTimeout);
  // The next frame that is not a ping or pong (pings answered when `answer_pings`).
  WsFrame readText(std::chrono::milliseconds timeout = kTimeout, bool answer_pings = true);
  // Reads up to the server's close frame, then waits (again up to `timeout`) for the TCP
  // connection to end; with `answer`, echoes the close first, as a conforming client does.
  WsClose expectClose(std::chrono::milliseconds timeout = kTimeout, bool answer = false);

  void closeTcp() { closeTcp(false); }  // FIN
  void reset() { closeTcp(true); }      // SO_LINGER 0, then close: RST

 private:
  using Clock = std::chrono::steady_clock;
  explicit WsClient(Poco::Net::StreamSocket socket) : socket_(std::move(socket)) {}
  // Reads until in_ holds `n` bytes: kFrame once it does, kTimeout at `deadline`, kClosed on
  // EOF or error.
  WsFrame::Result fill(std::size_t n, Clock::time_point deadline);
  void closeTcp(bool rst);

  Poco::Net::StreamSocket socket_;
  std::string in_;  // bytes read and not consumed yet
  std::string upgrade_head_;
  bool closed_ = false;
};

}  // namespace parley::test
