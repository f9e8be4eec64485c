#include "data.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <sstream>

namespace parley::assist {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

struct Line {
  int number = 0;
  std::string key, value;  // an entry (lexicons) has only a key
};
struct Section {
  std::string name;
  int line = 0;
  std::vector<Line> lines;
};

// "[section]" headers; "key = value" lines (or, with `entries`, bare lines); "#" comment lines.
std::vector<Section> sectionsOf(const std::string& text, bool entries) {
  std::vector<Section> out;
  std::set<std::string> names;
  std::istringstream in(text);
  std::string raw;
  int number = 0;
  while (std::getline(in, raw)) {
    ++number;
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      if (line.back() != ']') throw DataError(number, "a section header needs a closing ']'");
      const std::string name = trim(line.substr(1, line.size() - 2));
      if (name.empty()) throw DataError(number, "a section needs a name");
      if (!names.insert(name).second) throw DataError(number, "[" + name + "] comes twice");
      out.push_back({name, number, {}});
      continue;
    }
    if (out.empty()) throw DataError(number, "'" + line + "' is outside any [section]");
    Section& s = out.back();
    if (entries) {
      s.lines.push_back({number, line, {}});
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos)
      throw DataError(number, "expected key = value, found '" + line + "'");
    Line l{number, trim(line.substr(0, eq)), trim(line.substr(eq + 1))};
    if (l.key.empty()) throw DataError(number, "a key is missing before '='");
    for (const Line& other : s.lines)
      if (other.key == l.key)
        throw DataError(number, "'" + l.key + "' is set twice in [" + s.name + "]");
    s.lines.push_back(std::move(l));
  }
  return out;
}

double number(const Line& l, double min, double max) {
  const char* begin = l.value.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (l.value.empty() || *end != '\0' || !std::isfinite(v))
    throw DataError(l.number, l.key + ": '" + l.value + "' is not a number");
  if (v < min || v > max) {
    std::ostringstream range;
    range << l.key << ": " << l.value << " is outside [" << min << ", " << max << "]";
    throw DataError(l.number, range.str());
  }
  return v;
}

bool yesNo(const Line& l) {
  if (l.value == "yes" || l.value == "true") return true;
  if (l.value == "no" || l.value == "false") return false;
  throw DataError(l.number, l.key + ": '" + l.value + "' is neither yes nor no");
}

bool validId(const std::string& id) {
  if (id.empty() || !std::islower(static_cast<unsigned char>(id[0]))) return false;
  for (char c : id)
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '_')
      return false;
  return true;
}

using Setter = std::function<void(const Line&)>;

// Applies each line of the section through the setter of its key; an unknown key is an error.
void applyKeys(const Section& s, const std::map<std::string, Setter>& keys) {
  for (const Line& l : s.lines) {
    auto it = keys.find(l.key);
    if (it == keys.end())
      throw DataError(l.number, "unknown key '" + l.key + "' in [" + s.name + "]");
    it->second(l);
  }
}

const Line* find(const Section& s, const std::string& key) {
  for (const Line& l : s.lines)
    if (l.key == key) return &l;
  return nullptr;
}

struct Loader {
  std::map<std::string, std::shared_ptr<Lexicon>> lexicons;
  AssistData data;

  std::shared_ptr<const Lexicon> lexicon(const Line& l) {
    auto it = lexicons.find(l.value);
    if (it == lexicons.end())
      throw DataError(l.number, l.key + ": lexicons.txt has no [" + l.value + "]");
    return it->second;
  }

