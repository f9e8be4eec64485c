// hello: the smallest complete Parley plugin. It declares a configuration key, serves a route and
// adds a metric field of its own. Read it next to sdk/README.md.
#include <parley/sdk/json.hpp>
#include <parley/sdk/plugin.hpp>

#include <memory>
#include <string>
#include <vector>

namespace {

using namespace parley::sdk;

class Hello : public Plugin {
 public:
  Descriptor describe() const override {
    Descriptor d;
    d.id = "hello";
    d.version = "1.0.0";
    d.summary = "Says hello on GET /hello and counts how often.";
    d.config = {
        {"greeting", ConfigType::kString, "Hello from a Parley plugin", "What GET /hello says."},
    };
    return d;
  }

  void start(Context& ctx) override {
    // Keep what start() registers: dropping a Registration unregisters it.
    registrations_.push_back(
        ctx.metrics().add("hello_requests", "Requests served by GET /hello.", requests_));

    const std::string greeting = ctx.config().getString("greeting");
    registrations_.push_back(ctx.http().add(
        "GET", "/hello", AuthPolicy::kPublic, [this, greeting](const Request& request) {
          requests_->inc();  // a relaxed atomic: fine on any thread, any hot path
          std::string body = "{\"message\":";
          appendJsonString(body, greeting);
          body += ",\"name\":";
          appendJsonString(body, request.queryParam("name", "world"));
          body += ",\"requests\":" + std::to_string(requests_->value()) + "}";
          return Response::json(200, body);
        }));
    ctx.log().info("hello is ready on GET /hello");
  }

  // Routes and metrics go before the plugin object does; the core also revokes them for us.
  void stop() override { registrations_.clear(); }

 private:
  std::shared_ptr<Counter> requests_ = std::make_shared<Counter>();
  std::vector<Registration> registrations_;
};

}  // namespace

PARLEY_PLUGIN(Hello)
