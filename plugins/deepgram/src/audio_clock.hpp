// When the server received the audio that holds a moment of the stream: Deepgram's word times are
// seconds of audio since the stream began, the server knows when each frame it forwarded arrived.
// Mapping one to the other starts the turn finalization latency at the last word's arrival.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

namespace parley::deepgram {

class AudioClock {
 public:
  using Clock = std::chrono::steady_clock;
  explicit AudioClock(std::uint64_t bytes_per_second) : bytes_per_second_(bytes_per_second) {}

  // A new upstream stream: Deepgram's times start again at zero.
  void restart() {
    frames_.reset();
    forwarded_ = 0;
  }
  // A frame of `bytes`, received at `at`, went upstream.
  void forwarded(std::uint64_t bytes, Clock::time_point at);
  // When the frame holding audio second `t` of the stream was received.
  std::optional<Clock::time_point> receivedAt(double t) const;

 private:
  struct Frame {
    std::uint64_t end;  // byte offset just past the frame
    Clock::time_point at;
  };
  std::uint64_t bytes_per_second_;
  std::uint64_t forwarded_ = 0;
  // Bounded: the last two minutes of audio. Made at the first frame: most sessions send none (a
  // std::deque allocates half a kilobyte as soon as it exists).
  std::unique_ptr<std::deque<Frame>> frames_;
};

}  // namespace parley::deepgram
