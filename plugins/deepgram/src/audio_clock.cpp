#include "audio_clock.hpp"

#include <algorithm>

namespace parley::deepgram {

void AudioClock::forwarded(std::uint64_t bytes, Clock::time_point at) {
  forwarded_ += bytes;
  if (!frames_) frames_ = std::make_unique<std::deque<Frame>>();
  std::deque<Frame>& frames = *frames_;
  frames.push_back({forwarded_, at});
  const std::uint64_t keep = bytes_per_second_ * 120;
  while (frames.size() > 1 && forwarded_ - frames.front().end > keep) frames.pop_front();
}

std::optional<AudioClock::Clock::time_point> AudioClock::receivedAt(double t) const {
  if (!frames_ || frames_->empty() || t < 0) return std::nullopt;
  const std::deque<Frame>& frames = *frames_;
  const auto offset = static_cast<std::uint64_t>(t * static_cast<double>(bytes_per_second_));
  // The first frame that ends past the offset holds it.
  auto it = std::upper_bound(frames.begin(), frames.end(), offset,
                             [](std::uint64_t o, const Frame& f) { return o < f.end; });
  if (it == frames.end()) return frames.back().at;
  return it->at;
}

}  // namespace parley::deepgram
