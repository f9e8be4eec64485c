// The HTTP front as a client sees it: JSON errors with the right status, bearer auth refusals,
// body and header limits. (The bytes on the wire: http_wire_test.cpp.)
#include <gtest/gtest.h>

#include <Poco/Base64Encoder.h>
#include <Poco/Net/StreamSocket.h>

#include <sstream>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"

namespace parley::test {
namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef-test";

std::string base64url(const std::string& in) {
  std::ostringstream out;
  Poco::Base64Encoder enc(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
  enc << in;
  enc.close();
  return out.str();
}

void expectJsonError(const HttpResult& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  auto error = r.json()->getObject("error");
  ASSERT_TRUE(error) << r.body;
  EXPECT_EQ(error->getValue<std::string>("code"), code) << r.body;
  EXPECT_FALSE(error->getValue<std::string>("message").empty());
}

class Http : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new Parleyd(fixtureArgs("fixture_ok", {"-D", "auth.jwt.hs256_secret=" + kSecret, "-D",
                                                     "http.max_body_bytes=1024"}));
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static std::uint16_t port() { return server_->port(); }
  static Parleyd* server_;
};
Parleyd* Http::server_ = nullptr;

TEST_F(Http, UnknownPathIs404) {
  expectJsonError(get(port(), "/no/such/thing"), 404, "not_found");
}

TEST_F(Http, WrongMethodIs405WithAllow) {
  auto r = http(port(), "DELETE", "/fixture/hello");
  expectJsonError(r, 405, "method_not_allowed");
  EXPECT_EQ(r.header("Allow"), "GET");
}

TEST_F(Http, BodyOverLimitIs413) {
  auto r = http(port(), "POST", "/fixture/echo", bearer(kOperatorToken), std::string(2000, 'x'));
  expectJsonError(r, 413, "payload_too_large");
  auto ok = http(port(), "POST", "/fixture/echo", bearer(kOperatorToken), std::string(1000, 'x'));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.json()->getValue<int>("size"), 1000);
}

TEST_F(Http, ChunkedBodyOverLimitIs413) {
  std::string chunk(600, 'y');
  std::ostringstream req;
  req << "POST /fixture/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " << kOperatorToken
      << "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) req << std::hex << chunk.size() << "\r\n" << chunk << "\r\n";
  req << "0\r\n\r\n";
  std::string reply = rawExchange(port(), req.str());
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
  EXPECT_NE(reply.find("payload_too_large"), std::string::npos);
}

TEST_F(Http, MalformedPathOrQueryIs400) {
  expectJsonError(get(port(), "/fixture/items/%zz"), 400, "bad_request");
  expectJsonError(get(port(), "/fixture/items/a%00b"), 400, "bad_request");
  expectJsonError(http(port(), "POST", "/fixture/echo?q=%G1", bearer(kOperatorToken)), 400,
                  "bad_request");
}

TEST_F(Http, PathCapturesAndQueryAreDecoded) {
  EXPECT_EQ(get(port(), "/fixture/items/two%20words").body, "{\"item\":\"two words\"}");
  auto r = http(port(), "POST", "/fixture/echo?q=a+b%21", bearer(kOperatorToken));
  EXPECT_EQ(r.json()->getValue<std::string>("q"), "a b!");
}

TEST_F(Http, MissingCredentialsAre401WithChallenge) {
  auto r = get(port(), "/api/system/metrics");
  expectJsonError(r, 401, "missing_token");
  EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer realm=\"parley\"");
  expectJsonError(get(port(), "/api/system/metrics", {{"Authorization", "Basic dTpw"}}), 401,
                  "missing_token");
}

TEST_F(Http, EachBadCredentialIs401InvalidToken) {
  const std::string header_none = base64url(R"({"alg":"none","typ":"JWT"})");
  const std::string payload = base64url(R"({"sub":"mallory"})");
  struct Case {
    std::string token, code;
  } cases[] = {
      {"not-a-configured-token", "unknown_token"},
      {hs256Jwt(kSecret, "alice", -120), "token_expired"},
      {hs256Jwt(kSecret + "-other", "alice"), "bad_signature"},
      {header_none + "." + payload + ".", "unsupported_algorithm"},
      {"a.b.c", "malformed_token"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.code);
    auto r = get(port(), "/api/system/metrics", bearer(c.token));
    expectJsonError(r, 401, c.code);
    EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer realm=\"parley\", error=\"invalid_token\"");
    EXPECT_EQ(r.body.find(c.token), std::string::npos) << "the token must not be echoed";
  }
}

TEST_F(Http, ValidJwtCarriesItsSubject) {
  auto r = http(port(), "POST", "/fixture/echo", bearer(hs256Jwt(kSecret, "alice")));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()->getValue<std::string>("subject"), "alice");
  EXPECT_FALSE(r.json()->getValue<bool>("operator"));
  EXPECT_EQ(get(port(), "/api/system/metrics", bearer(hs256Jwt(kSecret, "alice"))).status, 200);
}

TEST_F(Http, OperatorOnlyRouteRefusesUsersWith403) {
  expectJsonError(get(port(), "/fixture/admin", bearer(hs256Jwt(kSecret, "alice"))), 403,
                  "forbidden");
  EXPECT_EQ(get(port(), "/fixture/admin", bearer(kOperatorToken)).status, 200);
}

TEST_F(Http, HandlerExceptionIs500AndTheServerCarriesOn) {
  expectJsonError(get(port(), "/fixture/throw"), 500, "internal_error");
  expectJsonError(get(port(), "/fixture/conflict"), 409, "conflict");
  EXPECT_EQ(get(port(), "/healthz").status, 200);
  EXPECT_TRUE(
      server_->waitForErr("[fixture_ok] GET /fixture/throw failed: boom", std::chrono::seconds(5)));
}

TEST_F(Http, OversizedHeaderIsRefusedAndTheServerCarriesOn) {
  std::string reply = rawExchange(
      port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply.substr(0, 200);
  EXPECT_EQ(get(port(), "/healthz").status, 200);
}

}  // namespace
}  // namespace parley::test
