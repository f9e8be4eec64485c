// Incremental HTTP/1.1 response parsing on Boost.Beast's parser, fed from a client connection's
// buffer: status and headers first, then the body piece by piece (de-chunked) as it arrives.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "parley/sdk/http.hpp"

namespace parley::core {

class ResponseParser {
 public:
  struct Head {
    int status = 0;
    sdk::Fields headers;  // names lower-cased
    const std::string& header(std::string_view lower_name) const;
  };
  using OnBody = std::function<void(std::string_view piece)>;

  // `head_only`: the response to a HEAD request or an upgrade, which has no body.
  ResponseParser(std::uint64_t max_body, bool head_only, OnBody on_body);
  ~ResponseParser();

  // Parses what it can; returns the bytes consumed (the rest waits for more). After an error,
  // error() says what was wrong.
  std::size_t feed(const char* data, std::size_t size);
  // The connection ended: true when that completes the body (a body read until EOF).
  bool eof();

  bool headDone() const;
  bool done() const;
  const Head& head() const { return head_; }
  const std::string& error() const { return error_; }

 private:
  struct Beast;
  std::unique_ptr<Beast> beast_;
  Head head_;
  OnBody on_body_;
  std::string error_;
};

}  // namespace parley::core
