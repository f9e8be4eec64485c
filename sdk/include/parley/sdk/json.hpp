// A small JSON reader and writer, so that plugins need no JSON library of their own.
//
// Reading: json::parse() builds a read-only Value; every accessor answers a safe default (null,
// 0, "", empty) for what is absent or of another type, so handlers read messages without a try
// block. The parser is strict (RFC 8259: no trailing commas, comments, NaN, lone surrogates or
// invalid UTF-8) and bounded in depth.
//
// Writing: json::Writer appends one document to a string, with commas and escaping done for you;
// text that is not valid UTF-8 is written with U+FFFD in place of the bad bytes, so the output is
// always valid JSON in valid UTF-8.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "parley/sdk/export.hpp"

namespace parley::sdk {

// Appends `text` as a quoted JSON string: quotes, backslashes and control characters escaped,
// invalid UTF-8 replaced by U+FFFD.
PARLEY_SDK_API void appendJsonString(std::string& out, std::string_view text);

// {"error":{"code":"...","message":"..."}}
PARLEY_SDK_API std::string jsonError(std::string_view code, std::string_view message);

namespace json {

enum class Type : std::uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

class PARLEY_SDK_API Value {
 public:
  Value() = default;  // null
  static Value boolean(bool b);
  static Value number(double n);
  static Value string(std::string s);
  static Value array(std::vector<Value> items);
  static Value object(std::vector<std::string> keys, std::vector<Value> values);

  Type type() const noexcept { return type_; }
  bool isNull() const noexcept { return type_ == Type::kNull; }
  bool isBool() const noexcept { return type_ == Type::kBool; }
  bool isNumber() const noexcept { return type_ == Type::kNumber; }
  bool isString() const noexcept { return type_ == Type::kString; }
  bool isArray() const noexcept { return type_ == Type::kArray; }
  bool isObject() const noexcept { return type_ == Type::kObject; }

  bool asBool(bool fallback = false) const noexcept { return isBool() ? bool_ : fallback; }
  double asNumber(double fallback = 0) const noexcept { return isNumber() ? number_ : fallback; }
  // The number if it is integral and fits, else `fallback`.
  std::int64_t asInt(std::int64_t fallback = 0) const noexcept;
  // The string, or `fallback` when this is not a string.
  std::string_view asString(std::string_view fallback = {}) const noexcept {
    return isString() ? std::string_view(string_) : fallback;
  }

  // Arrays and objects: the number of items or members (0 for anything else).
  std::size_t size() const noexcept { return items_.size(); }
  // An array's item, or null.
  const Value& operator[](std::size_t index) const noexcept;
  // An object's member (the first with that key), or null.
  const Value& operator[](std::string_view key) const noexcept;
  bool has(std::string_view key) const noexcept;
  const std::vector<Value>& items() const noexcept { return items_; }  // array items, member values
  const std::vector<std::string>& keys() const noexcept { return keys_; }  // object keys, in order

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<std::string> keys_;
  std::vector<Value> items_;
};

struct ParseError {
  std::size_t offset = 0;  // where the problem was found
  std::string message;     // e.g. "expected ':' after an object key"
};

// Parses one complete document; false (and `error`, if given) on anything else.
PARLEY_SDK_API bool parse(std::string_view text, Value& out, ParseError* error = nullptr);
// Whether `text` is one JSON object in valid UTF-8, without building it.
PARLEY_SDK_API bool isObject(std::string_view text) noexcept;
// Whether `text` is valid UTF-8 (no overlong forms, surrogates, or code points past U+10FFFF).
PARLEY_SDK_API bool validUtf8(std::string_view text) noexcept;

// Appends one JSON document to a string:
//   json::Writer w;
//   w.beginObject().field("type", "pong").field("ts", 17).endObject();
//   session.send(w.take());
class PARLEY_SDK_API Writer {
 public:
  explicit Writer(std::string initial = {});

  Writer& beginObject();
  Writer& endObject();
  Writer& beginArray();
  Writer& endArray();
  Writer& key(std::string_view name);
  Writer& value(std::string_view s);
  Writer& value(const char* s) { return value(std::string_view(s)); }
  Writer& value(const std::string& s) { return value(std::string_view(s)); }
  Writer& value(bool b);
  Writer& value(int v) { return integer(v); }
  Writer& value(long v) { return integer(v); }
  Writer& value(long long v) { return integer(v); }
  Writer& value(unsigned v) { return unsignedInteger(v); }
  Writer& value(unsigned long v) { return unsignedInteger(v); }
  Writer& value(unsigned long long v) { return unsignedInteger(v); }
  // Non-finite numbers are written as null (JSON has no NaN); `decimals` < 0: shortest form.
  Writer& value(double v, int decimals = -1);
  Writer& value(const Value& v);
  Writer& null();
  // A value that is already JSON text, written as is (e.g. a payload relayed unchanged).
  Writer& raw(std::string_view json);

  template <class T>
  Writer& field(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }
  Writer& field(std::string_view name, double v, int decimals) {
    key(name);
    return value(v, decimals);
  }

  const std::string& str() const noexcept { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void separate();
  Writer& integer(long long v);
  Writer& unsignedInteger(unsigned long long v);
  std::string out_;
  std::vector<bool> first_;  // per open container: no item written yet
  bool after_key_ = false;
};

}  // namespace json
}  // namespace parley::sdk
