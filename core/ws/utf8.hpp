// Incremental UTF-8 validation, so a text message split across fragments (or reads) is checked as
// it arrives and refused at the first invalid byte.
#pragma once

#include <cstddef>
#include <cstdint>

namespace parley::core::ws {

class Utf8Validator {
 public:
  // False as soon as the bytes so far cannot begin valid UTF-8.
  bool feed(const std::uint8_t* data, std::size_t size) noexcept;
  // True when everything fed is complete, valid UTF-8 (no sequence left open).
  bool complete() const noexcept { return state_ == kAccept; }
  void reset() noexcept { state_ = kAccept; }

 private:
  static constexpr std::uint8_t kAccept = 0;
  static constexpr std::uint8_t kReject = 12;
  std::uint8_t state_ = kAccept;
};

}  // namespace parley::core::ws
