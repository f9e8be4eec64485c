#include "redis_link.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <random>

namespace parley::fanout {

Wakeup::Wakeup() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
Wakeup::~Wakeup() {
  close(fd_);
}

void Wakeup::signal() {
  const std::uint64_t one = 1;
  ssize_t n = ::write(fd_, &one, sizeof one);
  (void)n;  // EAGAIN: a wake-up is pending already
}

void Wakeup::drain() {
  std::uint64_t count;
  while (::read(fd_, &count, sizeof count) > 0) {
  }
}

std::chrono::milliseconds backoff(int attempt, std::chrono::milliseconds cap) {
  static thread_local std::mt19937 random{std::random_device{}()};
  const auto ceiling = std::min<long long>(cap.count(), 50LL << std::min(attempt, 10));
  std::uniform_int_distribution<long long> pick(ceiling / 2,
                                                std::max<long long>(ceiling / 2, ceiling));
  return std::chrono::milliseconds(pick(random));
}

void Reconnection::failed(Wakeup& wake) {
  pollfd fd{wake.fd(), POLLIN, 0};
  poll(&fd, 1, static_cast<int>(backoff(attempt_++, cap_).count()));
  wake.drain();  // else a signal during the outage would cut every later wait short
}

void Reconnection::lost(Wakeup& wake) {
  if (std::chrono::steady_clock::now() - since_ >= cap_)
    attempt_ = 0;
  else
    failed(wake);
}

}  // namespace parley::fanout
