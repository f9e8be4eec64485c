#include "tests/support/speech.hpp"

#include <cmath>
#include <cstdint>

namespace parley::test {

using Clock = std::chrono::steady_clock;

std::string pcmFrame(int index) {
  std::string frame(kPcmFrameBytes, '\0');
  for (std::size_t i = 0; i < kPcmFrameBytes / 2; ++i) {
    const double t = (static_cast<double>(index) * 1600 + static_cast<double>(i)) / 16000.0;
    const auto sample = static_cast<std::int16_t>(8000 * std::sin(2 * M_PI * 440 * t));
    frame[2 * i] = static_cast<char>(sample & 0xFF);
    frame[2 * i + 1] = static_cast<char>((sample >> 8) & 0xFF);
  }
  return frame;
}

std::string deepgramScript(const std::vector<std::vector<ScriptWord>>& utterances) {
  sdk::json::Writer w;
  w.beginObject().key("utterances").beginArray();
  for (const auto& words : utterances) {
    w.beginObject().key("words").beginArray();
    for (const auto& word : words) {
      w.beginObject().field("word", word.word).field("punctuated_word", word.word);
      w.field("start", word.start).field("end", word.end);
      w.field("confidence", word.confidence).endObject();
    }
    w.endArray().field("speech_final", true).endObject();
  }
  return w.endArray().endObject().take();
}

std::string deepgramScript(const std::vector<std::string>& utterances) {
  std::vector<std::vector<ScriptWord>> script;
  double t = 0.3;
  for (const auto& text : utterances) {
    std::vector<ScriptWord> words;
    std::size_t pos = 0;
    while (pos < text.size()) {
      auto space = text.find(' ', pos);
      if (space == std::string::npos) space = text.size();
      words.push_back({text.substr(pos, space - pos), t, t + 0.25});
      t += 0.3;
      pos = space + 1;
    }
    script.push_back(std::move(words));
    t += 2.0;
  }
  return deepgramScript(script);
}

bool Received::take(const WsFrame& f) {
  if (f.result == WsFrame::Result::kClosed) return !(over = true);
  if (!f.ok()) return true;
  if (f.opcode == ws_op::kClose) {
    close_code = f.close_code;
    return !(over = true);
  }
  sdk::json::Value v;
  if (f.opcode == ws_op::kText && sdk::json::parse(f.payload, v)) events.push_back(std::move(v));
  return true;
}

std::vector<std::string> Received::typed(const std::string& type, const char* field) const {
  std::vector<std::string> out;
  for (const auto& e : events)
    if (e["type"].asString() == type) out.emplace_back(e[field].asString());
  return out;
}

std::vector<sdk::json::Value> Received::ofType(const std::string& type) const {
  std::vector<sdk::json::Value> out;
  for (const auto& e : events)
    if (e["type"].asString() == type) out.push_back(e);
  return out;
}

void stream(WsClient& c, Received& got, int frames, double speedup) {
  const auto step = std::chrono::microseconds(static_cast<long>(100000 / speedup));
  auto next = Clock::now();
  for (int i = 0; i < frames && !got.over; ++i) {
    if (!c.sendFrame(ws_op::kBinary, pcmFrame(i))) break;
    next += step;
    while (Clock::now() < next && !got.over)
      got.take(
          c.readText(std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()) +
                     std::chrono::milliseconds(1)));
  }
}

void readUntil(WsClient& c, Received& got, const std::function<bool()>& done,
               std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (!done() && !got.over && Clock::now() < until)
    got.take(c.readText(std::chrono::milliseconds(200)));
}

}  // namespace parley::test
