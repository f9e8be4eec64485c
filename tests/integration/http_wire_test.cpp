// HTTP/1.1 on the wire, with the exact bytes: framing that could smuggle a request is refused,
// bytes outside the grammar are refused, every limit holds however the bytes trickle in, and
// keep-alive, pipelining, HEAD, Expect: 100-continue and chunked bodies work as RFC 9112 says.
#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>

#include <future>
#include <thread>

#include "parley/sdk/json.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"

namespace parley::test {
namespace {

using Clock = std::chrono::steady_clock;

// A connection that sends bytes as told and reads what comes back, every read bounded.
class Raw {
 public:
  explicit Raw(std::uint16_t port) : socket_(Poco::Net::SocketAddress("127.0.0.1", port)) {}
  void send(const std::string& bytes) {
    socket_.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
  }
  // Everything until the server closes, or `timeout`.
  std::string readAll(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::string out;
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      if (!readSome(out, until)) break;
    }
    return out;
  }
  // Until `n` responses (each a head plus its Content-Length body) have arrived.
  std::string readResponses(std::size_t n,
                            std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::string out;
    const auto until = Clock::now() + timeout;
    while (countResponses(out) < n && Clock::now() < until)
      if (!readSome(out, until)) break;
    return out;
  }
  // Until `needle` has arrived.
  std::string readUntil(const std::string& needle,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::string out;
    const auto until = Clock::now() + timeout;
    while (out.find(needle) == std::string::npos && Clock::now() < until)
      if (!readSome(out, until)) break;
    return out;
  }
  // Whether the server closed the connection (EOF within `timeout`).
  bool closedBy(std::chrono::milliseconds timeout) {
    std::string ignored;
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until)
      if (!readSome(ignored, until)) return closed_;
    return closed_;
  }

  static std::size_t countResponses(const std::string& s) {
    std::size_t n = 0;
    for (auto at = s.find("HTTP/1.1 "); at != std::string::npos; at = s.find("HTTP/1.1 ", at + 1))
      if (s.compare(at, 12, "HTTP/1.1 100") != 0) ++n;
    return n;
  }

 private:
  bool readSome(std::string& out, Clock::time_point until) {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(until - Clock::now());
    if (left.count() <= 0) return false;
    socket_.setReceiveTimeout(Poco::Timespan(left.count()));
    char buf[8192];
    try {
      const int n = socket_.receiveBytes(buf, sizeof buf);
      if (n <= 0) {
        closed_ = true;
        return false;
      }
      out.append(buf, static_cast<std::size_t>(n));
      return true;
    } catch (const Poco::TimeoutException&) {
      return false;
    } catch (const Poco::Net::NetException&) {
      closed_ = true;
      return false;
    }
  }
  Poco::Net::StreamSocket socket_;
  bool closed_ = false;
};

std::string statusLine(const std::string& reply) {
  return reply.substr(0, reply.find("\r\n"));
}

// The body of the first response, which must be a JSON error in valid UTF-8.
std::string errorCode(const std::string& reply) {
  const auto body = reply.find("\r\n\r\n");
  if (body == std::string::npos) return "<no body>";
  const auto len_at = reply.find("Content-Length: ");
  const std::size_t len = len_at == std::string::npos ? 0 : std::stoul(reply.substr(len_at + 16));
  const std::string json = reply.substr(body + 4, len);
  EXPECT_TRUE(sdk::json::validUtf8(json)) << json;
  sdk::json::Value v;
  EXPECT_TRUE(sdk::json::parse(json, v)) << json;
  return std::string(v["error"]["code"].asString("<not an error>"));
}

class HttpWire : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new Parleyd(fixtureArgs(
        "fixture_ok", {"-D", "http.max_body_bytes=1024", "-D", "http.header_timeout_ms=1000", "-D",
                       "http.request_deadline_ms=1000", "-D", "http.keepalive_timeout_ms=2000"}));
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static std::uint16_t port() { return server_->port(); }
  static Parleyd* server_;
};
Parleyd* HttpWire::server_ = nullptr;

