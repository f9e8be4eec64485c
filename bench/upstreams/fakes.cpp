// The upstream peers of the upstream benchmarks, in C++ so that they cost the shared two cores as
// little as possible (tests/fakes/*.py are faithful but spend a core at these rates, and do not
// stamp what they send). One epoll thread each; 127.0.0.1 only; exit on SIGTERM/SIGINT with one
// line of counts on stdout.
//
//   fakes sse [--rate R] [--chunks N] [--pad BYTES]
//       An HTTP/1.1 server of server-sent events, chunked. Any request gets a stream of N (default
//       100000) events at R per second (default 20), the first at a random point of the first
//       period, so that concurrent streams do not tick together. GET (any path): events
//       "data: seq=K <pad> @T<ns>;". POST /v1/chat/completions: the OpenAI-compatible stream a
//       chat completion with stream: true gets (role chunk, one content chunk per event, whose
//       content is " w<K>@T<ns>;", finish chunk, usage chunk, [DONE]), then the connection closes.
//   fakes ws
//       A websocket server that accepts any upgrade and then only answers pings and closes: the
//       far end of idle upstream websockets.
//   fakes deepgram [--api-key KEY] [--cycle S] [--words W]
//       Deepgram's live API (/v1/listen) as tests/fakes/deepgram_fake.py speaks it, reduced to what
//       the benchmark uses: the Authorization: Token check (401 with Deepgram's body), 101 with
//       dg-request-id, an audio clock of bytes / (2 * sample_rate * channels), and on it, one
//       utterance of W words (default 5, 0.3 s apart) every S seconds of audio (default 3):
//       SpeechStarted, interim Results at most every 100 ms of audio, the final Results with
//       speech_final after `endpointing` ms, UtteranceEnd after `utterance_end_ms`; KeepAlive,
//       Finalize, CloseStream (Metadata, close 1000), ping, close. The speech_final Results' last
//       word (and its transcript) is the stamp "@T<ns>;", taken as the message is written.
//
// Prints "listening on http://127.0.0.1:PORT" once ready.
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include <cctype>
#include <map>
#include <memory>
#include <random>

#include "../common.hpp"

namespace {

using bench::monoNs;

struct Options {
  std::string mode;
  double rate = 20;
  long chunks = 100000;
  std::size_t pad = 64;
  std::string api_key = "bench-key";
  double cycle = 3.0;
  int words = 5;
};

// ---- Deepgram's stream, on its audio clock -----------------------------------------------------

const char* const kVocabulary[] = {"so",   "i",     "think", "we",   "should", "start", "with",
                                   "the",  "data",  "model", "and",  "then",   "look",  "at",
                                   "what", "users", "need",  "most", "from",   "it"};

struct DeepgramStream {
  int rate = 16000, channels = 1;
  bool interim = true, vad = true;
  double endpointing = 0.3, ue_delay = 1.0;
  bool utterance_end = true;
  std::string request_id;
  std::uint64_t bytes = 0, frames = 0;
  int u = 0;  // the utterance playing
  bool started_sent = false, finalized = false;
  int interim_upto = 0;    // words covered by the last interim
  double interim_at = -1;  // audio clock of the last interim
  double seg_start = 0;    // audio not yet covered by a final
  double ue_due = 0;

  double clock() const { return static_cast<double>(bytes) / (2.0 * rate * channels); }
};

struct Conn {
  int fd = -1;
  std::string in, out;
  enum class Phase { kHead, kBody, kStreaming, kWebSocket, kClosing } phase = Phase::kHead;
  std::size_t body_left = 0;
  bool want_out = false;
  // sse
  bool openai = false;
  long sent = 0;
  std::int64_t next_due = 0;
  // deepgram
  std::unique_ptr<DeepgramStream> dg;
};

class Server {
 public:
  explicit Server(Options o) : o_(std::move(o)), random_(std::random_device{}()) {}
  int run();

