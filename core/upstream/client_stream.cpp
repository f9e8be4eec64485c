#include "core/upstream/client_stream.hpp"

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/net/socket.hpp"
#include "core/net/tls.hpp"
#include "core/upstream/resolver.hpp"

namespace parley::core {

using Clock = std::chrono::steady_clock;

ClientStream::ClientStream(net::EventLoop& loop, Resolver& resolver, const net::TlsContext& tls,
                           UpstreamInstruments& instruments, Endpoint endpoint,
                           const sdk::UpstreamTimeouts& timeouts, std::weak_ptr<Listener> listener)
    : loop_(loop),
      resolver_(resolver),
      tls_(tls),
      instruments_(instruments),
      endpoint_(std::move(endpoint)),
      timeouts_(timeouts),
      listener_(std::move(listener)) {}

ClientStream::~ClientStream() {
  if (ssl_) SSL_free(ssl_);
  net::closeFd(fd_);
}

void ClientStream::start() {
  arm(timeouts_.connect, "connect");
  if (timeouts_.total.count() > 0) {
    std::weak_ptr<ClientStream> weak = shared_from_this();
    total_timer_ = loop_.after(timeouts_.total, [weak] {
      if (auto self = weak.lock()) {
        self->total_timer_ = 0;
        self->fail(Kind::kTimeout, "no complete answer within the total timeout");
      }
    });
  }
  std::weak_ptr<ClientStream> weak = shared_from_this();
  net::EventLoop* loop = &loop_;
  resolver_.resolve(
      endpoint_.host, endpoint_.port,
      [weak, loop](const std::vector<sockaddr_storage>& addresses, const std::string& error) {
        auto deliver = [weak, addresses, error] {
          if (auto self = weak.lock()) self->resolved(addresses, error);
        };
        if (loop->inLoopThread())
          deliver();
        else
          loop->post(std::move(deliver));
      });
}

void ClientStream::resolved(const std::vector<sockaddr_storage>& addresses,
                            const std::string& error) {
  if (ended_) return;
  if (!error.empty() || addresses.empty())
    return fail(Kind::kResolve, error.empty() ? "no address for " + endpoint_.host : error);
  addresses_ = addresses;
  phase_ = Phase::kConnecting;
  connectNext();
}

void ClientStream::connectNext() {
  std::string last_error = "no address left to try";
  while (next_address_ < addresses_.size()) {
    const sockaddr_storage& a = addresses_[next_address_++];
    if (watched_) loop_.unwatch(fd_);
    watched_ = false;
    net::closeFd(fd_);
    fd_ = ::socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    net::setNoDelay(fd_);
    const socklen_t size = a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&a), size) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      continue;
    }
    want_write_ = true;  // writable = connected (or failed: SO_ERROR says)
    interest_ = EPOLLOUT;
    if (!(watched_ = loop_.watch(fd_, interest_, this)))
      return fail(Kind::kConnect, "epoll refused");
    return;
  }
  fail(Kind::kConnect, "cannot connect to " + endpoint_.host + ":" +
                           std::to_string(endpoint_.port) + ": " + last_error);
}

void ClientStream::onIo(std::uint32_t events) {
  if (ended_) return;
  auto self = shared_from_this();
  if (phase_ == Phase::kConnecting) {
    int error = 0;
    socklen_t size = sizeof error;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      const std::string why = std::strerror(error ? error : ECONNREFUSED);
      if (next_address_ < addresses_.size()) return connectNext();
      return fail(Kind::kConnect, "cannot connect to " + endpoint_.host + ":" +
                                      std::to_string(endpoint_.port) + ": " + why);
    }
    if (events & EPOLLOUT) return connected();
    return;
  }
  if (phase_ == Phase::kHandshaking) return handshake();
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    if (tls_wants_read_) {  // a TLS write was waiting for this read
      tls_wants_read_ = false;
      flush();
    }
    if (!ended_ && !paused_) readSome();
  }
  if (!ended_ && (events & EPOLLOUT)) flush();
}

