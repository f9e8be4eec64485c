// Beast 1.74 asserts, in debug builds, on one legal way a chunked body can be split across reads
// (fixed upstream in boostorg/beast#2861); this is the only file that instantiates its parser.
#define BOOST_DISABLE_ASSERTS 1
#include "core/http/request_parser.hpp"

#include <boost/beast/http/basic_parser.hpp>

#include <algorithm>
#include <cctype>
#include <new>

namespace parley::core {

namespace http = boost::beast::http;
using boost::beast::error_code;
using boost::beast::string_view;

namespace {

std::string lower(string_view s) {
  std::string out(s.data(), s.size());
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x) ==
                  (y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y);
         });
}

// "HTTP/d.d" at the end of a request line: a version this server does not speak gets a 505, any
// other malformed line a 400.
bool looksVersioned(std::string_view head) {
  const auto eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  return line.size() >= 8 && line.compare(line.size() - 8, 5, "HTTP/") == 0 &&
         std::isdigit(static_cast<unsigned char>(line[line.size() - 3])) &&
         line[line.size() - 2] == '.' &&
         std::isdigit(static_cast<unsigned char>(line[line.size() - 1]));
}

}  // namespace

const std::string& RequestHead::header(std::string_view lower_name) const {
  static const std::string kNone;
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return kNone;
}

struct RequestParser::Beast final : http::basic_parser<true> {
  explicit Beast(RequestParser& owner) : owner_(owner) {
    eager(false);  // stop after the head: the connection decides before any body is read
    header_limit(static_cast<std::uint32_t>(owner.limits_.max_header_bytes + 1024));
    // Never boost::none in 1.74: it refuses every Content-Length (boostorg/beast#2070).
    body_limit(owner.limits_.max_body_bytes);
  }
  using http::basic_parser<true>::eager;

  bool saw_te = false, saw_cl = false, head_done = false;
  int hosts = 0;

 private:
  // The hooks set `ec` to stop Beast; owner_.fail() has said why.
  void refuse(error_code& ec, int status, std::string code, std::string message) {
    owner_.fail(status, std::move(code), std::move(message));
    ec = http::error::bad_value;
  }

  void on_request_impl(http::verb, string_view method, string_view target, int version,
                       error_code& ec) override {
    for (char c : target) {
      const auto b = static_cast<unsigned char>(c);
      if (b <= 0x20 || b >= 0x7F)
        return refuse(ec, 400, "bad_request",
                      "the request target holds a byte outside printable ASCII");
    }
    RequestHead& h = owner_.head_;
    h.method.assign(method.data(), method.size());
    h.target.assign(target.data(), target.size());
    h.version = version;
  }

  void on_response_impl(int, string_view, int, error_code& ec) override {
    ec = http::error::bad_method;  // a request parser never sees a status line
  }

  void on_field_impl(http::field f, string_view name, string_view value, error_code& ec) override {
    if (!head_done && ++fields_ > owner_.limits_.max_headers)
      return refuse(ec, 431, "header_fields_too_large",
                    "more than " + std::to_string(owner_.limits_.max_headers) + " header fields");
    for (char c : value)
      if (static_cast<unsigned char>(c) == 0xFF)
        return refuse(ec, 400, "bad_request", "a header value holds the byte 0xFF");
    if (head_done) return;  // a chunked body's trailer fields: checked, not kept
    if (f == http::field::transfer_encoding) saw_te = true;
    if (f == http::field::content_length) saw_cl = true;
    if (f == http::field::host) ++hosts;
    owner_.head_.headers.emplace_back(lower(name), std::string(value.data(), value.size()));
  }

  void on_header_impl(error_code& ec) override {
    head_done = true;
    // RFC 9112 6.3: both framings at once, or a transfer coding that does not end in chunked,
    // leave the body's end to interpretation: a smuggling vector behind any proxy.
    if (saw_te && saw_cl)
      return refuse(ec, 400, "bad_request",
                    "both Content-Length and Transfer-Encoding are present");
    if (saw_te && !chunked())
      return refuse(ec, 400, "bad_request", "Transfer-Encoding must end in chunked");
    RequestHead& h = owner_.head_;
    if (h.version == 11 && hosts != 1)
      return refuse(ec, 400, "bad_request",
                    hosts == 0 ? "an HTTP/1.1 request needs a Host header"
                               : "a request may carry one Host header only");
    h.keep_alive = keep_alive();
    h.upgrade = upgrade();
    h.has_body = chunked() || (content_length() && *content_length() > 0);
    h.expect_continue = iequals(h.header("expect"), "100-continue");
  }