 private:
  void accept();
  void readable(Conn& c);
  void head(Conn& c, const std::string& head);
  void write(Conn& c, std::string_view data);
  void flush(Conn& c);
  void closeConn(int fd);
  void interest(Conn& c, bool out);
  // sse
  void startSse(Conn& c, const std::string& method, const std::string& path);
  void tick();
  void sseEvent(Conn& c);
  void armTimer();
  // websockets
  void wsHandshake(Conn& c, const std::string& key, const std::string& extra_headers);
  void wsFrames(Conn& c);
  void sendText(Conn& c, std::string_view text) {
    write(c, bench::encodeFrame(bench::kText, text, false));
  }
  // deepgram
  void deepgramHead(Conn& c, const std::string& path, const std::string& auth,
                    const std::string& key);
  void deepgramAudio(Conn& c, std::size_t n);
  void deepgramStep(Conn& c);
  void deepgramFinal(Conn& c, int upto, bool speech_final, bool from_finalize);
  std::string results(DeepgramStream& s, int from, int upto, double start, double end,
                      bool is_final, bool speech_final, bool from_finalize, bool stamped);
  double wordStart(const DeepgramStream& s, int i) const { return 0.5 + s.u * o_.cycle + 0.3 * i; }
  std::string wordOf(const DeepgramStream& s, int i) const {
    return kVocabulary[(s.u * 3 + i) % (sizeof kVocabulary / sizeof *kVocabulary)];
  }

  Options o_;
  std::mt19937_64 random_;
  int ep_ = -1, listen_fd_ = -1, timer_fd_ = -1, signal_fd_ = -1;
  std::map<int, Conn> conns_;
  // counts
  long accepted_ = 0, streams_ = 0, events_ = 0, refused_ = 0, finals_ = 0, interims_ = 0;
  std::uint64_t audio_bytes_ = 0, audio_frames_ = 0;
};

int Server::run() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  int port = 0;
  listen_fd_ = bench::listenLoopback(port);
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  for (int fd : {listen_fd_, timer_fd_, signal_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }
  std::printf("listening on http://127.0.0.1:%d\n", port);
  std::fflush(stdout);
  epoll_event events[512];
  for (;;) {
    const int n = epoll_wait(ep_, events, 512, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == signal_fd_) {
        std::printf(
            "accepted %ld streams %ld events %ld refused %ld finals %ld interims %ld audio_frames "
            "%llu audio_bytes %llu\n",
            accepted_, streams_, events_, refused_, finals_, interims_,
            static_cast<unsigned long long>(audio_frames_),
            static_cast<unsigned long long>(audio_bytes_));
        return 0;
      }
      if (fd == listen_fd_) {
        accept();
        continue;
      }
      if (fd == timer_fd_) {
        std::uint64_t expirations;
        while (read(timer_fd_, &expirations, sizeof expirations) > 0) {
        }
        tick();
        continue;
      }
      auto it = conns_.find(fd);
      if (it == conns_.end()) continue;
      if (events[i].events & EPOLLOUT) flush(it->second);
      it = conns_.find(fd);
      if (it != conns_.end() && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        readable(it->second);
    }
  }
}

void Server::accept() {
  for (;;) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    bench::setNoDelay(fd);
    ++accepted_;
    Conn& c = conns_[fd];
    c.fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void Server::closeConn(int fd) {
  epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  conns_.erase(fd);
}

void Server::interest(Conn& c, bool out) {
  if (c.want_out == out) return;
  c.want_out = out;
  epoll_event ev{};
  ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
  ev.data.fd = c.fd;
  epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
}

void Server::write(Conn& c, std::string_view data) {
  if (c.out.empty()) {
    const ssize_t n = send(c.fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(data.size())) return;
    if (n > 0) data.remove_prefix(static_cast<std::size_t>(n));
    if (n < 0 && errno != EAGAIN) return;  // the reader sees the error
  }
  c.out.append(data);
  interest(c, true);
}

void Server::flush(Conn& c) {
  while (!c.out.empty()) {
    const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) return closeConn(c.fd);
    c.out.erase(0, static_cast<std::size_t>(n));
  }
  interest(c, false);
  if (c.phase == Conn::Phase::kClosing) closeConn(c.fd);
}

void Server::readable(Conn& c) {
  char buf[65536];
  for (;;) {
    const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return closeConn(c.fd);
    if (n < 0) break;
    if (c.phase == Conn::Phase::kWebSocket || c.phase == Conn::Phase::kClosing) {
      c.in.append(buf, static_cast<std::size_t>(n));
      const int fd = c.fd;
      wsFrames(c);
      if (!conns_.count(fd)) return;
      continue;
    }
    if (c.phase == Conn::Phase::kStreaming) continue;  // nothing more is expected; drop it
    c.in.append(buf, static_cast<std::size_t>(n));
    if (c.phase == Conn::Phase::kHead) {
      const auto end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (c.in.size() > 65536) return closeConn(c.fd);
        continue;
      }
      const std::string h = c.in.substr(0, end + 2);
      c.in.erase(0, end + 4);
      const int fd = c.fd;
      head(c, h);
      if (!conns_.count(fd)) return;
    }
  }
}