void ClientStream::connected() {
  want_write_ = false;
  if (endpoint_.tls) {
    ssl_ = tls_.newClient(fd_, endpoint_.host);
    if (!ssl_) return fail(Kind::kTls, net::tlsError("cannot start TLS for " + endpoint_.host));
    phase_ = Phase::kHandshaking;
    handshake_started_ = Clock::now();
    arm(timeouts_.tls_handshake, "TLS handshake");
    return handshake();
  }
  phase_ = Phase::kOpen;
  last_read_ = Clock::now();
  arm(timeouts_.idle, "idle");
  updateInterest();
  if (auto l = listener_.lock()) l->onConnected();
}

void ClientStream::handshake() {
  ERR_clear_error();
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    instruments_.tls_handshake_ms->observe(
        std::chrono::duration<double, std::milli>(Clock::now() - handshake_started_).count());
    phase_ = Phase::kOpen;
    want_write_ = false;
    last_read_ = Clock::now();
    arm(timeouts_.idle, "idle");
    updateInterest();
    if (auto l = listener_.lock()) l->onConnected();
    return;
  }
  const int error = SSL_get_error(ssl_, rc);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    want_write_ = error == SSL_ERROR_WANT_WRITE;
    return updateInterest();
  }
  std::string why = net::tlsError("the handshake failed");
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK)
    why = std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
  fail(Kind::kTls, "TLS with " + endpoint_.host + ": " + why);
}

bool ClientStream::write(std::string_view bytes) {
  if (ended_) return false;
  out_.append(bytes);
  if (phase_ == Phase::kOpen && !want_write_ && !tls_wants_read_) flush();
  return !ended_;
}

void ClientStream::flush() {
  while (!ended_ && out_off_ < out_.size()) {
    const char* data = out_.data() + out_off_;
    const std::size_t size = out_.size() - out_off_;
    ssize_t n;
    if (ssl_) {
      ERR_clear_error();
      n = SSL_write(ssl_, data, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
      if (n <= 0) {
        const int error = SSL_get_error(ssl_, static_cast<int>(n));
        if (error == SSL_ERROR_WANT_WRITE) {
          want_write_ = true;
          return updateInterest();
        }
        if (error == SSL_ERROR_WANT_READ) {
          tls_wants_read_ = true;
          return updateInterest();
        }
        return fail(Kind::kClosed, "TLS write failed: " + net::tlsError("the connection broke"));
      }
    } else {
      n = ::send(fd_, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          want_write_ = true;
          return updateInterest();
        }
        return fail(Kind::kClosed, std::string("write failed: ") + std::strerror(errno));
      }
    }
    out_off_ += static_cast<std::size_t>(n);
  }
  if (ended_) return;
  out_.clear();
  out_off_ = 0;
  if (want_write_) {
    want_write_ = false;
    updateInterest();
  }
  if (auto l = listener_.lock()) l->onDrained();
}

void ClientStream::readSome() {
  char buf[16 * 1024];
  for (int turns = 0; turns < 4 && !ended_ && !paused_; ++turns) {
    ssize_t n;
    if (ssl_) {
      ERR_clear_error();
      n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) {
        const int error = SSL_get_error(ssl_, static_cast<int>(n));
        if (error == SSL_ERROR_WANT_READ) return;
        if (error == SSL_ERROR_WANT_WRITE) {
          want_write_ = true;
          return updateInterest();
        }
        if (error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && errno == 0))
          return fail(Kind::kClosed, "the peer closed the connection");
        return fail(Kind::kClosed, "TLS read failed: " + net::tlsError("the connection broke"));
      }
    } else {
      n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return fail(Kind::kClosed, "the peer closed the connection");
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        return fail(Kind::kClosed, std::string("read failed: ") + std::strerror(errno));
      }
    }
    last_read_ = Clock::now();
    if (awaiting_first_byte_) {
      awaiting_first_byte_ = false;
      arm(timeouts_.idle, "idle");
    }
    auto l = listener_.lock();
    if (!l) return close();
    l->onData(std::string_view(buf, static_cast<std::size_t>(n)));
    // TLS may hold decrypted bytes the socket no longer signals.
    if (ssl_ && SSL_pending(ssl_) == 0 && static_cast<std::size_t>(n) < sizeof buf) return;
    if (!ssl_ && static_cast<std::size_t>(n) < sizeof buf) return;
  }
}

