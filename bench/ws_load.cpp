// A light websocket load client for the benchmarks: epoll, no library, so that the clients are
// not what limits the measurement.
//
//   ws_load idle  PORT PATH N SECONDS        open N sessions, print "ready", hold them SECONDS
//   ws_load echo  PORT PATH RATE SECONDS     {"type":"ping"} at RATE/s; print RTT percentiles (us)
//   ws_load count PORT PATH N SECONDS [MSG]  N sessions (one room); the first sends MSG; count
//                                            text frames received by all for SECONDS; print fps
//   ws_load relay PORT_A PATH RATE SECONDS PORT_B
//                                            a member on A sends 200-byte room events at RATE/s;
//                                            a member of the same room on B times their arrival
//   ws_load storm PORT PATH N SECONDS INFLIGHT
//                                            open N sessions keeping INFLIGHT handshakes in flight
//                                            at once: INFLIGHT non-blocking connects at the start,
//                                            each request written as its connect completes, a new
//                                            connect for each handshake answered; print the
//                                            outcome and "ready", hold them SECONDS
//   ws_load drive PORT PATH SECONDS         real traffic for every plugin: an interviewer and a
//                                            candidate join (PATH plus &participant=...), a
//                                            question is asked and its answer streamed, the
//                                            candidate's final transcript becomes a turn; print
//                                            "ready" and the candidate's session id, then hold both
//                                            sessions SECONDS (answering pings)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common.hpp"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "ws_load: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

// Connects and completes the upgrade (blocking), then returns a non-blocking socket.
int open_session(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const std::string req = "GET " + path +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n";
  if (send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size())) die("send");
  std::string head;
  char c;
  while (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {
    if (recv(fd, &c, 1, 0) != 1) die("handshake");
    head.push_back(c);
  }
  if (head.compare(0, 12, "HTTP/1.1 101") != 0) {
    std::fprintf(stderr, "ws_load: refused: %s\n", head.c_str());
    std::exit(1);
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

std::string masked_text(const std::string& payload) {
  return bench::encodeFrame(bench::kText, payload, true);
}

template <class F>
void parse_frames(std::string& buf, F&& on_frame) {
  bench::parseFrames(buf, std::forward<F>(on_frame));
}

int idle(int port, const std::string& path, int n, int seconds) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) fds.push_back(open_session(port, path));
  std::printf("ready %d\n", n);
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  for (int fd : fds) close(fd);
  return 0;
}

int echo(int port, const std::string& path, int rate, int seconds) {
  int fd = open_session(port, path);
  const std::string ping = masked_text("{\"type\":\"ping\"}");
  std::deque<Clock::time_point> sent;
  std::vector<double> rtts;
  std::string buf;
  char tmp[65536];
  const auto interval = std::chrono::nanoseconds(1000000000LL / rate);
  auto next = Clock::now();
  const auto end = next + std::chrono::seconds(seconds);
  while (Clock::now() < end || (!sent.empty() && Clock::now() < end + std::chrono::seconds(2))) {
    const auto now = Clock::now();
    if (now >= next && now < end) {
      if (send(fd, ping.data(), ping.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(ping.size()))
        die("send ping");
      sent.push_back(now);
      next += interval;
    }
    {
      pollfd pfd{fd, POLLIN, 0};
      const auto wait = now < end ? std::max(Clock::duration::zero(), next - Clock::now())
                                  : Clock::duration(std::chrono::milliseconds(10));
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
      timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
      ppoll(&pfd, 1, &ts, nullptr);
    }
    ssize_t got = recv(fd, tmp, sizeof tmp, 0);
    if (got > 0) {
      buf.append(tmp, static_cast<std::size_t>(got));
      const auto at = Clock::now();
      parse_frames(buf, [&](int op, std::string_view payload) {
        if (op != 1 || payload.find("\"pong\"") == std::string_view::npos || sent.empty()) return;
        rtts.push_back(std::chrono::duration<double, std::micro>(at - sent.front()).count());
        sent.pop_front();
      });
    }
  }
  std::sort(rtts.begin(), rtts.end());
  auto pct = [&](double q) {
    return rtts.empty() ? 0.0 : rtts[static_cast<std::size_t>(q * (rtts.size() - 1))];
  };
  std::printf("samples %zu p50 %.1f p90 %.1f p99 %.1f p999 %.1f max %.1f lost %zu\n", rtts.size(),
              pct(0.5), pct(0.9), pct(0.99), pct(0.999), rtts.empty() ? 0.0 : rtts.back(),
              sent.size());
  return 0;
}

int count(int port, const std::string& path, int n, int seconds, const std::string& msg) {
  int ep = epoll_create1(0);
  std::vector<int> fds;
  std::vector<std::string> bufs(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    fds.push_back(open_session(port, path));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, fds.back(), &ev);
  }
  std::printf("ready %d\n", n);
  std::fflush(stdout);
  if (!msg.empty()) {
    const std::string f = masked_text(msg);
    if (send(fds[0], f.data(), f.size(), MSG_NOSIGNAL) < 0) die("send");
  }
  long long frames = 0, first_ns = -1, last_ns = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  epoll_event events[256];
  static char tmp[1 << 18];
  while (Clock::now() < end) {
    int k = epoll_wait(ep, events, 256, 100);
    for (int e = 0; e < k; ++e) {
      const auto i = events[e].data.u32;
      ssize_t got;
      while ((got = recv(fds[i], tmp, sizeof tmp, 0)) > 0) {
        bufs[i].append(tmp, static_cast<std::size_t>(got));
        parse_frames(bufs[i], [&](int op, std::string_view) { frames += op == 1; });
      }
    }
    if (k > 0) {
      const long long ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
      if (first_ns < 0) first_ns = ns;
      last_ns = ns;
    }
  }
  const double secs = (last_ns - first_ns) / 1e9;
  std::printf("frames %lld seconds %.3f fps %.0f\n", frames, secs, secs > 0 ? frames / secs : 0.0);
  for (int fd : fds) close(fd);
  return 0;
}

