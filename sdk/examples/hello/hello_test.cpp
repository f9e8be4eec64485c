// hello's unit tests, on the SDK's test host: no parleyd, no sockets, everything on this thread.
#include <gtest/gtest.h>
#include <parley/sdk/errors.hpp>
#include <parley/sdk/testing/host.hpp>

#include "hello.hpp"

using parley::sdk::ConfigError;
using parley::sdk::testing::TestHost;

TEST(Hello, RouteGreetsAndCounts) {
  hello::Hello plugin;
  TestHost host(plugin, {{"greeting", "Hi"}});
  host.start();
  auto r = host.request("GET", "/hello?name=parley");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"message":"Hi","name":"parley","requests":1})");
  host.request("GET", "/hello");
  EXPECT_EQ(host.value("hello_requests"), 2);
}

TEST(Hello, EachSessionKeepsItsOwnCount) {
  hello::Hello plugin;
  TestHost host(plugin);
  host.start();
  auto& a = host.connect();
  auto& b = host.connect();
  a.receive(R"({"type":"hello","name":"ada"})");
  a.receive(R"({"type":"hello"})");
  b.receive(R"({"type":"hello"})");
  ASSERT_EQ(a.sent("hello").size(), 2u);
  EXPECT_EQ(a.sent("hello")[0]["name"].asString(), "ada");
  EXPECT_EQ(a.sent("hello")[1]["count"].asInt(), 2);
  EXPECT_EQ(b.sent("hello")[0]["count"].asInt(), 1);
  EXPECT_EQ(b.sent("hello")[0]["session_id"].asString(), b.info().id);
}

TEST(Hello, AnUnknownKeyIsRefused) {
  hello::Hello plugin;
  TestHost host(plugin, {{"greting", "typo"}});
  EXPECT_THROW(host.start(), ConfigError);
}