  void on_body_init_impl(boost::optional<std::uint64_t> const& length, error_code&) override {
    if (length) owner_.body_.reserve(static_cast<std::size_t>(*length));
  }

  std::size_t on_body_impl(string_view s, error_code&) override {
    owner_.body_.append(s.data(), s.size());
    return s.size();
  }

  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}

  std::size_t on_chunk_body_impl(std::uint64_t, string_view s, error_code&) override {
    owner_.body_.append(s.data(), s.size());
    return s.size();
  }

  void on_finish_impl(error_code&) override {}

  RequestParser& owner_;
  std::size_t fields_ = 0;
};

RequestParser::RequestParser(const RequestLimits& limits)
    : limits_(limits), beast_(std::make_unique<Beast>(*this)) {}

RequestParser::~RequestParser() = default;

void RequestParser::fail(int status, std::string code, std::string message) {
  if (state_ == State::kError) return;
  state_ = State::kError;
  error_status_ = status;
  error_code_ = std::move(code);
  error_message_ = std::move(message);
}

void RequestParser::reset() {
  // Beast's parser has no reset: a new one, in the old one's place.
  beast_->~Beast();
  new (beast_.get()) Beast(*this);
  state_ = State::kNeedMore;
  head_.method.clear();
  head_.target.clear();
  head_.version = 11;
  head_.headers.clear();
  head_.keep_alive = true;
  head_.has_body = head_.expect_continue = head_.upgrade = false;
  body_.clear();
  if (body_.capacity() > 64 * 1024) std::string().swap(body_);  // an upload's buffer goes
  started_ = head_checked_ = false;
  error_status_ = 0;
  error_code_.clear();
  error_message_.clear();
}

void RequestParser::readBody() {
  beast_->eager(true);
}

std::size_t RequestParser::feed(const char* data, std::size_t size) {
  if (state_ == State::kDone || state_ == State::kError) return 0;
  std::size_t used = 0;
  if (!head_checked_) {
    // RFC 9112 2.2: empty lines before a request are ignored (some clients send one after a body).
    while (!started_ && size - used >= 2 && data[used] == '\r' && data[used + 1] == '\n') used += 2;
    if (used < size) started_ = true;
    const std::string_view rest(data + used, size - used);
    const auto end = rest.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (rest.size() > limits_.max_header_bytes)
        fail(431, "header_fields_too_large",
             "the request head exceeds " + std::to_string(limits_.max_header_bytes) + " bytes");
      return used;
    }
    if (end + 4 > limits_.max_header_bytes) {
      fail(431, "header_fields_too_large",
           "the request head exceeds " + std::to_string(limits_.max_header_bytes) + " bytes");
      return used;
    }
    // Obsolete line folding (a field line continued on the next line) is refused, not unfolded.
    const std::string_view head = rest.substr(0, end + 2);
    for (std::size_t at = head.find("\r\n"); at != std::string_view::npos && at + 2 < head.size();
         at = head.find("\r\n", at + 2))
      if (head[at + 2] == ' ' || head[at + 2] == '\t') {
        fail(400, "bad_request", "obsolete line folding in the request head");
        return used;
      }
    head_checked_ = true;
  }

  error_code ec;
  const std::size_t n = beast_->put(boost::asio::const_buffer(data + used, size - used), ec);
  used += n;
  if (ec == http::error::need_more) ec = {};
  if (ec) {
    if (state_ == State::kError) return used;  // a hook said why
    if (ec == http::error::body_limit)
      fail(413, "payload_too_large",
           "the request body exceeds " + std::to_string(limits_.max_body_bytes) + " bytes");
    else if (ec == http::error::header_limit)
      fail(431, "header_fields_too_large", "the request head is too large");
    else if (ec == http::error::bad_version && looksVersioned(std::string_view(data, size)))
      fail(505, "http_version_not_supported", "this server speaks HTTP/1.0 and HTTP/1.1");
    else
      fail(400, "bad_request", "malformed request: " + ec.message());
    return used;
  }
  if (beast_->is_done())
    state_ = State::kDone;
  else if (beast_->is_header_done())
    state_ = State::kHead;
  return used;
}

}  // namespace parley::core
