#include "core/ws/utf8.hpp"

namespace parley::core::ws {

namespace {

// A deterministic automaton over byte classes (after Bjoern Hoehrmann's decoder design):
// rejects overlong forms, surrogates and code points above U+10FFFF.
constexpr std::uint8_t kClass[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 9,
    9, 9, 9, 9, 9, 9, 9, 9, 9,  9, 9, 9, 9, 9, 9, 7, 7, 7, 7, 7, 7, 7,  7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7,  7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 8, 2, 2,  2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2,  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 10, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 4, 3, 3, 11, 6, 6, 6, 5, 8, 8, 8, 8, 8, 8, 8, 8, 8,  8, 8,
};

// state (a multiple of 12) + class -> next state; 0 accepts, 12 rejects.
constexpr std::uint8_t kTransition[108] = {
    0,  12, 24, 36, 60, 96, 84, 12, 12, 12, 48, 72,  // accept
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,  // reject
    12, 0,  12, 12, 12, 12, 12, 0,  12, 0,  12, 12,  // one continuation left
    12, 24, 12, 12, 12, 12, 12, 24, 12, 24, 12, 12,  // two left
    12, 12, 12, 12, 12, 12, 12, 24, 12, 12, 12, 12,  // after E0: A0..BF
    12, 24, 12, 12, 12, 12, 12, 12, 12, 24, 12, 12,  // after ED: 80..9F
    12, 12, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12,  // after F0: 90..BF
    12, 36, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12,  // after F1..F3
    12, 36, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,  // after F4: 80..8F
};

}  // namespace

bool Utf8Validator::feed(const std::uint8_t* data, std::size_t size) noexcept {
  std::uint8_t state = state_;
  for (std::size_t i = 0; i < size; ++i) {
    state = kTransition[state + kClass[data[i]]];
    if (state == kReject) break;
  }
  state_ = state;
  return state != kReject;
}

}  // namespace parley::core::ws
