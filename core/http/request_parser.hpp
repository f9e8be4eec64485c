// Incremental, strict HTTP/1.1 request parsing on Boost.Beast's parser, fed from a connection's own
// buffer (no Asio). Beast does the grammar; this adds what RFC 9112 asks a server to refuse and
// Beast 1.74 lets through: obs-fold, bytes outside VCHAR in the target, 0xFF in field values,
// Transfer-Encoding together with Content-Length or not ending in chunked, a missing or repeated
// Host. Anything ambiguous is an error with the status to answer, and the connection then closes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "parley/sdk/http.hpp"

namespace parley::core {

struct RequestLimits {
  std::size_t max_header_bytes = 16384;  // request line and fields together
  std::size_t max_headers = 100;
  std::uint64_t max_body_bytes = 1 << 20;
};

// What the request head says, once it is complete.
struct RequestHead {
  std::string method;   // as sent ("GET", ...)
  std::string target;   // raw, still percent-encoded: path and query
  int version = 11;     // 10 or 11
  sdk::Fields headers;  // names lower-cased, in order
  bool keep_alive = true;
  bool has_body = false;         // a Content-Length above 0, or chunked
  bool expect_continue = false;  // Expect: 100-continue
  bool upgrade = false;          // Connection: upgrade

  const std::string& header(std::string_view lower_name) const;  // "" when absent
};

class RequestParser {
 public:
  enum class State {
    kNeedMore,  // feed more bytes
    kHead,      // the head is complete: decide, then call readBody() (or answer and close)
    kDone,      // the whole request is here: head() and body()
    kError,     // errorStatus() says what to answer; the connection must close after it
  };

  explicit RequestParser(const RequestLimits& limits);
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses what it can of [data, data + size), the connection's unconsumed bytes, and returns how
  // many it consumed. Bytes it did not consume must be offered again, with any that follow.
  std::size_t feed(const char* data, std::size_t size);
  // After kHead: parse the body too (on the next feed()).
  void readBody();
  // Ready for the connection's next request, keeping what was allocated for the last one (a
  // keep-alive connection's requests then parse without touching the heap).
  void reset();
  State state() const { return state_; }

  const RequestHead& head() const { return head_; }
  std::string& body() { return body_; }
  int errorStatus() const { return error_status_; }
  const std::string& errorCode() const { return error_code_; }
  const std::string& errorMessage() const { return error_message_; }
  // Whether any byte of this request has arrived (for the idle and head deadlines).
  bool started() const { return started_; }

 private:
  struct Beast;
  friend struct Beast;
  void fail(int status, std::string code, std::string message);

  RequestLimits limits_;
  std::unique_ptr<Beast> beast_;
  State state_ = State::kNeedMore;
  RequestHead head_;
  std::string body_;
  bool started_ = false;
  bool head_checked_ = false;  // the raw head bytes were scanned for obs-fold
  int error_status_ = 0;
  std::string error_code_;
  std::string error_message_;
};

}  // namespace parley::core