TEST_F(HttpWire, TheBodyOfARefusedRequestIsNeverReadAsARequest) {
  Raw c(port());
  c.send(
      "GET /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 37\r\n\r\n"
      "GET /nonexistent-smuggled HTTP/1.1\r\n\r\n");
  const std::string reply = c.readAll();
  EXPECT_EQ(Raw::countResponses(reply), 1u) << reply;
  EXPECT_EQ(statusLine(reply), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(reply.find("smuggled"), std::string::npos) << reply;

  Raw d(port());
  const std::string inner = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  d.send("GET /api/system/metrics HTTP/1.1\r\nHost: x\r\nContent-Length: " +
         std::to_string(inner.size()) + "\r\n\r\n" + inner);
  const std::string second = d.readAll();
  EXPECT_EQ(Raw::countResponses(second), 1u) << second;
  EXPECT_EQ(statusLine(second), "HTTP/1.1 401 Unauthorized");
}

TEST_F(HttpWire, AmbiguousFramingIs400AndTheConnectionCloses) {
  for (const std::string& head :
       {std::string("POST /fixture/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n"),
        std::string("POST /fixture/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    "Content-Length: 5\r\n\r\nhello"),
        std::string("POST /fixture/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    "Content-Length: 6\r\n\r\nhello!"),
        std::string("POST /fixture/echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"),
        std::string("POST /fixture/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nxx"),
        std::string("POST /fixture/echo HTTP/1.1\r\nHost: x\r\n"
                    "Transfer-Encoding: chunked, gzip\r\n\r\nxx")}) {
    Raw c(port());
    c.send(head);
    const std::string reply = c.readAll();
    EXPECT_EQ(statusLine(reply), "HTTP/1.1 400 Bad Request") << head;
    EXPECT_EQ(errorCode(reply), "bad_request") << head;
    EXPECT_EQ(Raw::countResponses(reply), 1u) << head << "\n" << reply;
    EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
  }
}

TEST_F(HttpWire, BytesOutsideTheGrammarAre400) {
  for (const std::string& request :
       {std::string("GET /health\xffz HTTP/1.1\r\nHost: x\r\n\r\n"),
        std::string("GET /health\x01z HTTP/1.1\r\nHost: x\r\n\r\n"),
        std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: abc\xff\r\nX-B: d\r\n\r\n"),
        std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n"),  // obs-fold
        std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x7f\r\n\r\n"),
        std::string("GET /healthz HTTP/1.1\r\nX-A: a\r\n\r\n"),  // no Host
        std::string("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        std::string("GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n")}) {
    Raw c(port());
    c.send(request);
    const std::string reply = c.readAll();
    EXPECT_EQ(statusLine(reply), "HTTP/1.1 400 Bad Request") << request;
    EXPECT_EQ(errorCode(reply), "bad_request") << request;
  }
}

TEST_F(HttpWire, OtherHttpVersionsGet505AndEveryResponseSaysHttp11) {
  for (const char* version : {"HTTP/9.9", "HTTP/2.0", "HTTP/0.9"}) {
    Raw c(port());
    c.send(std::string("GET /healthz ") + version + "\r\nHost: x\r\n\r\n");
    const std::string reply = c.readAll();
    EXPECT_EQ(statusLine(reply), "HTTP/1.1 505 HTTP Version Not Supported") << version;
  }
  Raw old(port());
  old.send("GET /healthz HTTP/1.0\r\n\r\n");
  const std::string reply = old.readAll();
  EXPECT_EQ(statusLine(reply), "HTTP/1.1 200 OK");
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << "1.0 closes unless asked";
}

TEST_F(HttpWire, ErrorBodiesAreValidUtf8AndEncodedSlashesDoNotRoute) {
  Raw c(port());
  c.send("GET /%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string reply = c.readResponses(1);
  EXPECT_EQ(statusLine(reply), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(errorCode(reply), "not_found");

  EXPECT_EQ(get(port(), "/api%2Fsystem%2Fmetrics", bearer(kOperatorToken)).status, 404);
  EXPECT_EQ(get(port(), "/api/system/metrics", bearer(kOperatorToken)).status, 200);
}

TEST_F(HttpWire, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  Raw c(port());
  c.send(
      "GET /fixture/items/first HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /fixture/slow?ms=50 HTTP/1.1\r\nHost: x\r\n\r\n"  // on a worker: the others wait
      "GET /fixture/items/third HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string reply = c.readAll();
  ASSERT_EQ(Raw::countResponses(reply), 4u) << reply;
  const auto first = reply.find("\"item\":\"first\"");
  const auto slow = reply.find("{\"slow\":true}");
  const auto third = reply.find("\"item\":\"third\"");
  const auto health = reply.find("{\"status\":\"ok\"}");
  EXPECT_LT(first, slow);
  EXPECT_LT(slow, third);
  EXPECT_LT(third, health);
  EXPECT_TRUE(c.closedBy(std::chrono::seconds(1))) << "Connection: close is honoured";
}

// Handlers on the loop reuse the connection's request object: nothing of one request (its
// principal, query, body or headers) may reach the handler of the next.
TEST_F(HttpWire, NothingOfOneRequestReachesTheNextOnAKeptAliveConnection) {
  Raw c(port());
  c.send(std::string("POST /fixture/echo?q=first HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") +
         kOperatorToken +
         "\r\nContent-Length: 5\r\n\r\nhello"
         "POST /fixture/whoami HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  const std::string reply = c.readResponses(2);
  ASSERT_EQ(Raw::countResponses(reply), 2u) << reply;
  EXPECT_NE(reply.find(R"({"subject":"operator","operator":true,"size":5,"q":"first"})"),
            std::string::npos)
      << reply;
  EXPECT_NE(reply.find(R"({"subject":"","operator":false,"size":0,"q":"","authorization":""})"),
            std::string::npos)
      << reply;
}

TEST_F(HttpWire, HeadIsGetWithoutABody) {
  Raw c(port());
  c.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string reply = c.readResponses(2);
  ASSERT_EQ(Raw::countResponses(reply), 2u) << reply;
  const auto second = reply.find("HTTP/1.1", 1);
  const std::string head = reply.substr(0, second);
  EXPECT_NE(head.find("Content-Length: 15"), std::string::npos) << head;
  EXPECT_EQ(head.find("{\"status\""), std::string::npos) << "no body after a HEAD";
  EXPECT_NE(reply.find("{\"status\":\"ok\"}", second), std::string::npos);
}

TEST_F(HttpWire, ExpectContinueAndChunkedBodies) {
  Raw c(port());
  c.send("POST /fixture/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
         std::string(kOperatorToken) + "\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  const std::string interim = c.readUntil("\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n") << "and nothing else before the body";
  c.send("hello");
  std::string reply = c.readResponses(1);
  EXPECT_NE(reply.find("\"size\":5"), std::string::npos) << reply;

  c.send("POST /fixture/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
         std::string(kOperatorToken) +
         "\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: "
         "t\r\n\r\n");
  reply = c.readResponses(1);
  EXPECT_NE(reply.find("\"size\":7"), std::string::npos) << reply;

  // A refused Expect never gets the 100: the client need not send the body at all.
  Raw d(port());
  d.send(
      "POST /fixture/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: "
      "100-continue\r\n\r\n");
  reply = d.readAll();
  EXPECT_EQ(statusLine(reply), "HTTP/1.1 401 Unauthorized") << reply;
}

TEST_F(HttpWire, ABodyOverTheLimitIs413) {
  Raw c(port());
  c.send("POST /fixture/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
  const std::string reply = c.readAll();
  EXPECT_EQ(statusLine(reply), "HTTP/1.1 413 Content Too Large");
  Raw d(port());
  d.send("POST /fixture/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
         std::string(kOperatorToken) + "\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
         std::string(2048, 'x') + "\r\n0\r\n\r\n");
  EXPECT_EQ(statusLine(d.readAll()), "HTTP/1.1 413 Content Too Large");
}

TEST_F(HttpWire, AHeadTrickledByteByByteGets408AtItsDeadlineWhileOthersAreServed) {
  // Slowloris: the head's deadline counts from its first byte, whatever keeps arriving.
  Raw slow(port());
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  slow.send(head);
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    for (int i = 0; i < 40 && !stop; ++i) {
      try {
        slow.send("a");
      } catch (const Poco::Exception&) {
        return;  // closed by the server: what the deadline does
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  // Meanwhile everyone else is served.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(get(port(), "/healthz").status, 200);
  const std::string reply = slow.readAll(std::chrono::seconds(5));
  stop = true;
  trickle.join();
  EXPECT_EQ(statusLine(reply), "HTTP/1.1 408 Request Timeout") << reply;
  EXPECT_EQ(errorCode(reply), "request_timeout");
  EXPECT_TRUE(server_->waitForErr("request head did not arrive within http.header_timeout_ms",
                                  std::chrono::seconds(5)))
      << "a slowloris is logged (once per burst)";
}

TEST_F(HttpWire, ABodyTrickledTooSlowlyGets408) {
  Raw c(port());
  c.send("POST /fixture/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
         std::string(kOperatorToken) + "\r\nContent-Length: 100\r\n\r\n");
  std::string reply;
  for (int i = 0; i < 30 && reply.empty(); ++i) {
    try {
      c.send("b");
    } catch (const Poco::Exception&) {
      break;
    }
    reply = c.readResponses(1, std::chrono::milliseconds(200));
  }
  reply += c.readAll(std::chrono::seconds(2));
  EXPECT_EQ(statusLine(reply), "HTTP/1.1 408 Request Timeout") << reply;
}

TEST_F(HttpWire, AnIdleKeptAliveConnectionIsClosed) {
  Raw c(port());
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(Raw::countResponses(c.readResponses(1)), 1u);
  EXPECT_TRUE(c.closedBy(std::chrono::seconds(5))) << "http.keepalive_timeout_ms";
}

TEST_F(HttpWire, AWebsocketKeyThatIsNot16BytesIs400) {
  Raw c(port());
  c.send("GET /ws/voice?token=" + std::string(kOperatorToken) +
         " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!!!\r\n\r\n");
  const std::string reply = c.readAll();
  EXPECT_EQ(statusLine(reply), "HTTP/1.1 400 Bad Request") << reply;
  EXPECT_NE(reply.find("Sec-WebSocket-Key"), std::string::npos);
}

TEST_F(HttpWire, AHandlerThrowingAnythingIs500NamingThePlugin) {
  Raw c(port());
  c.send("GET /fixture/throw_int HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string reply = c.readResponses(1);
  EXPECT_EQ(statusLine(reply), "HTTP/1.1 500 Internal Server Error");
  EXPECT_EQ(errorCode(reply), "internal_error");
  EXPECT_TRUE(
      server_->waitForErr("[fixture_ok] GET /fixture/throw_int failed", std::chrono::seconds(5)));
}

TEST(HttpLimits, PastMaxConnectionsA503IsWrittenAndOthersGoOn) {
  Parleyd p(fixtureArgs("", {"-D", "http.max_connections=2"}));
  Raw one(p.port()), two(p.port());
  one.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  two.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(Raw::countResponses(one.readResponses(1)), 1u);
  ASSERT_EQ(Raw::countResponses(two.readResponses(1)), 1u);
  Raw third(p.port());
  const std::string reply = third.readAll();
  EXPECT_EQ(statusLine(reply), "HTTP/1.1 503 Service Unavailable") << reply;
  EXPECT_NE(reply.find("Retry-After: 1"), std::string::npos);
  EXPECT_EQ(errorCode(reply), "overloaded");
  // The two kept-alive connections are still served.
  one.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(Raw::countResponses(one.readResponses(1)), 1u);
}

TEST(HttpLimits, ABlockingHandlerDoesNotHoldTheLoop) {
  // One loop, one worker: the slow handler runs on the worker while the loop answers others.
  Parleyd p(fixtureArgs("fixture_ok", {"-D", "ws.loop_threads=1", "-D", "workers.threads=1"}));
  auto slow = std::async(std::launch::async,
                         [port = p.port()] { return get(port, "/fixture/slow?ms=3000"); });
  ASSERT_TRUE(p.waitForErr("slow request started", std::chrono::seconds(10)));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(get(p.port(), "/healthz").status, 200);
  EXPECT_EQ(slow.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "the others were answered while the slow one still ran";
  EXPECT_EQ(slow.get().status, 200);
}

}  // namespace
}  // namespace parley::test
