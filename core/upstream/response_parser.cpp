// See request_parser.cpp: Beast 1.74's debug assertion on split chunk headers is disabled.
#define BOOST_DISABLE_ASSERTS 1
#include "core/upstream/response_parser.hpp"

#include <boost/beast/http/basic_parser.hpp>

namespace parley::core {

namespace http = boost::beast::http;
using boost::beast::error_code;
using boost::beast::string_view;

const std::string& ResponseParser::Head::header(std::string_view lower_name) const {
  static const std::string kNone;
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return kNone;
}

struct ResponseParser::Beast final : http::basic_parser<false> {
  explicit Beast(ResponseParser& owner, std::uint64_t max_body, bool head_only) : owner_(owner) {
    eager(true);
    skip(head_only);
    header_limit(64 * 1024);
    body_limit(max_body);
  }

 private:
  void on_request_impl(http::verb, string_view, string_view, int, error_code& ec) override {
    ec = http::error::bad_method;
  }
  void on_response_impl(int code, string_view, int, error_code&) override {
    owner_.head_.status = code;
  }
  void on_field_impl(http::field, string_view name, string_view value, error_code&) override {
    std::string lower(name.data(), name.size());
    for (char& c : lower)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    owner_.head_.headers.emplace_back(std::move(lower), std::string(value.data(), value.size()));
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(boost::optional<std::uint64_t> const&, error_code&) override {}
  std::size_t on_body_impl(string_view s, error_code&) override {
    if (owner_.on_body_) owner_.on_body_(std::string_view(s.data(), s.size()));
    return s.size();
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view s, error_code&) override {
    if (owner_.on_body_) owner_.on_body_(std::string_view(s.data(), s.size()));
    return s.size();
  }
  void on_finish_impl(error_code&) override {}

  ResponseParser& owner_;
};

ResponseParser::ResponseParser(std::uint64_t max_body, bool head_only, OnBody on_body)
    : beast_(std::make_unique<Beast>(*this, max_body, head_only)), on_body_(std::move(on_body)) {}

ResponseParser::~ResponseParser() = default;

std::size_t ResponseParser::feed(const char* data, std::size_t size) {
  if (!error_.empty() || beast_->is_done()) return 0;
  error_code ec;
  const std::size_t n = beast_->put(boost::asio::const_buffer(data, size), ec);
  if (ec && ec != http::error::need_more) error_ = ec.message();
  return n;
}

bool ResponseParser::eof() {
  if (!error_.empty() || beast_->is_done()) return beast_->is_done();
  error_code ec;
  beast_->put_eof(ec);
  if (ec) error_ = ec.message();
  return beast_->is_done();
}

bool ResponseParser::headDone() const {
  return beast_->is_header_done();
}

bool ResponseParser::done() const {
  return beast_->is_done();
}

}  // namespace parley::core