  void rule(const Section& s, const std::string& id) {
    if (!validId(id)) throw DataError(s.line, "'" + id + "' is not a rule id ([a-z][a-z0-9_]*)");
    Rule r;
    r.id = id;
    const Line* kind = find(s, "kind");
    if (!kind) throw DataError(s.line, "[" + s.name + "] needs a kind");
    static const std::map<std::string, RuleKind> kinds = {{"missing", RuleKind::kMissing},
                                                          {"balance", RuleKind::kBalance},
                                                          {"density", RuleKind::kDensity},
                                                          {"length", RuleKind::kLength},
                                                          {"cue", RuleKind::kCue}};
    auto k = kinds.find(kind->value);
    if (k == kinds.end())
      throw DataError(kind->number, "kind: '" + kind->value +
                                        "' is not missing, balance, density, length or cue");
    r.kind = k->second;
    std::map<std::string, Setter> keys = {
        {"kind", [](const Line&) {}},
        {"profile",
         [&](const Line& l) {
           if (l.value != "*" && !validId(l.value))
             throw DataError(l.number, "profile: '" + l.value + "' is not a profile name or *");
           r.profile = l.value;
         }},
        {"title", [&](const Line& l) { r.title = l.value; }},
        {"message", [&](const Line& l) { r.message = l.value; }},
        {"severity",
         [&](const Line& l) {
           if (l.value != "low" && l.value != "medium" && l.value != "high")
             throw DataError(l.number, "severity: '" + l.value + "' is not low, medium or high");
           r.severity = l.value;
         }},
        {"priority", [&](const Line& l) { r.priority = static_cast<int>(number(l, 1, 5)); }},
        {"cooldown_sec", [&](const Line& l) { r.cooldown_sec = number(l, 0, 3600); }},
    };
    auto need = [&](std::initializer_list<const char*> names) {
      for (const char* n : names)
        if (!find(s, n))
          throw DataError(s.line, "[" + s.name + "] needs " + n + " (kind " + kind->value + ")");
    };
    // The setters write into `r` through pointers: they outlive these helpers' frames.
    auto lexiconKey = [&](const char* key, std::shared_ptr<const Lexicon>& into) {
      keys[key] = [this, target = &into](const Line& l) { *target = lexicon(l); };
    };
    auto numberKey = [&](const char* key, double& into, double min, double max) {
      keys[key] = [target = &into, min, max](const Line& l) { *target = number(l, min, max); };
    };
    switch (r.kind) {
      case RuleKind::kMissing:
        need({"lexicon", "min_words"});
        lexiconKey("lexicon", r.lexicon);
        keys["numbers"] = [&](const Line& l) { r.numbers = yesNo(l); };
        numberKey("min_words", r.min_words, 1, 10000);
        numberKey("max_hits", r.max_hits, 0, 10000);
        break;
      case RuleKind::kBalance:
        need({"lexicon", "against", "min_against", "ratio"});
        lexiconKey("lexicon", r.lexicon);
        lexiconKey("against", r.against);
        numberKey("min_against", r.min_against, 1, 10000);
        numberKey("ratio", r.ratio, 0.01, 1000);
        break;
      case RuleKind::kDensity:
        need({"lexicon", "min_words", "ratio"});
        lexiconKey("lexicon", r.lexicon);
        numberKey("min_words", r.min_words, 1, 10000);
        numberKey("ratio", r.ratio, 0.001, 1);
        break;
      case RuleKind::kLength:
        if (!find(s, "max_words") && !find(s, "max_sec"))
          throw DataError(s.line, "[" + s.name + "] needs max_words or max_sec (kind length)");
        numberKey("max_words", r.max_words, 1, 100000);
        numberKey("max_sec", r.max_sec, 1, 36000);
        break;
      case RuleKind::kCue:
        need({"lexicon"});
        lexiconKey("lexicon", r.lexicon);
        numberKey("min_hits", r.min_hits, 1, 1000);
        break;
    }
    need({"title", "message"});
    applyKeys(s, keys);
    data.rules.push_back(std::move(r));
  }

  void tone(const Section& s) {
    ToneRules& t = data.tone;
    std::map<std::string, Setter> keys = {
        {"min_gap_sec", [&](const Line& l) { t.min_gap_sec = number(l, 6, 3600); }},
        {"max_per_question",
         [&](const Line& l) { t.max_per_question = static_cast<int>(number(l, 0, 2)); }},
        {"min_words", [&](const Line& l) { t.min_words = number(l, 1, 10000); }},
        {"lexicon", [&](const Line& l) { t.fillers = lexicon(l); }},
        {"long_pause_sec", [&](const Line& l) { t.long_pause_sec = number(l, 0.1, 60); }},
        {"long_pauses", [&](const Line& l) { t.long_pauses = number(l, 1, 1000); }},
        {"filler_ratio", [&](const Line& l) { t.filler_ratio = number(l, 0.001, 1); }},
        {"low_confidence", [&](const Line& l) { t.low_confidence = number(l, 0, 1); }},
        {"slow_wpm", [&](const Line& l) { t.slow_wpm = number(l, 0, 1000); }},
        {"fast_wpm", [&](const Line& l) { t.fast_wpm = number(l, 1, 2000); }},
    };
    applyKeys(s, keys);
    if (!t.fillers) throw DataError(s.line, "[tone] needs lexicon (the fillers)");
  }
};

}  // namespace

