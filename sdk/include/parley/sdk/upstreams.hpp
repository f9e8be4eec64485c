// Since SDK 1.2. Outbound connections (Context::upstreams()): websocket clients and HTTP requests
// whose response body streams in, plain or TLS, on parleyd's event loops, with no thread per
// connection. Each belongs to a Scope: its callbacks run there, one at a time with the scope's
// other callbacks, and it is closed when the scope closes.
//
// TLS: 1.2 or later, SNI, the server's name verified against its certificate, trusting the
// system's CA store plus upstream.tls_ca_file (a private CA). Names are resolved off the loop,
// with a cache. Every phase has a timeout.
//
// Destroying a handle closes its socket at once; none of its callbacks runs afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "parley/sdk/export.hpp"
#include "parley/sdk/http.hpp"
#include "parley/sdk/scope.hpp"

namespace parley::sdk {

struct UpstreamTimeouts {
  std::chrono::milliseconds connect{5000};  // name resolution and TCP connect
  std::chrono::milliseconds tls_handshake{5000};
  std::chrono::milliseconds first_byte{10000};  // from the request written to the response
  std::chrono::milliseconds idle{60000};        // nothing received for this long
  std::chrono::milliseconds total{0};           // the whole exchange; 0 = no limit
};

// How an upstream connection ended.
struct UpstreamResult {
  enum class Kind {
    kOk,        // completed: an HTTP body ended, or a websocket closed with a close handshake
    kResolve,   // the name did not resolve
    kConnect,   // the TCP connection failed
    kTls,       // the TLS handshake or certificate verification failed
    kTimeout,   // one of the timeouts; `message` says which
    kStatus,    // a websocket handshake answered with an HTTP status (in `status`, `body`)
    kProtocol,  // the peer broke the protocol (garbage, a bad frame, a bad Sec-WebSocket-Accept)
    kClosed,    // the peer closed the connection without completing (a reset, EOF mid-body)
  };
  Kind kind = Kind::kOk;
  std::string message;  // one sentence, for logs
  int status = 0;       // kStatus: the HTTP status; websocket close: the peer's close code
  std::string reason;   // a websocket close frame's reason
  std::string body;     // kStatus: the refusal's body (bounded)
  Fields headers;       // kStatus: the refusal's headers, names lower-cased

  bool ok() const { return kind == Kind::kOk; }
};
PARLEY_SDK_API const char* kindName(UpstreamResult::Kind kind);  // "ok", "resolve", ...

// ---- Websocket client ----------------------------------------------------------------------

struct WebSocketRequest {
  std::string url;  // ws://host[:port]/path?query or wss://...
  Fields headers;   // e.g. {"Authorization", "Token ..."}
  std::vector<std::string> subprotocols;
  UpstreamTimeouts timeouts;
  std::size_t max_message_bytes = 1 << 20;
  std::size_t max_send_queue_bytes = 4 << 20;  // sends past this are refused (false)
};

struct WebSocketCallbacks {
  // 101 received: the response headers (names lower-cased) and the chosen subprotocol.
  std::function<void(const Fields& headers, const std::string& subprotocol)> on_open;
  std::function<void(std::string_view text)> on_text;
  std::function<void(std::string_view bytes)> on_binary;
  // The send queue fell below half of max_send_queue_bytes after having reached it (or after
  // drainThreshold()): a producer that paused can go on.
  std::function<void()> on_drain;
  // Once, last: the close handshake (kOk, with the peer's code and reason) or why it failed.
  std::function<void(const UpstreamResult& result)> on_close;
};

class PARLEY_SDK_API WebSocketClient {
 public:
  virtual ~WebSocketClient();  // closes the socket at once; no callback runs afterwards
  // Queue a frame; false when not open or the queue would pass max_send_queue_bytes.
  virtual bool sendText(std::string_view text) = 0;
  virtual bool sendBinary(std::string_view bytes) = 0;
  // Bytes queued and not yet written to the socket.
  virtual std::size_t queuedBytes() const = 0;
  // on_drain fires once the queue falls below `bytes` after having been above it.
  virtual void drainThreshold(std::size_t bytes) = 0;
  // Starts the close handshake; on_close follows when the peer answers (or after 2 s).
  virtual void close(int code = 1000, std::string_view reason = {}) = 0;
  virtual bool open() const = 0;
  // Flow control: stop reading the peer (its frames wait in the kernel), and go on.
  virtual void pauseReading() = 0;
  virtual void resumeReading() = 0;
};

// ---- HTTP with a streamed response ---------------------------------------------------------

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // http://host[:port]/path?query or https://...
  Fields headers;   // Host, Content-Length and Connection are the core's
  std::string body;
  UpstreamTimeouts timeouts;
  std::size_t max_body_bytes = 16 << 20;  // a larger response fails (kProtocol)
};

struct HttpCallbacks {
  // Status and headers (names lower-cased), before any of the body.
  std::function<void(int status, const Fields& headers)> on_head;
  // Each piece of the body as it arrives, de-chunked.
  std::function<void(std::string_view piece)> on_body;
  // Once, last: kOk when the whole body arrived, else why not.
  std::function<void(const UpstreamResult& result)> on_done;
};

class PARLEY_SDK_API HttpExchange {
 public:
  virtual ~HttpExchange();  // cancels: closes the socket at once; no callback runs afterwards
  virtual void pauseReading() = 0;
  virtual void resumeReading() = 0;
};

class PARLEY_SDK_API Upstreams {
 public:
  virtual ~Upstreams();
  // Connects now; every callback runs on `scope`. A handle of a closed scope does nothing.
  virtual std::unique_ptr<WebSocketClient> webSocket(Scope& scope, WebSocketRequest request,
                                                     WebSocketCallbacks callbacks) = 0;
  virtual std::unique_ptr<HttpExchange> http(Scope& scope, HttpRequest request,
                                             HttpCallbacks callbacks) = 0;
};

// ---- Server-sent events ----------------------------------------------------------------------

// Splits a text/event-stream into events, across reads: lines end in \n, \r\n or \r; lines
// starting with ':' are comments; several data lines join with \n; an event ends at a blank line.
class PARLEY_SDK_API SseSplitter {
 public:
  struct Event {
    std::string event;  // the "event:" field, "" for the default ("message")
    std::string data;
    std::string id;
  };
  // Feeds the next bytes; calls `on_event` for each event they complete. False (and nothing more
  // is parsed) once the buffered incomplete line passes `max_line` bytes.
  bool feed(std::string_view bytes, const std::function<void(const Event&)>& on_event);
  explicit SseSplitter(std::size_t max_line = 1 << 20) : max_line_(max_line) {}

 private:
  void line(std::string_view text, const std::function<void(const Event&)>& on_event);
  std::size_t max_line_;
  std::string partial_;    // an incomplete line
  bool after_cr_ = false;  // the last byte was \r: a following \n belongs to it
  Event event_;
  bool has_data_ = false;
};

}  // namespace parley::sdk