void ClientStream::pauseReading() {
  if (paused_) return;
  paused_ = true;
  updateInterest();
}

void ClientStream::resumeReading() {
  if (!paused_ || ended_) return;
  paused_ = false;
  last_read_ = Clock::now();  // the silence was ours
  updateInterest();
  // TLS may already hold records read before the pause.
  if (ssl_ && SSL_pending(ssl_) > 0) {
    std::weak_ptr<ClientStream> weak = shared_from_this();
    loop_.post([weak] {
      if (auto self = weak.lock(); self && !self->ended_ && !self->paused_) self->readSome();
    });
  }
}

void ClientStream::awaitFirstByte() {
  if (ended_ || phase_ != Phase::kOpen) return;
  awaiting_first_byte_ = true;
  arm(timeouts_.first_byte, "first byte");
}

void ClientStream::updateInterest() {
  if (ended_ || !watched_) return;
  std::uint32_t events = 0;
  if (phase_ == Phase::kHandshaking)
    events = want_write_ ? EPOLLOUT : EPOLLIN;
  else
    events =
        ((!paused_ || tls_wants_read_) ? EPOLLIN | EPOLLRDHUP : 0u) | (want_write_ ? EPOLLOUT : 0u);
  if (events == interest_) return;
  if (!loop_.change(fd_, events, this)) return fail(Kind::kConnect, "epoll refused");
  interest_ = events;
}

// The phase's deadline. Idle is re-armed lazily: reads only move last_read_.
void ClientStream::arm(std::chrono::milliseconds after, const char* what) {
  if (phase_timer_) loop_.cancel(phase_timer_);
  phase_timer_ = 0;
  if (after.count() <= 0) return;
  std::weak_ptr<ClientStream> weak = weak_from_this();
  const bool idle = std::strcmp(what, "idle") == 0;
  phase_timer_ = loop_.after(after, [weak, what, idle, after] {
    auto self = weak.lock();
    if (!self || self->ended_) return;
    self->phase_timer_ = 0;
    if (idle) {
      if (self->paused_) return self->arm(after, what);  // our pause is not the peer's silence
      const auto quiet = Clock::now() - self->last_read_;
      if (quiet < after)
        return self->arm(std::chrono::duration_cast<std::chrono::milliseconds>(after - quiet) +
                             std::chrono::milliseconds(1),
                         what);
    }
    self->fail(Kind::kTimeout, std::string("no ") + (idle ? "data" : what) + " within " +
                                   std::to_string(after.count()) + " ms (" + what + " timeout)");
  });
}

void ClientStream::fail(Kind kind, std::string message) {
  sdk::UpstreamResult why;
  why.kind = kind;
  why.message = std::move(message);
  end(why);
}

void ClientStream::end(const sdk::UpstreamResult& why) {
  if (ended_) return;
  close();
  if (why.kind != Kind::kOk) instruments_.failures->inc(static_cast<std::size_t>(why.kind) - 1);
  if (auto l = listener_.lock()) l->onEnd(why);
}

void ClientStream::close() {
  if (ended_) return;
  ended_ = true;
  if (phase_timer_) loop_.cancel(phase_timer_);
  if (total_timer_) loop_.cancel(total_timer_);
  phase_timer_ = total_timer_ = 0;
  if (watched_) loop_.unwatch(fd_);
  watched_ = false;
  if (ssl_) {
    SSL_free(ssl_);  // no close_notify: closing is at once, and the peer sees the FIN
    ssl_ = nullptr;
  }
  net::closeFd(fd_);
  fd_ = -1;
  loop_.retire(shared_from_this());  // other events for it may be in this iteration's batch
}

}  // namespace parley::core
