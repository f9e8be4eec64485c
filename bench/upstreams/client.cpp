// The client side of the upstream benchmarks: one epoll thread, no library. Latencies are read
// from the stamps the fakes write (../common.hpp): receive time (CLOCK_MONOTONIC right after the
// read) minus the stamp (CLOCK_MONOTONIC right before the fake's write), in microseconds. Only
// what arrives after WARMUP seconds counts, for SECONDS seconds.
//
//   client sse-direct PORT N SECONDS WARMUP
//       N streams read straight from `fakes sse` (GET): the floor, without parleyd.
//   client relay PORT N SECONDS WARMUP SSE_URL [PID]
//       N parleyd sessions, each asking bench_upstream to relay one SSE stream from SSE_URL (on
//       its own scope; with RELAY_SCOPE=shared, all on one plugin scope).
//   client idle PORT N WS_URL HOLD PID
//       one session asks bench_upstream for N idle upstream websockets to WS_URL; parleyd's threads
//       and RSS with none (after a warm-up of 10 opened and dropped), with them open (after HOLD
//       s), and after they are dropped.
//   client answers PORT N SECONDS WARMUP [PID]
//       N rooms, an interviewer in each asking questions one after another (the next 200 ms after
//       answer_suggestion); answer_suggestion_chunk latencies (answers with provider openai).
//   client offline PORT N SECONDS WARMUP STOP [PID]
//       N rooms asking questions; time from interviewer_question sent to the first
//       answer_suggestion_chunk received (client clock). STOP=1: stop_answer_generation after the
//       first chunk, the next question 100-150 ms after answer_suggestion_done.
//   client audio PORT N SECONDS WARMUP [PID]
//       N candidate sessions streaming 16 kHz PCM in 100 ms binary frames (3,200 bytes), in real
//       time, phases spread over the 100 ms; transcript latencies (deepgram, fake Deepgram).
//   client audio-direct PORT N SECONDS WARMUP API_KEY
//       the same audio straight to `fakes deepgram`: latencies of its speech_final Results.
//
// PID (parleyd's): its CPU over the measured window, its threads (before the sessions and the
// most seen during the window) and RSS, from /proc.
// foreign_pct: CPU the rest of the machine used during the window (machine busy time minus this
// client, PID and the PIDs in $BENCH_PIDS), in % of one core: what else ran while we measured.
// Prints one line of "name value" pairs; "samples" is the number of latencies; p50_even ...
// p99_odd split them by the session's index (even, odd): parleyd hands sessions to its two event
// loops in turn, so the halves are the two loops.
#include <signal.h>
#include <sys/epoll.h>

#include <cmath>
#include <map>
#include <random>

#include "../common.hpp"

