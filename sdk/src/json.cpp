#include "parley/sdk/json.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace parley::sdk {

namespace {

// Length of the valid UTF-8 sequence at the start of [p, end), or 0 if it is not one (overlong
// forms, surrogates and code points past U+10FFFF are invalid).
std::size_t utf8Sequence(const unsigned char* p, const unsigned char* end) noexcept {
  const unsigned char c = *p;
  if (c < 0x80) return 1;
  std::size_t n;
  std::uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (static_cast<std::size_t>(end - p) < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return n;
}

void appendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

constexpr int kMaxDepth = 64;

// One pass over the text. With `build` it fills Values; without, it only validates.
class Parser {
 public:
  Parser(std::string_view text, bool build)
      : p_(reinterpret_cast<const unsigned char*>(text.data())),
        begin_(p_),
        end_(p_ + text.size()),
        build_(build) {}

  bool document(json::Value* out) {
    skipSpace();
    if (!value(out, 0)) return false;
    skipSpace();
    if (p_ != end_) return fail("unexpected text after the document");
    return true;
  }
  bool objectDocument() {
    skipSpace();
    if (p_ == end_ || *p_ != '{') return fail("expected an object");
    return document(nullptr);
  }
  json::ParseError error() const { return {static_cast<std::size_t>(at_ - begin_), message_}; }

 private:
  bool fail(const char* message) {
    if (message_.empty()) {
      message_ = message;
      at_ = p_;
    }
    return false;
  }
  void skipSpace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool literal(const char* word) {
    const std::size_t n = std::strlen(word);
    if (static_cast<std::size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0)
      return fail("invalid literal");
    p_ += n;
    return true;
  }

  bool value(json::Value* out, int depth) {
    if (p_ == end_) return fail("unexpected end of text");
    switch (*p_) {
      case '{': return object(out, depth + 1);
      case '[': return array(out, depth + 1);
      case '"': {
        std::string s;
        if (!string(build_ ? &s : nullptr)) return false;
        if (out) *out = json::Value::string(std::move(s));
        return true;
      }
      case 't':
        if (!literal("true")) return false;
        if (out) *out = json::Value::boolean(true);
        return true;
      case 'f':
        if (!literal("false")) return false;
        if (out) *out = json::Value::boolean(false);
        return true;
      case 'n':
        if (!literal("null")) return false;
        if (out) *out = json::Value();
        return true;
      default: return number(out);
    }
  }

  bool object(json::Value* out, int depth) {
    if (depth > kMaxDepth) return fail("nested too deeply");
    ++p_;  // {
    std::vector<std::string> keys;
    std::vector<json::Value> values;
    skipSpace();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      if (out) *out = json::Value::object({}, {});
      return true;
    }
    while (true) {
      skipSpace();
      if (p_ == end_ || *p_ != '"') return fail("expected a string key");
      std::string key;
      if (!string(build_ ? &key : nullptr)) return false;
      skipSpace();
      if (p_ == end_ || *p_ != ':') return fail("expected ':' after an object key");
      ++p_;
      skipSpace();
      json::Value v;
      if (!value(build_ ? &v : nullptr, depth)) return false;
      if (build_) {
        keys.push_back(std::move(key));
        values.push_back(std::move(v));
      }
      skipSpace();
      if (p_ == end_) return fail("unterminated object");
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ != '}') return fail("expected ',' or '}' in an object");
      ++p_;
      break;
    }
    if (out) *out = json::Value::object(std::move(keys), std::move(values));
    return true;
  }