int relay(int port_a, int port_b, const std::string& path, int rate, int seconds) {
  int a = open_session(port_a, path), b = open_session(port_b, path);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // both joined, B subscribed
  const int total = rate * seconds;
  std::vector<Clock::time_point> sent(static_cast<std::size_t>(total));
  std::vector<double> rtts;
  std::string buf_a, buf_b;
  static char tmp[65536];
  const auto interval = std::chrono::nanoseconds(1000000000LL / rate);
  auto next = Clock::now();
  int i = 0;
  const auto give_up = next + std::chrono::seconds(seconds + 5);
  while (static_cast<int>(rtts.size()) < total && Clock::now() < give_up) {
    if (i < total && Clock::now() >= next) {
      std::string pad(150, 'x');
      const std::string f = masked_text("{\"type\":\"room_event\",\"seq\":" + std::to_string(i) +
                                        ",\"pad\":\"" + pad + "\"}");
      sent[static_cast<std::size_t>(i++)] = Clock::now();
      if (send(a, f.data(), f.size(), MSG_NOSIGNAL) < 0) die("send");
      next += interval;
    }
    // Sleep until the next send is due or something arrives: a spinning client would take a core
    // from the servers it measures.
    {
      pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      const auto wait = i < total ? std::max(Clock::duration::zero(), next - Clock::now())
                                  : Clock::duration(std::chrono::milliseconds(100));
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
      timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
      ppoll(fds, 2, &ts, nullptr);
    }
    // A gets its own events back (local members); read them so it never backs up.
    while (recv(a, tmp, sizeof tmp, 0) > 0) {
    }
    ssize_t got;
    while ((got = recv(b, tmp, sizeof tmp, 0)) > 0) {
      buf_b.append(tmp, static_cast<std::size_t>(got));
      const auto at = Clock::now();
      parse_frames(buf_b, [&](int op, std::string_view p) {
        const auto k = p.find("\"seq\":");
        if (op != 1 || k == std::string_view::npos) return;
        const int seq = std::atoi(std::string(p.substr(k + 6, 12)).c_str());
        rtts.push_back(
            std::chrono::duration<double, std::micro>(at - sent[static_cast<std::size_t>(seq)])
                .count());
      });
    }
  }
  std::sort(rtts.begin(), rtts.end());
  auto pct = [&](double q) {
    return rtts.empty() ? 0.0 : rtts[static_cast<std::size_t>(q * (rtts.size() - 1))];
  };
  std::printf("samples %zu p50 %.1f p90 %.1f p99 %.1f p999 %.1f max %.1f lost %zu\n", rtts.size(),
              pct(0.5), pct(0.9), pct(0.99), pct(0.999), rtts.empty() ? 0.0 : rtts.back(),
              static_cast<std::size_t>(total) - rtts.size());
  return 0;
}

// ---- storm: many handshakes in flight at once ----------------------------------------------

struct Pending {
  int fd = -1;
  int state = 0;  // 0 connecting, 1 request written, 2 open, 3 failed
  Clock::time_point started;
  std::string head;
};