std::string headerOf(const std::string& head, const char* name) {
  std::size_t at = 0;
  const std::size_t len = std::strlen(name);
  while ((at = head.find("\r\n", at)) != std::string::npos) {
    at += 2;
    if (head.size() - at > len && strncasecmp(head.c_str() + at, name, len) == 0 &&
        head[at + len] == ':') {
      std::size_t v = at + len + 1;
      while (v < head.size() && head[v] == ' ') ++v;
      return head.substr(v, head.find("\r\n", v) - v);
    }
  }
  return {};
}

std::string queryParam(const std::string& path, const std::string& name) {
  const auto q = path.find('?');
  if (q == std::string::npos) return {};
  std::size_t at = q + 1;
  while (at < path.size()) {
    const auto amp = path.find('&', at);
    const std::string kv = path.substr(at, amp == std::string::npos ? std::string::npos : amp - at);
    const auto eq = kv.find('=');
    if (kv.substr(0, eq) == name) return eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (amp == std::string::npos) break;
    at = amp + 1;
  }
  return {};
}

void Server::head(Conn& c, const std::string& h) {
  const auto sp1 = h.find(' '), sp2 = h.find(' ', sp1 + 1);
  const std::string method = h.substr(0, sp1), path = h.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string key = headerOf(h, "Sec-WebSocket-Key");
  if (o_.mode == "ws") {
    if (key.empty()) return closeConn(c.fd);
    return wsHandshake(c, key, "");
  }
  if (o_.mode == "deepgram") return deepgramHead(c, path, headerOf(h, "Authorization"), key);
  // sse: skip the request body, then stream.
  const long length = std::atol(headerOf(h, "Content-Length").c_str());
  if (static_cast<long>(c.in.size()) < length) {
    // Bodies here are a few KiB and arrive with the head; keep it simple and wait for the rest.
    c.phase = Conn::Phase::kBody;
    c.body_left = static_cast<std::size_t>(length);
    // Read the rest synchronously: the peer is on loopback and has written it already.
    while (c.in.size() < c.body_left) {
      char buf[16384];
      const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN)) return closeConn(c.fd);
      if (n > 0) c.in.append(buf, static_cast<std::size_t>(n));
    }
  }
  c.in.clear();
  startSse(c, method, path);
}

// ---- sse ------------------------------------------------------------------------------------

void chunked(std::string& out, std::string_view data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  out += size;
  out.append(data);
  out += "\r\n";
}