namespace {

using bench::monoNs;

struct Session {
  int fd = -1;
  int index = 0;
  std::string in, out;
  bool open = true;
  bool http = false;  // a raw SSE stream, not a websocket
  // questions
  std::int64_t ask_at = 0;    // when the next question is due (0: none)
  std::int64_t asked_at = 0;  // when the last question was sent
  bool first_chunk = false;   // the current question's first chunk has come
  long questions = 0;
  // audio
  std::int64_t next_frame = 0;
};

struct Args {
  std::string mode;
  int port = 0, n = 0, pid = 0;
  double seconds = 10, warmup = 2;
  std::string url, api_key;
  bool stop = false;
  double hold = 2;
};

std::string uuidFor(int i, std::uint32_t run) {
  char b[40];
  std::snprintf(b, sizeof b, "%08x-0000-4000-8000-%012x", run, i);
  return b;
}

// Blocking connect and websocket upgrade; a non-blocking socket after.
int openWebSocket(int port, const std::string& path, const std::string& extra_headers = {}) {
  int fd = bench::connectLoopback(port);
  const std::string req = "GET " + path +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n" +
                          extra_headers + "\r\n";
  if (!bench::sendAll(fd, req)) bench::die("send upgrade");
  std::string head;
  char c;
  while (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {
    if (recv(fd, &c, 1, 0) != 1) bench::die("handshake");
    head.push_back(c);
  }
  if (head.compare(0, 12, "HTTP/1.1 101") != 0) {
    std::fprintf(stderr, "client: upgrade refused: %s\n", head.c_str());
    std::exit(1);
  }
  bench::setNonBlocking(fd);
  return fd;
}

class Client {
 public:
  explicit Client(Args a) : a_(std::move(a)), random_(std::random_device{}()) {}
  int run();

 private:
  void connectAll();
  void loop();
  void readable(Session& s, std::int64_t& now);
  void frame(Session& s, int op, std::string_view payload, std::int64_t at);
  void timers(std::int64_t now);
  void send(Session& s, const std::string& bytes);
  void flush(Session& s);
  void sendText(Session& s, const std::string& json) {
    send(s, bench::encodeFrame(bench::kText, json, true));
  }
  void ask(Session& s, std::int64_t now);
  void sample(const Session& s, std::int64_t at, std::int64_t stamp);
  bool measuring(std::int64_t at) const { return at >= window_start_ && at < window_end_; }
  void report();
  int idle();

  Args a_;
  std::mt19937 random_;
  int ep_ = -1;
  std::vector<Session> sessions_;
  std::vector<double> latencies_us_;
  std::vector<double> by_parity_[2];  // sessions alternate between parleyd's two event loops
  std::int64_t start_ = 0, window_start_ = 0, window_end_ = 0;
  bench::ProcSample idle_proc_, begin_proc_, end_proc_;
  std::vector<int> ours_;  // processes of this benchmark: their CPU is not foreign
  double ours_begin_ = 0, ours_end_ = 0, machine_begin_ = 0, machine_end_ = 0;
  double oursCpu() const {
    double cpu = bench::sampleProc(getpid()).cpu_s;
    for (int pid : ours_) cpu += bench::sampleProc(pid).cpu_s;
    return cpu;
  }
  long max_threads_ = 0;
  std::int64_t next_proc_ = 0;
  bool began_ = false;
  std::map<std::string, long> counts_;
  std::string audio_frame_;
  std::uint32_t run_id_ = 0;
};

int Client::run() {
  signal(SIGPIPE, SIG_IGN);
  run_id_ = static_cast<std::uint32_t>(random_());
  if (a_.mode == "idle") return idle();
  if (a_.pid > 0) ours_.push_back(a_.pid);
  if (const char* more = std::getenv("BENCH_PIDS"))
    for (const char* p = more; *p;) {
      char* end;
      const long pid = std::strtol(p, &end, 10);
      if (end == p) break;
      if (pid > 0 && pid != a_.pid) ours_.push_back(static_cast<int>(pid));
      p = end;
    }
  idle_proc_ = bench::sampleProc(a_.pid);
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  connectAll();
  loop();
  report();
  for (auto& s : sessions_)
    if (s.fd >= 0) close(s.fd);
  return 0;
}

void Client::connectAll() {
  // 100 ms of 16 kHz 16-bit mono PCM: a 440 Hz tone at -12 dBFS, masked once.
  if (a_.mode == "audio" || a_.mode == "audio-direct") {
    std::string pcm(3200, '\0');
    for (int i = 0; i < 1600; ++i) {
      const auto v = static_cast<std::int16_t>(8192 * std::sin(2 * M_PI * 440 * i / 16000.0));
      pcm[2 * i] = static_cast<char>(v & 0xFF);
      pcm[2 * i + 1] = static_cast<char>((v >> 8) & 0xFF);
    }
    audio_frame_ = bench::encodeFrame(bench::kBinary, pcm, true);
  }
  sessions_.resize(static_cast<std::size_t>(a_.n));
  for (int i = 0; i < a_.n; ++i) {
    Session& s = sessions_[static_cast<std::size_t>(i)];
    s.index = i;
    if (a_.mode == "sse-direct") {
      s.fd = bench::connectLoopback(a_.port);
      s.http = true;
      bench::sendAll(
          s.fd, "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
      bench::setNonBlocking(s.fd);
    } else if (a_.mode == "audio-direct") {
      s.fd = openWebSocket(a_.port,
                           "/v1/listen?model=nova-3&language=en&encoding=linear16&sample_rate=16000"
                           "&channels=1&interim_results=true&endpointing=300&utterance_end_ms=1000"
                           "&vad_events=true&punctuate=true&smart_format=true&filler_words=true",
                           "Authorization: Token " + a_.api_key + "\r\n");
    } else {
      std::string path = "/ws/voice?token=bench&room_id=" + uuidFor(i, run_id_);
      if (a_.mode == "answers" || a_.mode == "offline") path += "&participant=interviewer";
      s.fd = openWebSocket(a_.port, path);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    epoll_ctl(ep_, EPOLL_CTL_ADD, s.fd, &ev);
  }
  start_ = monoNs();
  window_start_ = start_ + static_cast<std::int64_t>(a_.warmup * 1e9);
  window_end_ = window_start_ + static_cast<std::int64_t>(a_.seconds * 1e9);
  for (auto& s : sessions_) {
    const double phase = static_cast<double>(s.index) / a_.n;
    if (a_.mode == "relay")
      sendText(s, "{\"type\":\"bench_sse_start\",\"url\":\"" + a_.url + "\",\"scope\":\"" +
                      (std::getenv("RELAY_SCOPE") ? std::getenv("RELAY_SCOPE") : "session") +
                      "\"}");
    if (a_.mode == "answers" || a_.mode == "offline")  // first questions spread over 1 s
      s.ask_at = start_ + 200000000 + static_cast<std::int64_t>(phase * 1e9);
    if (a_.mode == "audio" || a_.mode == "audio-direct")  // phases spread over the 100 ms
      s.next_frame = start_ + static_cast<std::int64_t>(phase * 1e8);
  }
}

void Client::loop() {
  epoll_event events[512];
  const std::int64_t give_up = window_end_ + 3000000000LL;
  for (;;) {
    std::int64_t now = monoNs();
    if (now >= window_end_) break;
    if (!began_ && now >= window_start_) {
      began_ = true;
      begin_proc_ = bench::sampleProc(a_.pid);
      machine_begin_ = bench::machineBusySeconds();
      ours_begin_ = oursCpu();
      max_threads_ = begin_proc_.threads;
      next_proc_ = now + 1000000000;
    }
    if (began_ && now >= next_proc_) {
      max_threads_ = std::max(max_threads_, bench::sampleProc(a_.pid).threads);
      next_proc_ += 1000000000;
    }
    timers(now);
    // Sleep until the next thing due (at most 1 ms late), or until something arrives.
    std::int64_t next = std::min(window_end_, began_ ? next_proc_ : window_start_);
    for (auto& s : sessions_) {
      if (s.ask_at) next = std::min(next, s.ask_at);
      if (s.next_frame) next = std::min(next, s.next_frame);
    }
    now = monoNs();
    const int timeout =
        next <= now
            ? 0
            : static_cast<int>(std::min<std::int64_t>((next - now + 999999) / 1000000, 100));
    const int k = epoll_wait(ep_, events, 512, timeout);
    for (int e = 0; e < k; ++e) {
      Session& s = sessions_[events[e].data.u32];
      if (events[e].events & EPOLLOUT) flush(s);
      if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) readable(s, now);
    }
    if (monoNs() > give_up) break;
  }
  end_proc_ = bench::sampleProc(a_.pid);
  machine_end_ = bench::machineBusySeconds();
  ours_end_ = oursCpu();
}

void Client::readable(Session& s, std::int64_t& now) {
  static char buf[1 << 18];
  for (;;) {
    const ssize_t got = recv(s.fd, buf, sizeof buf, 0);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
      if (s.open) ++counts_["eof"];
      s.open = false;
      epoll_ctl(ep_, EPOLL_CTL_DEL, s.fd, nullptr);
      return;
    }
    if (got < 0) return;
    const std::int64_t at = monoNs();
    now = at;
    s.in.append(buf, static_cast<std::size_t>(got));
    if (s.http) {
      // Whole events only: up to the last blank line.
      const auto end = s.in.rfind("\n\n");
      if (end == std::string::npos) continue;
      bench::forEachStamp(std::string_view(s.in).substr(0, end), [&](std::int64_t t) {
        ++counts_["events"];
        if (measuring(at)) sample(s, at, t);
      });
      s.in.erase(0, end + 2);
      continue;
    }
    if (!bench::parseFrames(s.in, [&](int op, std::string_view p) { frame(s, op, p, at); })) {
      std::fprintf(stderr, "client: bad frame\n");
      std::exit(1);
    }
  }
}

bool has(std::string_view payload, const char* what) {
  return payload.find(what) != std::string_view::npos;
}

void Client::frame(Session& s, int op, std::string_view p, std::int64_t at) {
  if (op == bench::kClose) {
    ++counts_["closed"];
    if (p.size() >= 2)
      ++counts_["close_" + std::to_string((static_cast<unsigned char>(p[0]) << 8) |
                                          static_cast<unsigned char>(p[1]))];
    return;
  }
  if (op == bench::kPing) return send(s, bench::encodeFrame(bench::kPong, p, true));
  if (op != bench::kText) return;
  if (has(p, "\"type\":\"error\"")) {
    ++counts_["errors"];
    if (counts_["errors"] <= 3)
      std::fprintf(stderr, "client: %.*s\n", static_cast<int>(p.size()), p.data());
    if (a_.mode == "answers" || a_.mode == "offline") s.ask_at = at + 200000000;  // ask again
    return;
  }
  if (a_.mode == "relay") {
    if (has(p, "\"type\":\"bench_chunk\"")) {
      ++counts_["events"];
      if (const auto t = bench::firstStamp(p); t > 0 && measuring(at)) sample(s, at, t);
    } else if (has(p, "\"type\":\"bench_sse_done\"")) {
      ++counts_["streams_ended"];
      if (counts_["streams_ended"] <= 3)
        std::fprintf(stderr, "client: %.*s\n", static_cast<int>(p.size()), p.data());
    }
    return;
  }
  if (a_.mode == "answers" || a_.mode == "offline") {
    if (has(p, "\"type\":\"answer_suggestion_chunk\"")) {
      ++counts_["chunks"];
      if (a_.mode == "answers") {
        if (const auto t = bench::firstStamp(p); t > 0 && measuring(at)) sample(s, at, t);
      } else if (!s.first_chunk && s.asked_at) {
        s.first_chunk = true;
        if (measuring(at)) latencies_us_.push_back(static_cast<double>(at - s.asked_at) / 1e3);
        if (a_.stop) sendText(s, "{\"type\":\"stop_answer_generation\"}");
      }
      return;
    }
    if (has(p, "\"type\":\"answer_suggestion_done\"")) {
      for (const char* r :
           {"completed", "empty", "timeout_fallback", "error_fallback", "cancelled"})
        if (has(p, (std::string("\"reason\":\"") + r + "\"").c_str())) ++counts_[r];
      // The next question: after answer_suggestion (it follows done unless cancelled).
      if (has(p, "\"reason\":\"cancelled\""))
        s.ask_at = at + 100000000 + static_cast<std::int64_t>(random_() % 50000000);
      return;
    }
    if (has(p, "\"type\":\"answer_suggestion\""))
      s.ask_at =
          at + (a_.mode == "answers" ? 200000000
                                     : 100000000 + static_cast<std::int64_t>(random_() % 50000000));
    return;
  }
  if (a_.mode == "audio") {
    if (has(p, "\"type\":\"transcript\"")) {
      ++counts_["transcripts"];
      if (const auto t = bench::firstStamp(p); t > 0 && measuring(at)) sample(s, at, t);
    } else if (has(p, "\"type\":\"partial_transcript\"")) {
      ++counts_["partials"];
    } else if (has(p, "\"type\":\"stt_warning\"")) {
      ++counts_["stt_warnings"];
      if (counts_["stt_warnings"] <= 3)
        std::fprintf(stderr, "client: %.*s\n", static_cast<int>(p.size()), p.data());
    }
    return;
  }
  if (a_.mode == "audio-direct") {
    if (has(p, "\"speech_final\":true")) {
      ++counts_["speech_finals"];
      if (const auto t = bench::firstStamp(p); t > 0 && measuring(at)) sample(s, at, t);
    } else if (has(p, "\"is_final\":false")) {
      ++counts_["partials"];
    }
  }
}

void Client::sample(const Session& s, std::int64_t at, std::int64_t stamp) {
  latencies_us_.push_back(static_cast<double>(at - stamp) / 1e3);
  by_parity_[s.index % 2].push_back(latencies_us_.back());
}

void Client::ask(Session& s, std::int64_t now) {
  ++s.questions;
  s.first_chunk = false;
  s.asked_at = now;
  static const char* const kTopics[] = {
      "how would you design a rate limiter for a public API",
      "tell me about a time you handled a tight deadline under pressure",
      "what would you do when two teammates disagree about a design",
      "walk me through how you would debug a slow database query",
      "describe a project where you improved performance significantly"};
  const std::string text = "Question " + std::to_string(s.questions) + " in room " +
                           std::to_string(s.index) + ": " + kTopics[(s.questions + s.index) % 5] +
                           "?";
  sendText(s, "{\"type\":\"interviewer_question\",\"text\":\"" + text + "\"}");
  ++counts_["questions"];
}

void Client::timers(std::int64_t now) {
  for (auto& s : sessions_) {
    if (!s.open) continue;
    if (s.ask_at && now >= s.ask_at) {
      s.ask_at = 0;
      ask(s, monoNs());
    }
    if (s.next_frame && now >= s.next_frame) {
      // Real time: one frame per 100 ms; a frame the server's backpressure holds back waits here.
      send(s, audio_frame_);
      ++counts_["frames_sent"];
      s.next_frame += 100000000;
    }
  }
}

void Client::send(Session& s, const std::string& bytes) {
  if (!s.open) return;
  if (s.out.empty()) {
    const ssize_t n = ::send(s.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(bytes.size())) return;
    if (n < 0 && errno != EAGAIN) return;
    s.out.append(bytes, n > 0 ? static_cast<std::size_t>(n) : 0, std::string::npos);
    ++counts_["send_blocked"];
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u32 = static_cast<std::uint32_t>(s.index);
    epoll_ctl(ep_, EPOLL_CTL_MOD, s.fd, &ev);
    return;
  }
  s.out.append(bytes);
}

void Client::flush(Session& s) {
  while (!s.out.empty()) {
    const ssize_t n = ::send(s.fd, s.out.data(), s.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) return;
    s.out.erase(0, static_cast<std::size_t>(n));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = static_cast<std::uint32_t>(s.index);
  epoll_ctl(ep_, EPOLL_CTL_MOD, s.fd, &ev);
}

void Client::report() {
  const bench::Percentiles p = bench::percentiles(latencies_us_);
  std::printf("samples %zu p50 %.1f p90 %.1f p99 %.1f p999 %.1f max %.1f", p.n, p.p50, p.p90, p.p99,
              p.p999, p.max);
  if (!by_parity_[0].empty() && !by_parity_[1].empty()) {
    const auto even = bench::percentiles(by_parity_[0]), odd = bench::percentiles(by_parity_[1]);
    std::printf(" p50_even %.1f p99_even %.1f p50_odd %.1f p99_odd %.1f", even.p50, even.p99,
                odd.p50, odd.p99);
  }
  {
    const double wall = static_cast<double>(end_proc_.at_ns - begin_proc_.at_ns) / 1e9;
    const double foreign = (machine_end_ - machine_begin_) - (ours_end_ - ours_begin_);
    std::printf(" foreign_pct %.1f", wall > 0 ? std::max(0.0, 100.0 * foreign / wall) : 0.0);
  }
  if (a_.pid > 0) {
    const double wall = static_cast<double>(end_proc_.at_ns - begin_proc_.at_ns) / 1e9;
    std::printf(
        " cpu_pct %.1f threads_idle %ld threads_max %ld threads_end %ld rss_idle_kib %ld "
        "rss_end_kib %ld",
        wall > 0 ? 100.0 * (end_proc_.cpu_s - begin_proc_.cpu_s) / wall : 0.0, idle_proc_.threads,
        std::max(max_threads_, end_proc_.threads), end_proc_.threads, idle_proc_.rss_kib,
        end_proc_.rss_kib);
  }
  for (const auto& [name, count] : counts_) std::printf(" %s %ld", name.c_str(), count);
  std::printf("\n");
}

// ---- idle upstreams -------------------------------------------------------------------------

int Client::idle() {
  auto print = [&](const char* what, const bench::ProcSample& p) {
    std::printf("%s threads %ld rss_kib %ld\n", what, p.threads, p.rss_kib);
    std::fflush(stdout);
  };
  const int fd = openWebSocket(a_.port, "/ws/voice?token=bench");
  auto await = [&](const char* type, std::string& payload) {
    std::string in;
    char buf[65536];
    const std::int64_t give_up = monoNs() + 30000000000LL;
    bench::setNonBlocking(fd);
    while (monoNs() < give_up) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n == 0) bench::die("parleyd closed the session");
      if (n < 0) {
        usleep(2000);
        continue;
      }
      in.append(buf, static_cast<std::size_t>(n));
      bool found = false;
      bench::parseFrames(in, [&](int op, std::string_view p) {
        if (op == bench::kText && has(p, (std::string("\"type\":\"") + type + "\"").c_str())) {
          payload = std::string(p);
          found = true;
        }
      });
      if (found) return;
    }
    std::fprintf(stderr, "client: no %s within 30 s\n", type);
    std::exit(1);
  };
  std::string reply;
  // Warm-up: 10 upstreams opened and dropped, so that what is made once per process (OpenSSL's
  // random generator for the masks, the upstream metrics) is not counted per upstream.
  bench::sendAll(
      fd, bench::encodeFrame(
              bench::kText,
              "{\"type\":\"bench_idle_open\",\"count\":10,\"url\":\"" + a_.url + "\"}", true));
  await("bench_idle_opened", reply);
  bench::sendAll(fd, bench::encodeFrame(bench::kText, "{\"type\":\"bench_idle_close\"}", true));
  await("bench_idle_closed", reply);
  usleep(static_cast<useconds_t>(a_.hold * 1e6));
  print("none", bench::sampleProc(a_.pid));
  const std::int64_t t0 = monoNs();
  bench::sendAll(fd, bench::encodeFrame(bench::kText,
                                        "{\"type\":\"bench_idle_open\",\"count\":" +
                                            std::to_string(a_.n) + ",\"url\":\"" + a_.url + "\"}",
                                        true));
  await("bench_idle_opened", reply);
  std::printf("opened_in_ms %.1f %s\n", static_cast<double>(monoNs() - t0) / 1e6, reply.c_str());
  usleep(static_cast<useconds_t>(a_.hold * 1e6));
  print("open", bench::sampleProc(a_.pid));
  usleep(static_cast<useconds_t>(a_.hold * 1e6));  // the script reads parleyd's metrics meanwhile
  bench::sendAll(fd, bench::encodeFrame(bench::kText, "{\"type\":\"bench_idle_close\"}", true));
  await("bench_idle_closed", reply);
  usleep(static_cast<useconds_t>(a_.hold * 1e6));
  print("closed", bench::sampleProc(a_.pid));
  close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: see the comment at the top of bench/upstreams/client.cpp\n");
    return 64;
  }
  Args a;
  a.mode = argv[1];
  a.port = std::atoi(argv[2]);
  auto arg = [&](int i) -> std::string { return i < argc ? argv[i] : ""; };
  a.n = std::atoi(arg(3).c_str());
  if (a.mode == "idle") {
    a.url = arg(4);
    a.hold = std::atof(arg(5).c_str());
    a.pid = std::atoi(arg(6).c_str());
  } else {
    a.seconds = std::atof(arg(4).c_str());
    a.warmup = std::atof(arg(5).c_str());
    if (a.mode == "relay") {
      a.url = arg(6);
      a.pid = std::atoi(arg(7).c_str());
    } else if (a.mode == "offline") {
      a.stop = arg(6) == "1";
      a.pid = std::atoi(arg(7).c_str());
    } else if (a.mode == "audio-direct") {
      a.api_key = arg(6);
    } else {
      a.pid = std::atoi(arg(6).c_str());
    }
  }
  static const char* const kModes[] = {"sse-direct", "relay", "idle",        "answers",
                                       "offline",    "audio", "audio-direct"};
  bool known = false;
  for (const char* m : kModes) known |= a.mode == m;
  if (!known || a.n <= 0 || a.seconds <= 0 || a.seconds > 600 || a.warmup < 0) {
    std::fprintf(stderr, "client: bad arguments; see bench/upstreams/client.cpp\n");
    return 64;
  }
  return Client(a).run();
}
