// Name resolution off the event loops: getaddrinfo runs on the worker pool, its answer is cached
// for a while, and an IP address needs no lookup at all.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace parley::core {

class WorkerPool;

class Resolver {
 public:
  using Addresses = std::vector<sockaddr_storage>;
  // Called on the worker (or the caller's thread, for a cached or numeric answer): post it on.
  using Done = std::function<void(const Addresses& addresses, const std::string& error)>;

  Resolver(WorkerPool& workers, std::chrono::seconds ttl) : workers_(workers), ttl_(ttl) {}
  void resolve(const std::string& host, std::uint16_t port, Done done);

 private:
  struct Cached {
    Addresses addresses;
    std::chrono::steady_clock::time_point expires;
  };
  WorkerPool& workers_;
  std::chrono::seconds ttl_;
  std::mutex mutex_;
  std::map<std::string, Cached> cache_;  // host -> addresses (port 0)
};

}  // namespace parley::core