int storm(int port, const std::string& path, int n, int seconds, int inflight_max) {
  const std::string req = "GET " + path +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n";
  int ep = epoll_create1(0);
  std::vector<Pending> conns(static_cast<std::size_t>(n));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int started = 0, in_flight = 0, peak = 0, ok = 0, failed = 0;
  std::vector<double> latencies;
  std::string first_refusal;
  long long refused = 0, connect_errors = 0, resets = 0;
  const auto t0 = Clock::now();
  const auto give_up = t0 + std::chrono::seconds(120);
  auto fail = [&](Pending& c, const char* why) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
    c.state = 3;
    --in_flight;
    ++failed;
    if (first_refusal.empty()) first_refusal = why;
  };
  static char tmp[65536];
  epoll_event events[512];
  while (ok + failed < n && Clock::now() < give_up) {
    // Start handshakes until INFLIGHT are waiting for their answer.
    while (started < n && in_flight < inflight_max) {
      Pending& c = conns[static_cast<std::size_t>(started)];
      c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (c.fd < 0) die("socket");
      int one = 1;
      setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      c.started = Clock::now();
      ++in_flight;
      epoll_event ev{};
      ev.data.u32 = static_cast<uint32_t>(started);
      ++started;
      if (connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        if (send(c.fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
          fail(c, "send");
          continue;
        }
        c.state = 1;
        ev.events = EPOLLIN;
      } else if (errno == EINPROGRESS) {
        ev.events = EPOLLOUT;
      } else {
        ++connect_errors;
        fail(c, "connect failed");
        continue;
      }
      epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    }
    peak = std::max(peak, in_flight);
    const int k = epoll_wait(ep, events, 512, 100);
    for (int e = 0; e < k; ++e) {
      Pending& c = conns[events[e].data.u32];
      if (c.state == 0) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          ++connect_errors;
          fail(c, "connect failed");
          continue;
        }
        if (send(c.fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
          fail(c, "send");
          continue;
        }
        c.state = 1;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = events[e].data.u32;
        epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        continue;
      }
      const ssize_t got = recv(c.fd, tmp, sizeof tmp, 0);
      if (c.state == 2) continue;  // open: what the server sends is drained and dropped
      if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        ++resets;
        fail(c, "closed before answering");
        continue;
      }
      c.head.append(tmp, static_cast<std::size_t>(got));
      const auto end = c.head.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      if (c.head.compare(0, 12, "HTTP/1.1 101") != 0) {
        ++refused;
        const std::string line = c.head.substr(0, c.head.find("\r\n"));
        fail(c, line.c_str());
        continue;
      }
      c.state = 2;
      --in_flight;
      ++ok;
      latencies.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - c.started).count());
      c.head.clear();
      c.head.shrink_to_fit();
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double q) {
    return latencies.empty() ? 0.0
                             : latencies[static_cast<std::size_t>(q * (latencies.size() - 1))];
  };
  std::printf(
      "ready ok %d failed %d refused %lld connect_errors %lld closed %lld unanswered %d "
      "peak_in_flight %d seconds %.2f handshake_ms p50 %.1f p99 %.1f max %.1f%s%s\n",
      ok, failed, refused, connect_errors, resets, n - ok - failed, peak, secs, pct(0.5), pct(0.99),
      latencies.empty() ? 0.0 : latencies.back(),
      first_refusal.empty() ? "" : " first_failure: ", first_refusal.c_str());
  std::fflush(stdout);
  const auto hold_until = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < hold_until) {
    const int k = epoll_wait(ep, events, 512, 100);
    for (int e = 0; e < k; ++e) {
      Pending& c = conns[events[e].data.u32];
      if (c.fd < 0) continue;
      if (recv(c.fd, tmp, sizeof tmp, 0) == 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        c.fd = -1;
      }
    }
  }
  for (auto& c : conns)
    if (c.fd >= 0) close(c.fd);
  return ok == n ? 0 : 2;
}

// ---- drive: real traffic through every plugin ----------------------------------------------

struct Member {
  int fd = -1;
  std::string buf;
  std::string session_id;
  std::vector<std::string> texts;  // text frames received, in order
};

