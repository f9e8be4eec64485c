// URL decoding that refuses what it cannot decode instead of guessing.
#pragma once

#include <string>
#include <string_view>

#include "parley/sdk/http.hpp"

namespace parley::core {

// Decodes %XX escapes (and '+' as space when `plus_is_space`). False on a malformed escape or
// an encoded NUL.
bool percentDecode(std::string_view in, std::string& out, bool plus_is_space);

// Splits a query string into decoded name/value pairs, in order. False on bad encoding.
bool parseQuery(std::string_view query, sdk::Fields& out);

}  // namespace parley::core
