#include "tests/support/ws_client.hpp"

#include <sys/socket.h>

#include <Poco/Base64Encoder.h>
#include <Poco/Exception.h>
#include <Poco/SHA1Engine.h>
#include <Poco/String.h>
#include <Poco/Timespan.h>

#include <random>
#include <sstream>

namespace parley::test {

namespace {

std::mt19937& rng() {
  static thread_local std::mt19937 gen{std::random_device{}()};
  return gen;
}

std::string base64(const std::string& bytes) {
  std::ostringstream out;
  Poco::Base64Encoder b64(out);
  b64.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  b64.close();
  return out.str();
}

std::string acceptFor(const std::string& key) {
  Poco::SHA1Engine sha1;
  sha1.update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  const auto& digest = sha1.digest();
  return base64(std::string(digest.begin(), digest.end()));
}

std::string headerOf(const std::string& head, const std::string& name) {
  std::istringstream lines(head);
  std::string line;
  while (std::getline(lines, line)) {
    const auto colon = line.find(':');
    if (colon != std::string::npos && Poco::icompare(line.substr(0, colon), name) == 0)
      return Poco::trim(line.substr(colon + 1));
  }
  return {};
}

std::chrono::milliseconds left(std::chrono::steady_clock::time_point deadline) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return std::max(ms, std::chrono::milliseconds(0));
}

}  // namespace

std::string WsFrame::describe() const {
  if (result == Result::kTimeout) return "timeout";
  if (result == Result::kClosed) return "connection closed";
  std::string s = "opcode " + std::to_string(opcode) + (fin ? "" : " (no FIN)");
  if (close_code >= 0) s += " code " + std::to_string(close_code);
  return s + ": " + payload.substr(0, 200);
}

WsRefused::WsRefused(int status, std::string head, std::string body)
    : std::runtime_error("upgrade refused with " + std::to_string(status) + ": " + body),
      status(status),
      head(std::move(head)),
      body(std::move(body)) {}

std::string WsRefused::header(const std::string& name) const {
  return headerOf(head, name);
}

WsClient WsClient::connect(std::uint16_t port, const std::string& path_and_query,
                           const WsHeaders& extra_headers, const std::string& pipelined,
                           const std::string& method) {
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", port));
  socket.setNoDelay(true);  // so that chopped writes reach the server as separate segments
  socket.setSendTimeout(Poco::Timespan(kTimeout.count() * 1000));
  WsClient c(std::move(socket));

  std::string nonce(16, '\0');
  for (auto& b : nonce) b = static_cast<char>(rng()() & 0xFF);
  const std::string key = base64(nonce);
  WsHeaders headers = {{"Host", "127.0.0.1:" + std::to_string(port)},
                       {"Upgrade", "websocket"},
                       {"Connection", "Upgrade"},
                       {"Sec-WebSocket-Key", key},
                       {"Sec-WebSocket-Version", "13"}};
  for (const auto& [name, value] : extra_headers) headers[name] = value;
  std::string request = method + " " + path_and_query + " HTTP/1.1\r\n";
  for (const auto& [name, value] : headers)
    if (!value.empty()) request += name + ": " + value + "\r\n";
  if (!c.sendRaw(request + "\r\n" + pipelined))
    throw std::runtime_error("could not send the upgrade request");

  const auto deadline = Clock::now() + kTimeout;
  std::size_t end;
  while ((end = c.in_.find("\r\n\r\n")) == std::string::npos)
    if (c.fill(c.in_.size() + 1, deadline) != WsFrame::Result::kFrame)
      throw std::runtime_error("no complete upgrade response; got: " + c.in_);
  std::string head = c.in_.substr(0, end + 2);
  c.in_.erase(0, end + 4);  // what follows is already websocket frames
  const int status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
  if (status != 101) {
    const std::string length = headerOf(head, "Content-Length");
    c.fill(length.empty() ? 0 : std::stoul(length), deadline);
    throw WsRefused(status, head, c.in_);
  }
  if (headerOf(head, "Sec-WebSocket-Accept") != acceptFor(headers["Sec-WebSocket-Key"]))
    throw std::runtime_error("wrong Sec-WebSocket-Accept in: " + head);
  c.upgrade_head_ = head;
  return c;
}

std::string WsClient::upgradeHeader(const std::string& name) const {
  return headerOf(upgrade_head_, name);
}

std::string WsClient::encode(std::uint8_t opcode, std::string_view payload, bool fin,
                             std::uint8_t rsv, bool masked) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0F)));
  const std::uint64_t n = payload.size();
  const int extended = n < 126 ? 0 : n <= 0xFFFF ? 2 : 8;  // the minimal length encoding
  const std::uint64_t length7 = extended == 0 ? n : extended == 2 ? 126 : 127;
  f.push_back(static_cast<char>((masked ? 0x80 : 0) | length7));
  for (int i = extended - 1; i >= 0; --i) f.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  if (!masked) return f.append(payload);
  char key[4];
  for (auto& k : key) k = static_cast<char>(rng()() & 0xFF);
  f.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f.push_back(payload[i] ^ key[i & 3]);
  return f;
}

