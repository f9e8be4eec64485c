// A slowloris client for bench/http_slowloris.sh: N connections, each sending a request head one
// byte at a time, one byte per second per connection, never finishing it. One thread, epoll, no
// library. Connections are opened over the first second (so their bytes, and their deadlines, are
// spread evenly); one the server closes is replaced at once, so N stay trickling. Runs SECONDS,
// then prints what happened to the connections the server closed: the status it answered (408
// from a head deadline), how long after the connection's first byte, and how many bytes it had.
//
//   http_trickle PORT N SECONDS [PATH]
//
// Prints "ready N" once all N are connected and trickling, then at the end one line:
//   opened O connect_failed F closed_by_server C status_408 A other_status B no_answer D
//   lifetime_s min/p50/p99/max ... bytes_p50 ... open_at_end E peak_open P bytes_sent S
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "http_trickle: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

struct Conn {
  int fd = -1;
  std::uint32_t generation = 0;  // bumps on every reconnect: stale send slots are skipped
  bool connected = false;
  std::size_t sent = 0;  // bytes of the head written
  Clock::time_point first_byte;
  std::string answer;
};

struct Slot {  // the next byte of connection `index` is due at `due`
  Clock::time_point due;
  std::uint32_t index;
  std::uint32_t generation;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: http_trickle PORT N SECONDS [PATH]\n");
    return 64;
  }
  const int port = std::atoi(argv[1]);
  const int n = std::atoi(argv[2]);
  const int seconds = std::atoi(argv[3]);
  const std::string path = argc > 4 ? argv[4] : "/api/system/metrics";
  // A head that never ends: header lines and no blank line, far longer than any run sends.
  std::string head = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; head.size() < 8192; ++i) head += "X-Trickle-" + std::to_string(i) + ": x\r\n";

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  std::vector<Conn> conns(static_cast<std::size_t>(n));
  std::deque<Slot> due;  // in order of `due`: every entry is pushed one second after now
  long long opened = 0, connect_failed = 0, closed = 0, no_answer = 0, bytes_sent = 0;
  std::map<int, long long> statuses;
  std::vector<double> lifetimes, bytes_at_close;
  int open_now = 0, peak_open = 0, connected_now = 0;
  bool ready = false;
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(seconds);

  auto connect_one = [&](std::uint32_t i, Clock::time_point when) {
    Conn& c = conns[i];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c.fd < 0) die("socket");
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++c.generation;
    c.connected = false;
    c.sent = 0;
    c.answer.clear();
    ++opened;
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
        errno != EINPROGRESS) {
      ++connect_failed;
      close(c.fd);
      c.fd = -1;
      due.push_back({when + std::chrono::seconds(1), i, c.generation});  // retry later
      return;
    }
    ++open_now;
    peak_open = std::max(peak_open, open_now);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u32 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  };
  auto send_byte = [&](std::uint32_t i, Clock::time_point now) {
    Conn& c = conns[i];
    if (c.sent >= head.size()) return;
    const ssize_t w = send(c.fd, head.data() + c.sent, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w == 1) {
      if (c.sent == 0) c.first_byte = now;
      ++c.sent;
      ++bytes_sent;
    }
    due.push_back({now + std::chrono::seconds(1), i, c.generation});
  };
  // The server is done with this connection: record how and when, then replace it.
  auto server_closed = [&](std::uint32_t i, Clock::time_point now) {
    Conn& c = conns[i];
    ++closed;
    if (c.answer.compare(0, 9, "HTTP/1.1 ") == 0 && c.answer.size() >= 12)
      ++statuses[std::atoi(c.answer.substr(9, 3).c_str())];
    else
      ++no_answer;
    if (c.sent > 0) lifetimes.push_back(std::chrono::duration<double>(now - c.first_byte).count());
    bytes_at_close.push_back(static_cast<double>(c.sent));
    epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.fd = -1;
    --open_now;
    if (c.connected) --connected_now;
    if (now < end) connect_one(i, now);
  };

  // Open them over the first second.
  for (int i = 0; i < n; ++i)
    due.push_back(
        {start + std::chrono::microseconds(1000000LL * i / n), static_cast<std::uint32_t>(i), 0});
  std::vector<epoll_event> events(1024);
  static char buf[4096];
  while (true) {
    const auto now = Clock::now();
    if (now >= end) break;
    while (!due.empty() && due.front().due <= now) {
      const Slot s = due.front();
      due.pop_front();
      Conn& c = conns[s.index];
      if (s.generation != c.generation) continue;
      if (c.fd < 0) {
        connect_one(s.index, now);
        continue;
      }
      if (c.connected) send_byte(s.index, now);
    }
    if (!ready && connected_now == n) {
      ready = true;
      std::printf("ready %d\n", n);
      std::fflush(stdout);
    }
    auto wait = std::chrono::milliseconds(100);
    if (!due.empty())
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                due.front().due - now + std::chrono::microseconds(999)));
    const int k = epoll_wait(ep, events.data(), static_cast<int>(events.size()),
                             static_cast<int>(std::max<long long>(0, wait.count())));
    const auto at = Clock::now();
    for (int e = 0; e < k; ++e) {
      const std::uint32_t i = events[e].data.u32;
      Conn& c = conns[i];
      if (c.fd < 0) continue;
      if (!c.connected && (events[e].events & EPOLLOUT)) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          ++connect_failed;
          server_closed(i, at);
          continue;
        }
        c.connected = true;
        ++connected_now;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u32 = i;
        epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        send_byte(i, at);  // its first byte now, the next a second later
      }
      if (events[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        while (true) {
          const ssize_t r = recv(c.fd, buf, sizeof buf, 0);
          if (r > 0) {
            if (c.answer.size() < 256) c.answer.append(buf, static_cast<std::size_t>(r));
            continue;
          }
          if (r < 0 && errno == EINTR) continue;
          if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
          server_closed(i, at);  // EOF or reset
          break;
        }
      }
    }
  }

  std::sort(lifetimes.begin(), lifetimes.end());
  std::sort(bytes_at_close.begin(), bytes_at_close.end());
  auto pct = [](const std::vector<double>& v, double q) {
    return v.empty() ? 0.0 : v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
  };
  long long s408 = 0, other = 0;
  for (const auto& [status, count] : statuses) (status == 408 ? s408 : other) += count;
  std::printf(
      "opened %lld connect_failed %lld closed_by_server %lld status_408 %lld other_status %lld "
      "no_answer %lld lifetime_s min %.2f p50 %.2f p99 %.2f max %.2f bytes_p50 %.0f open_at_end %d "
      "peak_open %d bytes_sent %lld",
      opened, connect_failed, closed, s408, other, no_answer,
      lifetimes.empty() ? 0.0 : lifetimes.front(), pct(lifetimes, 0.5), pct(lifetimes, 0.99),
      lifetimes.empty() ? 0.0 : lifetimes.back(), pct(bytes_at_close, 0.5), open_now, peak_open,
      bytes_sent);
  for (const auto& [status, count] : statuses)
    if (status != 408) std::printf(" status_%d %lld", status, count);
  std::printf("\n");
  return 0;
}
