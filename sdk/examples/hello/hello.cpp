#include "hello.hpp"

#include <parley/sdk/json.hpp>

namespace hello {

using namespace parley::sdk;

namespace {

// One per session: answers {"type":"hello"} with the greeting and how many times this session
// asked. Every call runs on the session's event loop, one at a time: no lock.
class Greeter final : public SessionHandler {
 public:
  Greeter(Session& session, const std::string& greeting) : session_(session), greeting_(greeting) {}

  void onMessage(std::string_view, const json::Value& message) override {
    json::Writer reply;
    reply.beginObject().field("type", "hello").field("greeting", greeting_);
    reply.field("name", message["name"].asString("world")).field("count", ++count_);
    session_.send(reply.field("session_id", session_.info().id).endObject().take());
  }

 private:
  Session& session_;  // outlives its handlers
  const std::string& greeting_;
  int count_ = 0;
};

}  // namespace

Descriptor Hello::describe() const {
  Descriptor d;
  d.id = "hello";
  d.version = "1.2.0";
  d.summary = "Says hello on GET /hello and to {\"type\":\"hello\"}, and counts the requests.";
  d.config = {
      {"greeting", ConfigType::kString, "Hello from a Parley plugin", "What hello says."},
  };
  return d;
}

void Hello::start(Context& ctx) {
  greeting_ = ctx.config().getString("greeting");
  // Keep what start() registers: dropping a Registration unregisters it.
  registrations_.push_back(
      ctx.metrics().add("hello_requests", "Requests served by GET /hello.", requests_));

  RouteSpec route;
  route.method = "GET";
  route.pattern = "/hello";
  route.auth = AuthPolicy::kPublic;
  route.where = RunOn::kLoop;  // it never blocks
  registrations_.push_back(ctx.http().add(route, [this](const Request& request) {
    requests_->inc();  // a relaxed atomic: fine on any thread, any hot path
    json::Writer body;
    body.beginObject()
        .field("message", greeting_)
        .field("name", request.queryParam("name", "world"));
    return Response::json(200, body.field("requests", requests_->value()).endObject().take());
  }));

  registrations_.push_back(ctx.websockets().attach(
      {{"hello"}, /*binary=*/false},
      [this](const SessionPtr& s) { return std::make_unique<Greeter>(*s, greeting_); }));
  ctx.log().info("hello is ready on GET /hello");
}

}  // namespace hello

PARLEY_PLUGIN(hello::Hello)