bool WsClient::sendFrame(std::uint8_t opcode, std::string_view payload, bool fin, std::uint8_t rsv,
                         bool masked) {
  return sendRaw(encode(opcode, payload, fin, rsv, masked));
}

bool WsClient::sendRaw(std::string_view bytes) {
  try {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      // MSG_NOSIGNAL: writing to a connection the server already reset must not kill the test.
      const int n = socket_.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent),
                                      MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  } catch (const Poco::Exception&) {
    return false;
  }
}

bool WsClient::sendClose(int code, std::string_view reason) {
  if (code < 0) return sendFrame(ws_op::kClose, "");
  const char be[2] = {static_cast<char>((code >> 8) & 0xFF), static_cast<char>(code & 0xFF)};
  return sendFrame(ws_op::kClose, std::string(be, 2).append(reason));
}

WsFrame::Result WsClient::fill(std::size_t n, Clock::time_point deadline) {
  char buf[16 * 1024];
  while (in_.size() < n) {
    if (closed_) return WsFrame::Result::kClosed;
    const auto left =
        std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
    if (left.count() <= 0) return WsFrame::Result::kTimeout;
    try {
      if (!socket_.poll(Poco::Timespan(left.count()), Poco::Net::Socket::SELECT_READ)) continue;
      const int got = socket_.receiveBytes(buf, sizeof buf);
      if (got <= 0) closed_ = true;
      if (got > 0) in_.append(buf, static_cast<std::size_t>(got));
    } catch (const Poco::Exception&) {
      closed_ = true;  // reset, or the socket was closed here
    }
  }
  return WsFrame::Result::kFrame;
}

WsFrame WsClient::readFrame(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  WsFrame f;
  if ((f.result = fill(2, deadline)) != WsFrame::Result::kFrame) return f;
  const auto b0 = static_cast<std::uint8_t>(in_[0]);
  const auto b1 = static_cast<std::uint8_t>(in_[1]);
  std::uint64_t length = b1 & 0x7F;
  const std::size_t key_at = length == 126 ? 4 : length == 127 ? 10 : 2;
  f.masked = b1 & 0x80;
  const std::size_t header = key_at + (f.masked ? 4 : 0);
  if ((f.result = fill(header, deadline)) != WsFrame::Result::kFrame) return f;
  if (key_at > 2) {
    length = 0;
    for (std::size_t i = 2; i < key_at; ++i) length = (length << 8) | std::uint8_t(in_[i]);
  }
  if ((f.result = fill(header + length, deadline)) != WsFrame::Result::kFrame) return f;
  f.fin = b0 & 0x80;
  f.opcode = b0 & 0x0F;
  f.payload = in_.substr(header, length);
  if (f.masked)
    for (std::size_t i = 0; i < f.payload.size(); ++i) f.payload[i] ^= in_[key_at + (i & 3)];
  in_.erase(0, header + length);
  if (f.opcode == ws_op::kClose && f.payload.size() >= 2) {
    f.close_code = (std::uint8_t(f.payload[0]) << 8) | std::uint8_t(f.payload[1]);
    f.payload.erase(0, 2);
  }
  return f;
}

WsFrame WsClient::readText(std::chrono::milliseconds timeout, bool answer_pings) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    WsFrame f = readFrame(left(deadline));
    if (f.ok() && f.opcode == ws_op::kPing) {
      if (answer_pings) sendFrame(ws_op::kPong, f.payload);
      continue;
    }
    if (f.ok() && f.opcode == ws_op::kPong) continue;
    return f;
  }
}

WsClose WsClient::expectClose(std::chrono::milliseconds timeout, bool answer) {
  WsClose c;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    WsFrame f = readFrame(left(deadline));
    if (!f.ok()) {
      c.tcp_closed = f.result == WsFrame::Result::kClosed;
      return c;
    }
    if (f.opcode != ws_op::kClose) {
      ++c.frames_before;
      continue;
    }
    c.received = true;
    c.code = f.close_code;
    c.reason = f.payload;
    break;
  }
  if (answer) sendClose(c.code);
  // Nothing may follow a close frame: the next read must see the connection end.
  c.tcp_closed = readFrame(timeout).result == WsFrame::Result::kClosed;
  return c;
}

void WsClient::closeTcp(bool rst) {
  closed_ = true;
  try {
    if (rst) socket_.setLinger(true, 0);  // closing then discards unsent data and sends RST
    socket_.close();
  } catch (const Poco::Exception&) {
  }
}

}  // namespace parley::test