void Server::startSse(Conn& c, const std::string& method, const std::string& path) {
  c.openai = method == "POST" && path.rfind("/v1/chat/completions", 0) == 0;
  c.phase = Conn::Phase::kStreaming;
  ++streams_;
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  if (c.openai)
    chunked(out,
            "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":"
            "1767225600,\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
            "\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
  write(c, out);
  const auto period = static_cast<std::int64_t>(1e9 / o_.rate);
  c.next_due = monoNs() + static_cast<std::int64_t>(random_() % static_cast<std::uint64_t>(period));
  armTimer();
}

void Server::sseEvent(Conn& c) {
  std::string event;
  if (c.sent >= o_.chunks) {
    if (c.openai) {
      chunked(event,
              "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":"
              "1767225600,\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{},"
              "\"finish_reason\":\"stop\"}]}\n\n");
      chunked(event,
              "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":"
              "1767225600,\"model\":\"bench\",\"choices\":[],\"usage\":{\"prompt_tokens\":90,"
              "\"completion_tokens\":" +
                  std::to_string(c.sent) + ",\"total_tokens\":" + std::to_string(90 + c.sent) +
                  "}}\n\n");
      chunked(event, "data: [DONE]\n\n");
    } else {
      chunked(event, "event: end\ndata: end\n\n");
    }
    event += "0\r\n\r\n";
    c.phase = Conn::Phase::kClosing;
    write(c, event);
    if (c.out.empty()) closeConn(c.fd);
    return;
  }
  const long k = c.sent++;
  ++events_;
  if (c.openai) {
    const std::string s = bench::stamp();
    chunked(event,
            "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":"
            "1767225600,\"model\":\"bench\",\"system_fingerprint\":\"fp_bench\",\"choices\":[{"
            "\"index\":0,\"delta\":{\"content\":\" w" +
                std::to_string(k) + s + "\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
  } else {
    const std::string s = bench::stamp();
    chunked(event,
            "data: seq=" + std::to_string(k) + " " + std::string(o_.pad, 'x') + " " + s + "\n\n");
  }
  write(c, event);
}

void Server::tick() {
  const std::int64_t now = monoNs();
  const auto period = static_cast<std::int64_t>(1e9 / o_.rate);
  std::vector<int> due;
  for (auto& [fd, c] : conns_)
    if (c.phase == Conn::Phase::kStreaming && c.next_due <= now) due.push_back(fd);
  for (int fd : due) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) continue;
    Conn& c = it->second;
    c.next_due += period;
    if (c.next_due < now) c.next_due = now + period;  // behind: skip, do not burst
    sseEvent(c);
  }
  armTimer();
}

void Server::armTimer() {
  std::int64_t next = INT64_MAX;
  for (auto& [fd, c] : conns_)
    if (c.phase == Conn::Phase::kStreaming) next = std::min(next, c.next_due);
  itimerspec spec{};
  if (next != INT64_MAX) {
    next = std::max<std::int64_t>(next, 1);
    spec.it_value.tv_sec = next / 1000000000;
    spec.it_value.tv_nsec = next % 1000000000;
  }
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

// ---- websockets -----------------------------------------------------------------------------

std::string acceptKey(const std::string& key) {
  const std::string in = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  unsigned char b64[64];
  const int n = EVP_EncodeBlock(b64, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n));
}

void Server::wsHandshake(Conn& c, const std::string& key, const std::string& extra_headers) {
  c.phase = Conn::Phase::kWebSocket;
  ++streams_;
  write(c,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
            acceptKey(key) + "\r\n" + extra_headers + "\r\n");
  if (!c.in.empty()) wsFrames(c);
}

void Server::wsFrames(Conn& c) {
  const int fd = c.fd;
  bool close_now = false;
  bench::parseFrames(c.in, [&](int op, std::string_view payload) {
    if (close_now) return;
    if (op == bench::kPing) return write(c, bench::encodeFrame(bench::kPong, payload, false));
    if (op == bench::kClose) {
      write(c, bench::encodeFrame(bench::kClose, payload.substr(0, 2), false));
      close_now = true;
      return;
    }
    if (!c.dg) return;  // the idle peer ignores data
    if (op == bench::kBinary) return deepgramAudio(c, payload.size());
    if (op != bench::kText) return;
    if (payload.find("\"KeepAlive\"") != std::string_view::npos) return;
    if (payload.find("\"Finalize\"") != std::string_view::npos) {
      if (!c.dg->finalized) {
        int heard = 0;
        while (heard < o_.words && wordStart(*c.dg, heard) + 0.24 <= c.dg->clock()) ++heard;
        if (heard > 0) deepgramFinal(c, heard, false, true);
      }
      return;
    }
    if (payload.find("\"CloseStream\"") != std::string_view::npos) {
      DeepgramStream& s = *c.dg;
      sendText(c, "{\"type\":\"Metadata\",\"transaction_key\":\"deprecated\",\"request_id\":\"" +
                      s.request_id +
                      "\",\"sha256\":\"\",\"created\":\"2026-01-01T00:00:00.000Z\","
                      "\"duration\":" +
                      std::to_string(s.clock()) +
                      ",\"channels\":1,\"models\":[\"bench\"],\"model_info\":{}}");
      write(c, bench::encodeFrame(bench::kClose, std::string("\x03\xe8", 2), false));
      c.phase = Conn::Phase::kClosing;
      return;
    }
    sendText(
        c,
        R"({"type":"Error","variant":"SchemaError","description":"could not parse client message"})");
  });
  if (!conns_.count(fd)) return;
  if (close_now) {
    c.phase = Conn::Phase::kClosing;
    if (c.out.empty()) closeConn(fd);
  }
}

