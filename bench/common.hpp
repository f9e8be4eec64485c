// What the benchmarks' own clients and fakes share (bench/ws_load.cpp, bench/upstreams/*.cpp):
// one clock, the latency stamp, websocket framing, a few socket helpers and percentiles. No
// library beyond libc (and OpenSSL's SHA-1 for the fakes' handshakes).
//
// The stamp: a fake writes "@T<ns>;" into what it sends, <ns> being CLOCK_MONOTONIC in
// nanoseconds read just before the write(2). Whoever receives it (parleyd in between or not)
// carries it through unchanged (digits, '@', 'T' and ';' survive JSON escaping), and the client
// subtracts it from CLOCK_MONOTONIC read just after its read(2) returned. CLOCK_MONOTONIC is one
// clock for every process of the machine, so the difference is the time in flight.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

inline std::int64_t monoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "bench: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

inline std::string stamp() {
  return "@T" + std::to_string(monoNs()) + ";";
}

// Every stamp in `text`, oldest first; false if there was none.
template <class F>
bool forEachStamp(std::string_view text, F&& f) {
  bool any = false;
  for (std::size_t at = text.find("@T"); at != std::string_view::npos;
       at = text.find("@T", at + 2)) {
    std::int64_t v = 0;
    std::size_t i = at + 2;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') v = v * 10 + (text[i++] - '0');
    if (i < text.size() && text[i] == ';' && i > at + 2) {
      f(v);
      any = true;
    }
  }
  return any;
}

// The first stamp in `text` (a message may repeat its stamp: a Results' transcript and its last
// word), or -1.
inline std::int64_t firstStamp(std::string_view text) {
  std::int64_t first = -1;
  forEachStamp(text, [&](std::int64_t t) {
    if (first < 0) first = t;
  });
  return first;
}

inline void setNonBlocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

inline void setNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// A listening socket on 127.0.0.1 (port 0: any free one); its port in `port`.
inline int listenLoopback(int& port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
  if (listen(fd, 4096) != 0) die("listen");
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

// A blocking connection to 127.0.0.1:port.
inline int connectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect");
  setNoDelay(fd);
  return fd;
}

// Writes all of `data` to a blocking or non-blocking socket (spinning on EAGAIN: only for the
// small writes of a handshake or a control message).
inline bool sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// ---- Websocket frames (RFC 6455) -------------------------------------------------------------

enum Op : int { kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

// A frame from the client side (masked with a fixed key: the peer unmasks whatever the key) or
// the server side (unmasked).
inline std::string encodeFrame(int op, std::string_view payload, bool masked) {
  std::string f;
  f.reserve(payload.size() + 14);
  f.push_back(static_cast<char>(0x80 | op));
  const std::size_t n = payload.size();
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (n < 126) {
    f.push_back(static_cast<char>(mask_bit | static_cast<char>(n)));
  } else if (n < 65536) {
    f.push_back(static_cast<char>(mask_bit | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  }
  if (!masked) return f.append(payload);
  const char key[4] = {0x12, 0x34, 0x56, 0x78};
  f.append(key, 4);
  for (std::size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ key[i & 3]));
  return f;
}

// Parses whole frames from the front of `buf`, calling on_frame(opcode, payload) for each (the
// payload unmasked in place when masked), and erases what it consumed. Fragmented messages are
// not used by any peer here (each frame is FIN). Returns false on a frame too large to be ours.
template <class F>
bool parseFrames(std::string& buf, F&& on_frame, std::size_t max_payload = 64 << 20) {
  std::size_t pos = 0;
  while (buf.size() - pos >= 2) {
    auto* p = reinterpret_cast<unsigned char*>(&buf[pos]);
    const bool masked = p[1] & 0x80;
    std::size_t n = p[1] & 0x7F, header = 2;
    if (n == 126) {
      if (buf.size() - pos < 4) break;
      n = (std::size_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (n == 127) {
      if (buf.size() - pos < 10) break;
      n = 0;
      for (int i = 0; i < 8; ++i) n = (n << 8) | p[2 + i];
      header = 10;
    }
    if (n > max_payload) return false;
    const std::size_t key_at = header;
    if (masked) header += 4;
    if (buf.size() - pos < header + n) break;
    char* payload = &buf[pos + header];
    const int op = p[0] & 0x0F;
    if (masked && op != kBinary) {  // binary payloads (audio) are only counted, never read
      const unsigned char* key = p + key_at;
      for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(payload[i] ^ key[i & 3]);
    }
    on_frame(op, std::string_view(payload, n));
    pos += header + n;
  }
  buf.erase(0, pos);
  return true;
}

// ---- Percentiles and /proc -------------------------------------------------------------------

struct Percentiles {
  std::size_t n = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};

inline Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  p.n = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
  };
  p.p50 = at(0.5);
  p.p90 = at(0.9);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = v.back();
  return p;
}

inline std::string procField(int pid, const char* file, const char* field) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
  FILE* f = std::fopen(path, "r");
  if (!f) return {};
  char line[512];
  std::string out;
  const std::size_t len = std::strlen(field);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, field, len) == 0 && line[len] == ':') {
      out = line + len + 1;
      break;
    }
  std::fclose(f);
  out.erase(0, out.find_first_not_of(" \t"));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// A process's threads, resident KiB, and CPU seconds (user + system) so far.
struct ProcSample {
  long threads = 0;
  long rss_kib = 0;
  double cpu_s = 0;
  std::int64_t at_ns = 0;
};

inline ProcSample sampleProc(int pid) {
  ProcSample s;
  s.at_ns = monoNs();
  if (pid <= 0) return s;
  s.threads = std::atol(procField(pid, "status", "Threads").c_str());
  s.rss_kib = std::atol(procField(pid, "status", "VmRSS").c_str());
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if (FILE* f = std::fopen(path, "r")) {
    char buf[1024];
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = 0;
    // Fields after the command's closing parenthesis: state is field 3; utime 14, stime 15.
    if (const char* p = std::strrchr(buf, ')')) {
      unsigned long long ut = 0, st = 0;
      if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) ==
          2)
        s.cpu_s = static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  return s;
}

// CPU seconds the whole machine has spent busy (user, nice, system, irq, softirq; not steal).
inline double machineBusySeconds() {
  FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return 0;
  unsigned long long u = 0, n = 0, s = 0, idle = 0, io = 0, irq = 0, sirq = 0;
  const int got =
      std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &u, &n, &s, &idle, &io, &irq, &sirq);
  std::fclose(f);
  if (got != 7) return 0;
  return static_cast<double>(u + n + s + irq + sirq) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace bench
