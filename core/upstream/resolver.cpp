#include "core/upstream/resolver.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>

#include "core/runtime/worker_pool.hpp"

namespace parley::core {

namespace {

void setPort(sockaddr_storage& a, std::uint16_t port) {
  if (a.ss_family == AF_INET6)
    reinterpret_cast<sockaddr_in6&>(a).sin6_port = htons(port);
  else
    reinterpret_cast<sockaddr_in&>(a).sin_port = htons(port);
}

Resolver::Addresses withPort(Resolver::Addresses addresses, std::uint16_t port) {
  for (auto& a : addresses) setPort(a, port);
  return addresses;
}

bool numeric(const std::string& host, Resolver::Addresses& out) {
  sockaddr_storage a{};
  auto& v4 = reinterpret_cast<sockaddr_in&>(a);
  auto& v6 = reinterpret_cast<sockaddr_in6&>(a);
  if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
  } else {
    return false;
  }
  out.push_back(a);
  return true;
}

}  // namespace

void Resolver::resolve(const std::string& host, std::uint16_t port, Done done) {
  Addresses addresses;
  if (numeric(host, addresses)) return done(withPort(std::move(addresses), port), {});
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(host);
    if (it != cache_.end() && it->second.expires > std::chrono::steady_clock::now())
      return done(withPort(it->second.addresses, port), {});
  }
  auto lookup = [this, host, port, done] {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (rc != 0) return done({}, "cannot resolve " + host + ": " + gai_strerror(rc));
    Addresses result;
    for (addrinfo* a = found; a; a = a->ai_next) {
      sockaddr_storage s{};
      std::memcpy(&s, a->ai_addr, a->ai_addrlen);
      result.push_back(s);
    }
    freeaddrinfo(found);
    {
      std::lock_guard lock(mutex_);
      cache_[host] = {result, std::chrono::steady_clock::now() + ttl_};
    }
    done(withPort(std::move(result), port), {});
  };
  if (!workers_.submit("upstream", std::move(lookup)))
    done({}, "cannot resolve " + host + ": the worker pool is full");
}

}  // namespace parley::core