  bool array(json::Value* out, int depth) {
    if (depth > kMaxDepth) return fail("nested too deeply");
    ++p_;  // [
    std::vector<json::Value> items;
    skipSpace();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      if (out) *out = json::Value::array({});
      return true;
    }
    while (true) {
      skipSpace();
      json::Value v;
      if (!value(build_ ? &v : nullptr, depth)) return false;
      if (build_) items.push_back(std::move(v));
      skipSpace();
      if (p_ == end_) return fail("unterminated array");
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ != ']') return fail("expected ',' or ']' in an array");
      ++p_;
      break;
    }
    if (out) *out = json::Value::array(std::move(items));
    return true;
  }

  bool hex4(std::uint32_t& v) {
    if (end_ - p_ < 4) return fail("truncated \\u escape");
    v = 0;
    for (int i = 0; i < 4; ++i, ++p_) {
      const unsigned char c = *p_;
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v |= c - 'A' + 10;
      else
        return fail("invalid \\u escape");
    }
    return true;
  }

  bool string(std::string* out) {
    ++p_;  // opening quote
    while (true) {
      if (p_ == end_) return fail("unterminated string");
      const unsigned char c = *p_;
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c < 0x20) return fail("control character in a string");
      if (c == '\\') {
        ++p_;
        if (p_ == end_) return fail("unterminated string");
        const unsigned char e = *p_++;
        char simple = 0;
        switch (e) {
          case '"': simple = '"'; break;
          case '\\': simple = '\\'; break;
          case '/': simple = '/'; break;
          case 'b': simple = '\b'; break;
          case 'f': simple = '\f'; break;
          case 'n': simple = '\n'; break;
          case 'r': simple = '\r'; break;
          case 't': simple = '\t'; break;
          case 'u': {
            std::uint32_t cp;
            if (!hex4(cp)) return false;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate in a \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              std::uint32_t low;
              if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u')
                return fail("lone high surrogate in a \\u escape");
              p_ += 2;
              if (!hex4(low)) return false;
              if (low < 0xDC00 || low > 0xDFFF) return fail("invalid surrogate pair");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            if (out) appendUtf8(*out, cp);
            continue;
          }
          default: return fail("invalid escape in a string");
        }
        if (out) out->push_back(simple);
        continue;
      }
      const std::size_t n = utf8Sequence(p_, end_);
      if (n == 0) return fail("invalid UTF-8 in a string");
      if (out) out->append(reinterpret_cast<const char*>(p_), n);
      p_ += n;
    }
  }

  bool number(json::Value* out) {
    const unsigned char* start = p_;
    auto digits = [&] {
      const unsigned char* d = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      return p_ != d;
    };
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_) return fail("invalid number");
    if (*p_ == '0') {
      ++p_;
    } else if (!digits()) {
      return fail("unexpected character");
    }
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digits()) return fail("invalid number: digits must follow '.'");
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digits()) return fail("invalid number: digits must follow the exponent");
    }
    // Out of range: JSON allows the text, a double cannot hold it. Checked when only validating
    // too, so that isObject() and parse() agree on every text.
    double d = 0;
    const auto r =
        std::from_chars(reinterpret_cast<const char*>(start), reinterpret_cast<const char*>(p_), d);
    if (r.ec != std::errc() || !std::isfinite(d)) return fail("number out of range");
    if (out) *out = json::Value::number(d);
    return true;
  }

  const unsigned char* p_;
  const unsigned char* begin_;
  const unsigned char* end_;
  bool build_;
  const unsigned char* at_ = nullptr;
  std::string message_;
};

const json::Value& nullValue() {
  static const json::Value kNull;
  return kNull;
}

}  // namespace

void appendJsonString(std::string& out, std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  out.push_back('"');
  auto* p = reinterpret_cast<const unsigned char*>(text.data());
  auto* end = p + text.size();
  while (p != end) {
    const unsigned char c = *p;
    if (c >= 0x80) {
      const std::size_t n = utf8Sequence(p, end);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD for a byte that does not begin valid UTF-8
        ++p;
      } else {
        out.append(reinterpret_cast<const char*>(p), n);
        p += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++p;
  }
  out.push_back('"');
}

std::string jsonError(std::string_view code, std::string_view message) {
  json::Writer w;
  w.beginObject().key("error").beginObject().field("code", code).field("message", message);
  return w.endObject().endObject().take();
}

namespace json {

Value Value::boolean(bool b) {
  Value v;
  v.type_ = Type::kBool;
  v.bool_ = b;
  return v;
}
Value Value::number(double n) {
  Value v;
  v.type_ = Type::kNumber;
  v.number_ = n;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.type_ = Type::kString;
  v.string_ = std::move(s);
  return v;
}
Value Value::array(std::vector<Value> items) {
  Value v;
  v.type_ = Type::kArray;
  v.items_ = std::move(items);
  return v;
}
Value Value::object(std::vector<std::string> keys, std::vector<Value> values) {
  Value v;
  v.type_ = Type::kObject;
  values.resize(keys.size());
  v.keys_ = std::move(keys);
  v.items_ = std::move(values);
  return v;
}

std::int64_t Value::asInt(std::int64_t fallback) const noexcept {
  if (!isNumber() || std::trunc(number_) != number_ || number_ < -9.2e18 || number_ > 9.2e18)
    return fallback;
  return static_cast<std::int64_t>(number_);
}

const Value& Value::operator[](std::size_t index) const noexcept {
  return isArray() && index < items_.size() ? items_[index] : nullValue();
}

const Value& Value::operator[](std::string_view key) const noexcept {
  if (isObject())
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i] == key) return items_[i];
  return nullValue();
}