std::vector<std::string> normalWords(const std::string& text) {
  std::vector<std::string> words;
  std::string current;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '\'' || u >= 0x80) {  // UTF-8 letters stay in their word
      current += static_cast<char>(std::tolower(u));
    } else if (!current.empty()) {
      words.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

void Lexicon::add(const std::string& entry) {
  auto words = normalWords(entry);
  if (words.size() == 1)
    singles_.insert(words[0]);
  else if (words.size() > 1)
    phrases_.insert(std::move(words));
}

std::size_t Lexicon::count(const std::vector<std::string>& words) const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (singles_.count(words[i])) ++n;
    for (const auto& p : phrases_)
      if (i + p.size() <= words.size() && std::equal(p.begin(), p.end(), words.begin() + i)) ++n;
  }
  return n;
}

AssistData loadData(const std::string& rules_ini, const std::string& lexicons_txt) {
  Loader loader;
  try {
    for (const Section& s : sectionsOf(lexicons_txt, /*entries=*/true)) {
      auto lex = std::make_shared<Lexicon>();
      for (const Line& l : s.lines) lex->add(l.key);
      if (lex->empty()) throw DataError(s.line, "[" + s.name + "] has no words");
      loader.lexicons[s.name] = std::move(lex);
    }
  } catch (const DataError& e) {
    throw DataFileError(e, /*in_lexicons=*/true);
  }
  try {
    const auto sections = sectionsOf(rules_ini, /*entries=*/false);
    const Section* tone = nullptr;
    std::set<std::string> events;
    for (const Section& s : sections) {
      const auto space = s.name.find(' ');
      const std::string head = s.name.substr(0, space);
      const std::string arg = space == std::string::npos ? "" : trim(s.name.substr(space + 1));
      if (s.name == "hints") {
        applyKeys(s, {{"min_gap_sec",
                       [&](const Line& l) { loader.data.hint_gap_sec = number(l, 0, 3600); }}});
      } else if (s.name == "intensity") {
        std::map<std::string, Setter> keys;
        for (int i = 0; i < 3; ++i)
          keys[std::to_string(i + 1)] = [&, i](const Line& l) {
            loader.data.scale[i] = number(l, 0.1, 10);
          };
        applyKeys(s, keys);
      } else if (head == "rule") {
        loader.rule(s, arg);
      } else if (s.name == "tone") {
        loader.tone(s);
        tone = &s;
      } else if (head == "event") {
        bool known = false;
        for (const char* type : kToneEvents) known = known || arg == type;
        if (!known)
          throw DataError(s.line, "[event " + arg +
                                      "]: the events are tone_shift_event, pressure_spike_event "
                                      "and interruption_simulation");
        applyKeys(s,
                  {{"message", [&](const Line& l) { loader.data.tone.messages[arg] = l.value; }}});
        if (!find(s, "message")) throw DataError(s.line, "[" + s.name + "] needs a message");
        events.insert(arg);
      } else {
        throw DataError(s.line, "unknown section [" + s.name +
                                    "] (expected hints, intensity, rule <id>, tone, event <type>)");
      }
    }
    if (!tone) throw DataError(1, "no [tone] section");
    for (const char* type : kToneEvents)
      if (!events.count(type))
        throw DataError(tone->line, std::string("no [event ") + type + "] section");
  } catch (const DataError& e) {
    throw DataFileError(e, /*in_lexicons=*/false);
  }
  return std::move(loader.data);
}

}  // namespace parley::assist