// ---- deepgram -------------------------------------------------------------------------------

void Server::deepgramHead(Conn& c, const std::string& path, const std::string& auth,
                          const std::string& key) {
  const std::string rid = "00000000-0000-4000-8000-" + [&] {
    char b[16];
    std::snprintf(b, sizeof b, "%012ld", accepted_);
    return std::string(b);
  }();
  auto refuse = [&](int status, const char* phrase, const char* code, const char* message) {
    ++refused_;
    const std::string body = std::string("{\"err_code\":\"") + code + "\",\"err_msg\":\"" +
                             message + "\",\"request_id\":\"" + rid + "\"}";
    c.phase = Conn::Phase::kClosing;
    write(c, "HTTP/1.1 " + std::to_string(status) + " " + phrase +
                 "\r\nContent-Type: application/json\r\ndg-request-id: " + rid +
                 "\r\nContent-Length: " + std::to_string(body.size()) +
                 "\r\nConnection: close\r\n\r\n" + body);
    if (c.out.empty()) closeConn(c.fd);
  };
  if (path.rfind("/v1/listen", 0) != 0) return refuse(404, "Not Found", "NOT_FOUND", "Not found.");
  if (auth != "Token " + o_.api_key)
    return refuse(401, "Unauthorized", "INVALID_AUTH", "Invalid credentials.");
  if (key.empty()) return refuse(400, "Bad Request", "Bad Request", "Not a websocket upgrade.");
  auto s = std::make_unique<DeepgramStream>();
  s->request_id = rid;
  if (auto v = queryParam(path, "sample_rate"); !v.empty()) s->rate = std::atoi(v.c_str());
  if (auto v = queryParam(path, "channels"); !v.empty()) s->channels = std::atoi(v.c_str());
  s->interim = queryParam(path, "interim_results") == "true";
  s->vad = queryParam(path, "vad_events") == "true";
  if (auto v = queryParam(path, "endpointing"); !v.empty() && v != "false" && v != "true")
    s->endpointing = std::atoi(v.c_str()) / 1000.0;
  const auto ue = queryParam(path, "utterance_end_ms");
  s->utterance_end = s->interim && !ue.empty();
  if (!ue.empty()) s->ue_delay = std::atoi(ue.c_str()) / 1000.0;
  if (s->rate <= 0 || s->channels <= 0)
    return refuse(400, "Bad Request", "Bad Request", "Invalid value for sample_rate");
  c.dg = std::move(s);
  wsHandshake(c, key, "dg-request-id: " + rid + "\r\n");
}

void Server::deepgramAudio(Conn& c, std::size_t n) {
  c.dg->bytes += n;
  ++c.dg->frames;
  audio_bytes_ += n;
  ++audio_frames_;
  deepgramStep(c);
}

std::string Server::results(DeepgramStream& s, int from, int upto, double start, double end,
                            bool is_final, bool speech_final, bool from_finalize, bool stamped) {
  std::string words = "[", transcript;
  double conf = 0;
  char num[160];
  for (int i = from; i < upto; ++i) {
    const double ws = wordStart(s, i);
    std::string w = wordOf(s, i);
    std::string punct =
        i == 0 ? std::string(1, static_cast<char>(std::toupper(w[0]))) + w.substr(1) : w;
    if (stamped && i == upto - 1) w = punct = bench::stamp();
    std::snprintf(num, sizeof num, "\"start\":%.2f,\"end\":%.2f,\"confidence\":%.4f", ws, ws + 0.24,
                  0.95);
    if (i > from) words += ",";
    words += "{\"word\":\"" + w + "\"," + num + ",\"punctuated_word\":\"" + punct + "\"}";
    if (!transcript.empty()) transcript += " ";
    transcript += punct;
    conf += 0.95;
  }
  words += "]";
  std::snprintf(num, sizeof num, "\"duration\":%.4f,\"start\":%.4f,", end - start, start);
  std::string m = std::string("{\"type\":\"Results\",\"channel_index\":[0,1],") + num +
                  "\"is_final\":" + (is_final ? "true" : "false") +
                  ",\"speech_final\":" + (speech_final ? "true" : "false") +
                  ",\"from_finalize\":" + (from_finalize ? "true" : "false") +
                  ",\"channel\":{\"alternatives\":[{\"transcript\":\"" + transcript +
                  "\",\"confidence\":" + std::to_string(upto > from ? conf / (upto - from) : 0.0) +
                  ",\"words\":" + words + "}]},\"metadata\":{\"request_id\":\"" + s.request_id +
                  "\",\"model_uuid\":\"1dbdfb4d-85b2-4659-9f4b-e6e6a5f8b1b6\",\"model_info\":{"
                  "\"name\":\"general-nova-3\",\"version\":\"2025-01-01.1\",\"arch\":\"nova-3\"}}}";
  return m;
}

