// One outbound TCP connection, optionally TLS, on an event loop: resolve (off the loop), connect,
// handshake, then bytes both ways with a write buffer, read pause, and the timeouts of
// sdk::UpstreamTimeouts. The protocol on top (websocket or HTTP) is its Listener.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/net/event_loop.hpp"
#include "core/upstream/endpoint.hpp"
#include "parley/sdk/metrics.hpp"
#include "parley/sdk/upstreams.hpp"

typedef struct ssl_st SSL;

namespace parley::core {

class Resolver;
struct UpstreamInstruments;
namespace net {
class TlsContext;
}

class ClientStream final : public net::IoHandler,
                           public std::enable_shared_from_this<ClientStream> {
 public:
  using Kind = sdk::UpstreamResult::Kind;
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void onConnected() = 0;                          // ready: write the request
    virtual void onData(std::string_view bytes) = 0;         // received, decrypted
    virtual void onDrained() {}                              // everything written
    virtual void onEnd(const sdk::UpstreamResult& why) = 0;  // the connection is over
  };

  ClientStream(net::EventLoop& loop, Resolver& resolver, const net::TlsContext& tls,
               UpstreamInstruments& instruments, Endpoint endpoint,
               const sdk::UpstreamTimeouts& timeouts, std::weak_ptr<Listener> listener);
  ~ClientStream() override;

  void start();
  // Queues bytes and writes what the socket takes now. False once the stream has ended.
  bool write(std::string_view bytes);
  std::size_t pending() const { return out_.size() - out_off_; }
  void pauseReading();
  void resumeReading();
  // The request is out: the first byte of the answer must come within timeouts.first_byte.
  void awaitFirstByte();
  // Ends the connection now: the socket is closed and the listener hears nothing more.
  void close();
  bool ended() const { return ended_; }

  void onIo(std::uint32_t events) override;

 private:
  enum class Phase { kResolving, kConnecting, kHandshaking, kOpen };
  void resolved(const std::vector<sockaddr_storage>& addresses, const std::string& error);
  void connectNext();
  void connected();
  void handshake();
  void readSome();
  void flush();
  void updateInterest();
  void arm(std::chrono::milliseconds after, const char* what);
  void fail(Kind kind, std::string message);
  void end(const sdk::UpstreamResult& why);

  net::EventLoop& loop_;
  Resolver& resolver_;
  const net::TlsContext& tls_;
  UpstreamInstruments& instruments_;
  Endpoint endpoint_;
  sdk::UpstreamTimeouts timeouts_;
  std::weak_ptr<Listener> listener_;
  Phase phase_ = Phase::kResolving;
  std::vector<sockaddr_storage> addresses_;
  std::size_t next_address_ = 0;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool watched_ = false;
  std::uint32_t interest_ = 0;
  bool want_write_ = false;      // the socket (or TLS) waits to be writable
  bool tls_wants_read_ = false;  // a TLS write waits for a read (renegotiation, key update)
  bool paused_ = false;
  bool ended_ = false;
  bool awaiting_first_byte_ = false;
  std::string out_;
  std::size_t out_off_ = 0;
  std::chrono::steady_clock::time_point handshake_started_;
  // One timer for the phase in hand (connect, handshake, first byte, idle); one for the total.
  net::EventLoop::TimerId phase_timer_ = 0;
  net::EventLoop::TimerId total_timer_ = 0;
  std::chrono::steady_clock::time_point last_read_;
};

// What every upstream connection counts, registered by the core as parley_upstream_*.
struct UpstreamInstruments {
  std::shared_ptr<sdk::CategoryCounter> connects;  // by protocol: websocket, http
  std::shared_ptr<sdk::CategoryCounter> failures;  // by UpstreamResult::Kind, kOk never counted
  std::shared_ptr<sdk::Gauge> open;
  std::shared_ptr<sdk::Histogram> tls_handshake_ms;
};

}  // namespace parley::core
