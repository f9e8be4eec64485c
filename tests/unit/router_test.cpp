#include "core/http/router.hpp"

#include <gtest/gtest.h>

#include <string>

#include "parley/sdk/errors.hpp"

namespace parley::core {
namespace {

using Outcome = Router::Outcome;

// A handler that answers with `tag`, so a test can tell which route matched.
sdk::Handler Tagged(const std::string& tag) {
  return [tag](const sdk::Request&) { return sdk::Response::json(200, tag); };
}

std::string Call(const Router::Match& m) {
  if (!m.route) return "<no route>";
  return m.route->handler(sdk::Request{}).body;
}

std::shared_ptr<sdk::Revoker> Add(Router& r, const std::string& method, const std::string& pattern,
                                  const std::string& owner = "alpha") {
  return r.add(owner, method, pattern, sdk::AuthPolicy::kPublic, Tagged(method + " " + pattern));
}

TEST(RouterTest, LiteralMatch) {
  Router r;
  auto a = Add(r, "GET", "/api/health");
  auto m = r.match("GET", "/api/health");
  ASSERT_EQ(m.outcome, Outcome::kFound);
  EXPECT_EQ(Call(m), "GET /api/health");
  EXPECT_TRUE(m.params.empty());
  EXPECT_EQ(m.route->owner, "alpha");
  EXPECT_EQ(m.route->pattern, "/api/health");
}

TEST(RouterTest, RouteKeepsItsAuthPolicy) {
  Router r;
  auto a = r.add("alpha", "GET", "/admin", sdk::AuthPolicy::kOperator, Tagged("x"));
  auto m = r.match("GET", "/admin");
  ASSERT_EQ(m.outcome, Outcome::kFound);
  EXPECT_EQ(m.route->auth, sdk::AuthPolicy::kOperator);
}

TEST(RouterTest, CaptureMatchFillsParams) {
  Router r;
  auto a = Add(r, "GET", "/rooms/{room_id}/turns/{n}");
  auto m = r.match("GET", "/rooms/r42/turns/7");
  ASSERT_EQ(m.outcome, Outcome::kFound);
  EXPECT_EQ(Call(m), "GET /rooms/{room_id}/turns/{n}");
  EXPECT_EQ(m.params, (sdk::Fields{{"room_id", "r42"}, {"n", "7"}}));
}

TEST(RouterTest, LiteralWinsOverCapture) {
  Router r;
  auto a = Add(r, "GET", "/rooms/{id}");
  auto b = Add(r, "GET", "/rooms/new");
  EXPECT_EQ(Call(r.match("GET", "/rooms/new")), "GET /rooms/new");
  auto m = r.match("GET", "/rooms/abc");
  EXPECT_EQ(Call(m), "GET /rooms/{id}");
  EXPECT_EQ(m.params, (sdk::Fields{{"id", "abc"}}));
}

TEST(RouterTest, UnknownPathIsNotFound) {
  Router r;
  auto a = Add(r, "GET", "/a");
  auto b = Add(r, "GET", "/items/{id}");
  for (const char* path : {"/b", "/", "/a/b", "/items", "/items/1/2"}) {
    auto m = r.match("GET", path);
    EXPECT_EQ(m.outcome, Outcome::kNotFound) << path;
    EXPECT_FALSE(m.route) << path;
    EXPECT_TRUE(m.allow.empty()) << path;
  }
}

TEST(RouterTest, APathThatIsNotRootedOrBadlyEncodedIsRefused) {
  Router r;
  auto a = Add(r, "GET", "/a");
  for (const char* path : {"", "a", "*", "/a%", "/a%zz", "/%00"})
    EXPECT_EQ(r.match("GET", path).outcome, Outcome::kBadPath) << path;
}

TEST(RouterTest, AnEncodedSlashIsPartOfItsSegmentNotASeparator) {
  Router r;
  auto metrics = Add(r, "GET", "/api/system/metrics");
  auto item = Add(r, "GET", "/items/{id}");
  EXPECT_EQ(r.match("GET", "/api%2Fsystem%2Fmetrics").outcome, Outcome::kNotFound);
  EXPECT_EQ(r.match("GET", "/api/system%2Fmetrics").outcome, Outcome::kNotFound);
  auto m = r.match("GET", "/items/a%2Fb");
  ASSERT_EQ(m.outcome, Outcome::kFound);
  EXPECT_EQ(m.params, (sdk::Fields{{"id", "a/b"}}));
  EXPECT_EQ(r.match("GET", "/ap%69/system/metrics").outcome, Outcome::kFound)
      << "other escapes decode as usual";
}

TEST(RouterTest, OtherMethodIsNotAllowedWithAllowInRegistrationOrder) {
  Router r;
  auto a = Add(r, "GET", "/things");
  auto b = Add(r, "POST", "/things");
  auto m = r.match("DELETE", "/things");
  EXPECT_EQ(m.outcome, Outcome::kMethodNotAllowed);
  EXPECT_FALSE(m.route);
  EXPECT_EQ(m.allow, "GET, POST");

  auto c = Add(r, "PUT", "/things/{id}");
  auto d = Add(r, "PATCH", "/things/{id}");
  m = r.match("GET", "/things/3");
  EXPECT_EQ(m.outcome, Outcome::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "PUT, PATCH");
}

TEST(RouterTest, AllowCombinesLiteralAndPatternRoutes) {
  Router r;
  auto a = Add(r, "GET", "/things/{id}");
  auto b = Add(r, "POST", "/things/new");
  auto m = r.match("DELETE", "/things/new");
  EXPECT_EQ(m.outcome, Outcome::kMethodNotAllowed);
  // Allow is a set for HTTP; literal routes are looked up first, so only membership is asserted.
  EXPECT_TRUE(m.allow == "GET, POST" || m.allow == "POST, GET") << m.allow;
}

TEST(RouterTest, DuplicateMethodAndPatternIsRefused) {
  Router r;
  auto a = Add(r, "GET", "/x", "alpha");
  try {
    Add(r, "GET", "/x", "beta");
    ADD_FAILURE() << "no RegistrationError";
  } catch (const sdk::RegistrationError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("alpha"), std::string::npos) << msg;
    EXPECT_NE(msg.find("beta"), std::string::npos) << msg;
  }
  EXPECT_NO_THROW(Add(r, "POST", "/x", "beta"));  // another method is another route
}

TEST(RouterTest, PatternsDifferingOnlyInCaptureNameClash) {
  Router r;
  auto a = Add(r, "GET", "/users/{id}/posts");
  EXPECT_THROW(Add(r, "GET", "/users/{name}/posts"), sdk::RegistrationError);
  EXPECT_NO_THROW(Add(r, "GET", "/users/{id}/comments"));
}

TEST(RouterTest, BadMethodIsRefused) {
  Router r;
  for (const char* method : {"get", "FETCH", "", "GET "})
    EXPECT_THROW(Add(r, method, "/x"), sdk::RegistrationError) << "'" << method << "'";
  for (const char* method : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
    EXPECT_NO_THROW(Add(r, method, "/ok")) << method;
}

TEST(RouterTest, BadPatternIsRefused) {
  Router r;
  for (const char* pattern :
       {"", "x", "x/{id}", "/a{id}", "/{id}x", "/{}", "/{Id}", "/{1x}", "/{a-b}", "/{a", "/a}"})
    EXPECT_THROW(Add(r, "GET", pattern), sdk::RegistrationError) << "'" << pattern << "'";
}

TEST(RouterTest, EmptyHandlerIsRefused) {
  Router r;
  EXPECT_THROW(r.add("alpha", "GET", "/x", sdk::AuthPolicy::kPublic, nullptr),
               sdk::RegistrationError);
}

TEST(RouterTest, RevokingRemovesTheRoute) {
  Router r;
  auto lit = Add(r, "GET", "/a");
  auto pat = Add(r, "GET", "/b/{id}");
  auto other = Add(r, "POST", "/a");
  lit->revoke();
  pat->revoke();
  EXPECT_EQ(r.match("GET", "/b/1").outcome, Outcome::kNotFound);
  auto m = r.match("GET", "/a");
  EXPECT_EQ(m.outcome, Outcome::kMethodNotAllowed);  // POST /a is still there
  EXPECT_EQ(m.allow, "POST");
  other->revoke();
  EXPECT_EQ(r.match("POST", "/a").outcome, Outcome::kNotFound);
  // And the places are free again.
  EXPECT_NO_THROW(Add(r, "GET", "/a", "beta"));
  EXPECT_NO_THROW(Add(r, "GET", "/b/{other}", "beta"));
}

TEST(RouterTest, RevokedRouteGateIsClosed) {
  Router r;
  auto a = Add(r, "GET", "/a");
  auto route = r.match("GET", "/a").route;
  ASSERT_TRUE(route);
  a->revoke();
  // A request that matched just before the revoke must not run the handler any more.
  EXPECT_FALSE(route->gate.enter());
}

TEST(RouterTest, CaptureNeverMatchesAnEmptySegment) {
  Router r;
  auto a = Add(r, "GET", "/items/{id}");
  auto b = Add(r, "GET", "/x/{a}/y");
  EXPECT_EQ(r.match("GET", "/items/").outcome, Outcome::kNotFound);
  EXPECT_EQ(r.match("GET", "/x//y").outcome, Outcome::kNotFound);
  EXPECT_EQ(r.match("GET", "/x/1/y").outcome, Outcome::kFound);
}

TEST(RouterTest, TrailingSlashIsADifferentPath) {
  Router r;
  auto a = Add(r, "GET", "/a");
  auto b = Add(r, "GET", "/p/{id}");
  EXPECT_EQ(r.match("GET", "/a/").outcome, Outcome::kNotFound);
  EXPECT_EQ(r.match("GET", "/p/1/").outcome, Outcome::kNotFound);
  auto c = Add(r, "GET", "/a/");
  EXPECT_EQ(Call(r.match("GET", "/a/")), "GET /a/");
  EXPECT_EQ(Call(r.match("GET", "/a")), "GET /a");
}

TEST(RouterTest, RootPath) {
  Router r;
  auto a = Add(r, "GET", "/");
  EXPECT_EQ(r.match("GET", "/").outcome, Outcome::kFound);
  EXPECT_EQ(r.match("GET", "//").outcome, Outcome::kNotFound);
}

}  // namespace
}  // namespace parley::core
