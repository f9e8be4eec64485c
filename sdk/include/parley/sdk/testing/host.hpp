// ParleySDK::testing: runs one plugin in process, with no parleyd, for unit tests.
//
//   parley::sdk::testing::TestHost host(plugin, {{"greeting", "hi"}});
//   host.start();
//   auto& s = host.connect({{"room_id", "..."}});   // a fake session
//   s.receive(R"({"type":"ping"})");
//   host.advance(std::chrono::seconds(5));          // the manual clock; due timers run
//   EXPECT_EQ(s.sent("pong").size(), 1u);
//
// Everything runs on the test's thread: posted tasks and due timers run in run() and advance(),
// worker handlers and offloaded work run in place, upstream connections are scripted peers the
// test drives (ScriptedWebSocket, ScriptedHttp). The plugin sees the same SDK interfaces it sees
// in parleyd.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parley/sdk/plugin.hpp"

namespace parley::sdk::testing {

class TestHost;
struct HostState;

// A session as the plugin sees it, driven by the test as its client.
class PARLEY_SDK_API FakeSession : public Session {
 public:
  ~FakeSession() override;

  // The client's side.
  void receive(const std::string& json);  // a text message, dispatched as parleyd does
  void receiveBinary(std::string_view bytes);
  void disconnect(DisconnectReason reason = DisconnectReason::kClientDisconnect);
  // What the plugin sent this session, in order: every text frame, or the parsed ones of a type.
  const std::vector<std::string>& frames() const;
  std::vector<json::Value> sent(std::string_view type = {}) const;
  void clearSent();
  bool paused() const;
  // Set once the session ended: the reason it ended with.
  std::optional<DisconnectReason> closedWith() const;
  // The close frame the plugin ended it with (stop(): 1000); 0 when the client disconnected.
  int closeCode() const;
  const std::string& closeText() const;

  // Session
  const SessionInfo& info() const override;
  bool open() const override;
  void send(std::string json) override;
  void send(const EncodedFrame& frame) override;
  std::size_t queuedBytes() const override;
  void stop(DisconnectReason reason) override;
  Scope& scope() override;
  void pauseReading() override;
  void resumeReading() override;
  const json::Value& claims() const override;
  SessionHandler* attached(const std::string& plugin_id) const override;
  void close(DisconnectReason reason, int code, const std::string& text) override;

  struct Impl;

 private:
  friend class TestHost;
  friend struct HostState;
  explicit FakeSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The far end of a websocket the plugin opened, scripted by the test.
class PARLEY_SDK_API ScriptedWebSocket {
 public:
  const WebSocketRequest& request() const;
  // The peer's side.
  void accept(const Fields& headers = {}, const std::string& subprotocol = {});
  void refuse(int status, const std::string& body = {});
  void fail(UpstreamResult::Kind kind, const std::string& message);
  void sendText(const std::string& text);
  void sendBinary(const std::string& bytes);
  void close(int code = 1000, const std::string& reason = {});
  // What the plugin's client did.
  const std::vector<std::string>& textsReceived() const;
  std::size_t binaryBytesReceived() const;
  std::size_t binaryFramesReceived() const;
  bool clientClosed() const;  // close() called
  int clientCloseCode() const;
  bool dropped() const;  // the handle was destroyed: the socket is gone
  bool readingPaused() const;
  // Backpressure: what queuedBytes() reports until drained(); drained() calls on_drain.
  void setQueuedBytes(std::size_t bytes);
  void drained();

  struct Impl;
  explicit ScriptedWebSocket(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<Impl> impl_;
};

// The far end of an HTTP request the plugin made, scripted by the test.
class PARLEY_SDK_API ScriptedHttp {
 public:
  const HttpRequest& request() const;
  void respond(int status, const Fields& headers = {});
  void body(const std::string& piece);
  void finish();
  void fail(UpstreamResult::Kind kind, const std::string& message);
  bool cancelled() const;  // the plugin dropped the exchange
  bool readingPaused() const;

  struct Impl;
  explicit ScriptedHttp(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<Impl> impl_;
};

class PARLEY_SDK_API TestHost {
 public:
  using Clock = std::chrono::steady_clock;

  // `config`: plugins.<id>.<key> values, without the prefix; checked against the plugin's keys.
  explicit TestHost(Plugin& plugin, std::map<std::string, std::string> config = {});
  ~TestHost();  // stops the plugin as parleyd does: revoke, stop()
  TestHost(const TestHost&) = delete;
  TestHost& operator=(const TestHost&) = delete;

  void start();  // configure() and start(); throws what they throw
  void stop();

  // Runs posted tasks and due timers until none is left.
  void run();
  // Moves the manual clock forward, running what falls due on the way, in order.
  void advance(std::chrono::milliseconds by);
  Clock::time_point now() const;

  // A new session (open handlers and attached handlers run). `query` as in the upgrade URL.
  FakeSession& connect(const Fields& query = {}, const std::string& user = "tester",
                       json::Value claims = {});

  // Metrics the plugin registered: a counter's, gauge's or computed gauge's value, a category
  // counter's total; an average's snapshot. Throws std::out_of_range for an unknown name.
  std::int64_t value(const std::string& name) const;
  std::uint64_t category(const std::string& name, std::size_t index) const;
  Histogram::Snapshot average(const std::string& name) const;

  // Events: publish one as another plugin would; what the plugin published, by topic.
  void publish(const Event& event);
  // Several events published one after the other before anything else runs, as a plugin
  // publishes them from one callback; then run().
  void publish(const std::vector<Event>& events);
  std::vector<Event> published(const std::string& topic) const;

  // Services of other plugins the plugin depends on: offer a fake before start().
  template <class T>
  void offer(const std::string& name, std::shared_ptr<T> service) {
    offerRaw(name, std::move(service), typeid(T).name());
  }

  // The plugin's upstream connections, in the order it opened them.
  std::vector<ScriptedWebSocket> webSockets() const;
  std::vector<ScriptedHttp> httpRequests() const;

  // An HTTP request to the plugin's routes (auth as `principal`; verifier routes ask the
  // plugin's verifier).
  Response request(const std::string& method, const std::string& target,
                   const std::string& body = {}, Principal principal = {"tester", false});
  // What the plugin's verifier of `param` (for a websocket upgrade to /ws/voice with `query`) and
  // its admission checks decide.
  Grant verify(const std::string& param, const Fields& query);
  Grant admit(const Fields& query, const std::string& participant, const json::Value& claims,
              bool is_operator = false);

  const std::vector<std::string>& logs() const;  // "level: message" lines

 private:
  void offerRaw(const std::string& name, std::shared_ptr<void> service, const char* type);
  std::shared_ptr<HostState> state_;
};

}  // namespace parley::sdk::testing
