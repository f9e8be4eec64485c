// The fake upstreams of tests/fakes (Deepgram's live API, an OpenAI-compatible streaming server)
// as processes: started on a free loopback port, their event logs read back, stopped by PID. A
// real redis-server, the same way. And a certificate authority made by the test, for TLS.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "parley/sdk/json.hpp"
#include "tests/support/parleyd_process.hpp"

namespace parley::test {

class FakeServer {
 public:
  // `script`: a file in tests/fakes; `args`: its options (--port and --log are added).
  FakeServer(const std::string& script, const std::vector<std::string>& args = {});
  std::uint16_t port() const { return port_; }
  // The events it logged so far (one JSON object per line).
  std::vector<sdk::json::Value> events() const;
  std::vector<sdk::json::Value> events(const std::string& name) const;
  // Waits until an event satisfies `match`; false after `timeout`.
  bool waitFor(const std::function<bool(const sdk::json::Value&)>& match,
               std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  void stop() { process_.reset(); }

 private:
  std::unique_ptr<TempDir> dir_;
  std::string log_;
  std::unique_ptr<Background> process_;
  std::uint16_t port_ = 0;
};

// A redis-server of the test's own, on a free loopback port, without persistence.
class RedisServer {
 public:
  RedisServer();  // started, answering PING
  void start();   // again, after stop(), on the same port
  void stop() { server_.reset(); }
  std::uint16_t port() const { return port_; }
  // How many instances subscribe to the room's fanout channel (room:{id}:events).
  int subscribers(const std::string& room) const;

 private:
  std::uint16_t port_;
  std::unique_ptr<Background> server_;
};

// Sends one RESP command to the Redis at `port` and returns the raw reply.
std::string resp(std::uint16_t port, const std::vector<std::string>& args);

// A CA and a server certificate for 127.0.0.1 and localhost, made with the openssl CLI.
struct TestCa {
  explicit TestCa(const std::string& tag);
  std::unique_ptr<TempDir> dir;
  std::string ca;    // the CA's certificate: what upstream.tls_ca_file trusts
  std::string cert;  // the server's certificate and key
  std::string key;
};

}  // namespace parley::test
