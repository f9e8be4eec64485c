// The core's upstream client at its entry points: a URL it cannot use is a failure reported like
// any other (on the scope, after the call, only while the handle lives), never an exception.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "core/net/event_loop.hpp"
#include "core/net/scope.hpp"
#include "core/runtime/worker_pool.hpp"
#include "core/upstream/upstream_client.hpp"

namespace parley::core {
namespace {

using namespace std::chrono_literals;

struct UpstreamFixture : ::testing::Test {
  net::EventLoop loop{"test", [](const std::string&) {}};
  WorkerPool workers{1, 16, [](const std::string&, const std::string&) {}};
  UpstreamClient client{UpstreamSettings{}, workers};
  std::shared_ptr<net::LoopScope> scope = std::make_shared<net::LoopScope>(loop, workers, "test");
  UpstreamFixture() { loop.start(); }

  static sdk::WebSocketRequest wsTo(std::string url) {
    sdk::WebSocketRequest r;
    r.url = std::move(url);
    return r;
  }
  template <class F>
  void onLoop(F fn) {
    std::promise<void> done;
    loop.post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }
  // Lets whatever the loop has queued run.
  void settle() {
    for (int i = 0; i < 3; ++i) onLoop([] {});
  }
};

TEST_F(UpstreamFixture, AWebsocketToAnHttpUrlFailsOnTheScopeAfterTheCall) {
  std::atomic<int> calls{0};
  sdk::UpstreamResult seen;
  std::unique_ptr<sdk::WebSocketClient> ws;
  onLoop([&] {
    sdk::WebSocketCallbacks cb;
    cb.on_close = [&](const sdk::UpstreamResult& r) {
      seen = r;
      ++calls;
    };
    ws = client.webSocket(*scope, wsTo("http://127.0.0.1:1/x"), std::move(cb));
    EXPECT_EQ(calls, 0) << "reported from inside the call";
  });
  settle();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen.kind, sdk::UpstreamResult::Kind::kConnect);
  EXPECT_EQ(seen.message, "a websocket URL is ws:// or wss://");
}

TEST_F(UpstreamFixture, AnHttpExchangeWithAMalformedUrlFailsOnTheScope) {
  std::atomic<int> calls{0};
  sdk::UpstreamResult seen;
  std::unique_ptr<sdk::HttpExchange> exchange;
  onLoop([&] {
    sdk::HttpCallbacks cb;
    cb.on_done = [&](const sdk::UpstreamResult& r) {
      seen = r;
      ++calls;
    };
    sdk::HttpRequest request;
    request.url = "ws://127.0.0.1:1/v1";
    exchange = client.http(*scope, std::move(request), std::move(cb));
  });
  settle();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen.kind, sdk::UpstreamResult::Kind::kConnect);
  EXPECT_EQ(seen.message, "an HTTP URL is http:// or https://");
}

TEST_F(UpstreamFixture, ADroppedHandleHearsNothing) {
  std::atomic<int> calls{0};
  onLoop([&] {
    sdk::WebSocketCallbacks cb;
    cb.on_close = [&](const sdk::UpstreamResult&) { ++calls; };
    auto ws = client.webSocket(*scope, wsTo("nonsense"), std::move(cb));
    ws.reset();  // before the refusal is reported
  });
  settle();
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace parley::core