bool Value::has(std::string_view key) const noexcept {
  if (isObject())
    for (const auto& k : keys_)
      if (k == key) return true;
  return false;
}

bool parse(std::string_view text, Value& out, ParseError* error) {
  Parser parser(text, true);
  Value v;
  if (!parser.document(&v)) {
    if (error) *error = parser.error();
    return false;
  }
  out = std::move(v);
  return true;
}

bool isObject(std::string_view text) noexcept {
  try {
    return Parser(text, false).objectDocument();
  } catch (...) {  // only an allocation failure could throw
    return false;
  }
}

bool validUtf8(std::string_view text) noexcept {
  auto* p = reinterpret_cast<const unsigned char*>(text.data());
  auto* end = p + text.size();
  while (p != end) {
    const std::size_t n = utf8Sequence(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

Writer::Writer(std::string initial) : out_(std::move(initial)) {}

void Writer::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (first_.empty()) return;
  if (!first_.back()) out_.push_back(',');
  first_.back() = false;
}

Writer& Writer::beginObject() {
  separate();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}
Writer& Writer::endObject() {
  out_.push_back('}');
  if (!first_.empty()) first_.pop_back();
  return *this;
}
Writer& Writer::beginArray() {
  separate();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}
Writer& Writer::endArray() {
  out_.push_back(']');
  if (!first_.empty()) first_.pop_back();
  return *this;
}
Writer& Writer::key(std::string_view name) {
  separate();
  appendJsonString(out_, name);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}
Writer& Writer::value(std::string_view s) {
  separate();
  appendJsonString(out_, s);
  return *this;
}
Writer& Writer::value(bool b) {
  separate();
  out_ += b ? "true" : "false";
  return *this;
}
Writer& Writer::integer(long long v) {
  separate();
  char buf[24];
  out_.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  return *this;
}
Writer& Writer::unsignedInteger(unsigned long long v) {
  separate();
  char buf[24];
  out_.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  return *this;
}
Writer& Writer::value(double v, int decimals) {
  if (!std::isfinite(v)) return null();
  separate();
  char buf[64];
  const auto r = decimals < 0 ? std::to_chars(buf, buf + sizeof buf, v)
                              : std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed,
                                              std::min(decimals, 17));
  out_.append(buf, r.ptr);
  return *this;
}
Writer& Writer::value(const Value& v) {
  switch (v.type()) {
    case Type::kNull: return null();
    case Type::kBool: return value(v.asBool());
    case Type::kNumber: return value(v.asNumber());
    case Type::kString: return value(v.asString());
    case Type::kArray:
      beginArray();
      for (const auto& item : v.items()) value(item);
      return endArray();
    case Type::kObject:
      beginObject();
      for (std::size_t i = 0; i < v.keys().size(); ++i) key(v.keys()[i]).value(v.items()[i]);
      return endObject();
  }
  return *this;
}
Writer& Writer::null() {
  separate();
  out_ += "null";
  return *this;
}
Writer& Writer::raw(std::string_view json) {
  separate();
  out_ += json;
  return *this;
}

}  // namespace json
}  // namespace parley::sdk
