// The one JSON helper the SDK offers: writing a string literal correctly. Plugins that build
// larger documents may use any JSON library; these keep the hot paths allocation-light.
#pragma once

#include <string>
#include <string_view>

#include "parley/sdk/export.hpp"

namespace parley::sdk {

// Appends `text` as a quoted JSON string, escaping quotes, backslashes and control characters.
PARLEY_SDK_API void appendJsonString(std::string& out, std::string_view text);

// {"error":{"code":"...","message":"..."}}
PARLEY_SDK_API std::string jsonError(std::string_view code, std::string_view message);

}  // namespace parley::sdk
