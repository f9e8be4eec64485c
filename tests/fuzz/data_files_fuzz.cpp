// libFuzzer target for the data files operators edit: the assist plugin's rules and word lists and
// the answers plugin's prepared answers. Whatever the text, loading terminates and either succeeds
// or throws its own error naming a line inside the text.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "plugins/answers/src/offline.hpp"
#include "plugins/assist/src/data.hpp"

namespace parley::assist {
extern const char* const kDefaultLexicons;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const long lines = 1 + static_cast<long>(std::count(text.begin(), text.end(), '\n'));
  try {  // as rules, with the shipped word lists
    parley::assist::loadData(text, parley::assist::kDefaultLexicons);
  } catch (const parley::assist::DataFileError& e) {
    if (e.line < 1 || e.line > lines || e.in_lexicons) std::abort();
  }
  try {  // as word lists, with rules that name none of them
    parley::assist::loadData("[tone]\nlexicon = fillers\n", text);
  } catch (const parley::assist::DataFileError& e) {
    if (e.line < 1 || (e.in_lexicons && e.line > lines)) std::abort();
  }
  try {
    const auto answers = parley::answers::parseAnswers(text);
    parley::answers::OfflineAnswers offline(answers);
    offline.answer(text.substr(0, 200), "general");
  } catch (const parley::answers::AnswersFileError& e) {
    if (e.line < 1 || e.line > lines) std::abort();
  }
  return 0;
}