void Server::deepgramFinal(Conn& c, int upto, bool speech_final, bool from_finalize) {
  DeepgramStream& s = *c.dg;
  const double end = from_finalize ? s.clock() : wordStart(s, o_.words - 1) + 0.24 + s.endpointing;
  ++finals_;
  // The stamp is read here, as the message is built and written.
  sendText(c,
           results(s, 0, upto, s.seg_start, end, true, speech_final, from_finalize, speech_final));
  s.seg_start = end;
  s.finalized = true;
  s.interim_upto = upto;
  s.ue_due = wordStart(s, o_.words - 1) + 0.24 + s.ue_delay;
}

void Server::deepgramStep(Conn& c) {
  DeepgramStream& s = *c.dg;
  const double clock = s.clock();
  for (int guard = 0; guard < 8; ++guard) {
    if (s.vad && !s.started_sent && clock >= wordStart(s, 0)) {
      char m[128];
      std::snprintf(m, sizeof m,
                    "{\"type\":\"SpeechStarted\",\"channel\":[0,1],\"timestamp\":%.2f}",
                    wordStart(s, 0));
      sendText(c, m);
      s.started_sent = true;
    }
    if (!s.finalized) {
      const double last_end = wordStart(s, o_.words - 1) + 0.24;
      if (clock < last_end + s.endpointing) {
        int heard = 0;
        while (heard < o_.words && wordStart(s, heard) + 0.24 <= clock) ++heard;
        if (s.interim && heard > s.interim_upto && clock - s.interim_at >= 0.1 - 1e-9) {
          ++interims_;
          s.interim_upto = heard;
          s.interim_at = clock;
          sendText(c, results(s, 0, heard, s.seg_start, clock, false, false, false, false));
        }
        return;
      }
      deepgramFinal(c, o_.words, true, false);
      continue;
    }
    if (s.utterance_end && clock < s.ue_due) return;
    if (s.utterance_end) {
      char m[128];
      std::snprintf(m, sizeof m,
                    "{\"type\":\"UtteranceEnd\",\"channel\":[0,1],\"last_word_end\":%.2f}",
                    wordStart(s, o_.words - 1) + 0.24);
      sendText(c, m);
    }
    ++s.u;
    s.started_sent = s.finalized = false;
    s.interim_upto = 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: see the comment at the top of bench/upstreams/fakes.cpp\n");
    return 64;
  }
  Options o;
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--rate")
      o.rate = std::atof(v.c_str());
    else if (k == "--chunks")
      o.chunks = std::atol(v.c_str());
    else if (k == "--pad")
      o.pad = static_cast<std::size_t>(std::atol(v.c_str()));
    else if (k == "--api-key")
      o.api_key = v;
    else if (k == "--cycle")
      o.cycle = std::atof(v.c_str());
    else if (k == "--words")
      o.words = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 64;
    }
  }
  if (o.mode != "sse" && o.mode != "ws" && o.mode != "deepgram") return 64;
  if (o.rate <= 0 || o.words < 1 || o.cycle < 0.3 * o.words + 1.5) {
    std::fprintf(stderr,
                 "bad --rate, --words or --cycle (an utterance and its UtteranceEnd must fit)\n");
    return 64;
  }
  return Server(o).run();
}