// Reads what has arrived for each member; answers protocol pings.
void pump(std::vector<Member*>& members, int wait_ms) {
  std::vector<pollfd> fds;
  for (auto* m : members) fds.push_back({m->fd, POLLIN, 0});
  poll(fds.data(), fds.size(), wait_ms);
  static char tmp[65536];
  for (auto* m : members) {
    ssize_t got;
    while ((got = recv(m->fd, tmp, sizeof tmp, 0)) > 0) {
      m->buf.append(tmp, static_cast<std::size_t>(got));
      parse_frames(m->buf, [&](int op, std::string_view p) {
        if (op == 9) {
          const std::string pong = bench::encodeFrame(bench::kPong, p, true);
          if (send(m->fd, pong.data(), pong.size(), MSG_NOSIGNAL) < 0) die("send pong");
        }
        if (op != 1) return;
        m->texts.emplace_back(p);
        const auto k = p.find("\"session_id\":\"");
        if (m->session_id.empty() && k != std::string_view::npos) {
          const auto from = k + 14;
          m->session_id = std::string(p.substr(from, p.find('"', from) - from));
        }
      });
    }
  }
}

// Waits until `m` has received a text frame holding `what`; the ms it took, or -1 on timeout.
double await_text(std::vector<Member*>& all, Member& m, const std::string& what, int timeout_ms) {
  const auto t0 = Clock::now();
  const auto until = t0 + std::chrono::milliseconds(timeout_ms);
  std::size_t seen = 0;
  while (Clock::now() < until) {
    for (; seen < m.texts.size(); ++seen)
      if (m.texts[seen].find(what) != std::string::npos)
        return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    pump(all, 20);
  }
  return -1;
}

void say(Member& m, const std::string& json) {
  const std::string f = masked_text(json);
  if (send(m.fd, f.data(), f.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(f.size())) die("send");
}

int drive(int port, const std::string& path, int seconds) {
  Member interviewer, candidate;
  interviewer.fd = open_session(port, path + "&participant=interviewer");
  candidate.fd = open_session(port, path + "&participant=candidate");
  std::vector<Member*> all{&interviewer, &candidate};
  for (int i = 0; i < 100 && (interviewer.session_id.empty() || candidate.session_id.empty()); ++i)
    pump(all, 20);
  // The question: the rooms plugin broadcasts it, the answers plugin streams an answer.
  candidate.texts.clear();
  say(interviewer,
      "{\"type\":\"interviewer_question\",\"text\":\"How would you design a rate limiter for a "
      "public API?\"}");
  const double answered = await_text(all, candidate, "\"answer_suggestion_done\"", 20000);
  // The candidate's final words: a turn for deepgram (text mode), coaching for assist.
  say(candidate,
      "{\"type\":\"candidate_transcript\",\"is_final\":true,\"text\":\"um so like we would "
      "basically um put a token bucket in front of the API and like we would um keep the "
      "buckets in a shared store so that we can like scale out and um we would return a "
      "retry after header when the bucket is empty and like we would also um log it so we "
      "can see it and we would like tune it later basically\"}");
  const double turned = await_text(all, interviewer, "\"type\":\"transcript\"", 10000);
  const double hinted = await_text(all, candidate, "\"assist_hint\"", 3000);
  say(interviewer, "{\"type\":\"sync_state_request\"}");
  say(interviewer, "{\"type\":\"ping\"}");
  pump(all, 50);
  std::printf("ready %s answer_ms %.0f turn_ms %.0f hint_ms %.0f frames %zu\n",
              candidate.session_id.c_str(), answered, turned, hinted,
              interviewer.texts.size() + candidate.texts.size());
  std::fflush(stdout);
  const auto until = Clock::now() + std::chrono::seconds(seconds);
  auto next_ping = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < until) {
    pump(all, 200);
    if (Clock::now() >= next_ping) {
      for (auto* m : all) say(*m, "{\"type\":\"ping\"}");
      next_ping += std::chrono::seconds(10);
    }
    for (auto* m : all) m->texts.clear();
  }
  for (auto* m : all) close(m->fd);
  return answered >= 0 && turned >= 0 ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || (argc < 6 && std::string(argv[1]) != "drive")) {
    std::fprintf(stderr, "usage: see the comment at the top of bench/ws_load.cpp\n");
    return 64;
  }
  const std::string mode = argv[1], path = argv[3];
  const int port = std::atoi(argv[2]), a = std::atoi(argv[4]);
  if (mode == "drive") return drive(port, path, a);
  const int secs = std::atoi(argv[5]);
  if (mode == "idle") return idle(port, path, a, secs);
  if (mode == "echo") return echo(port, path, a, secs);
  if (mode == "count") return count(port, path, a, secs, argc > 6 ? argv[6] : "");
  if (mode == "relay" && argc > 6) return relay(port, std::atoi(argv[6]), path, a, secs);
  if (mode == "storm" && argc > 6) return storm(port, path, a, secs, std::atoi(argv[6]));
  return 64;
}
