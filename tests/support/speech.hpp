// A client that speaks, for integration tests: 16 kHz PCM frames streamed over its websocket,
// what it received, and scripts of the words the fake Deepgram "hears".
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "parley/sdk/json.hpp"
#include "tests/support/ws_client.hpp"

namespace parley::test {

constexpr std::size_t kPcmFrameBytes = 3200;  // 100 ms of 16 kHz 16-bit mono

// 100 ms of a 440 Hz tone: real PCM, which the fake does not need to understand.
std::string pcmFrame(int index);

struct ScriptWord {
  std::string word;
  double start = 0, end = 0, confidence = 0.93;
};
// A deepgram_fake.py script: each utterance's words, ending speech_final.
std::string deepgramScript(const std::vector<std::vector<ScriptWord>>& utterances);
// Utterances of words 0.3 s apart (from 0.3 s), separated by 2 s of silence.
std::string deepgramScript(const std::vector<std::string>& utterances);

// What a client received: its text events, parsed, and the server's close frame if one came.
struct Received {
  std::vector<sdk::json::Value> events;
  int close_code = 0;  // 0 until a close frame came
  bool over = false;   // closed: nothing more will come
  // Takes one frame; false when the connection is over.
  bool take(const WsFrame& f);
  // The `field` of every event of type `type`, in order.
  std::vector<std::string> typed(const std::string& type, const char* field) const;
  std::vector<sdk::json::Value> ofType(const std::string& type) const;
};

// Sends `frames` frames of audio, `speedup` times faster than real time, taking what arrives
// meanwhile.
void stream(WsClient& c, Received& got, int frames, double speedup);

// Takes what arrives until `done` says so, the connection is over, or `timeout`.
void readUntil(WsClient& c, Received& got, const std::function<bool()>& done,
               std::chrono::milliseconds timeout);

}  // namespace parley::test
