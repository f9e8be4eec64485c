// hello: the smallest complete Parley plugin. It declares a configuration key, serves a route, adds
// a metric field of its own, and keeps a small object per websocket session. Read it next to
// sdk/README.md; hello_test.cpp unit-tests it with the SDK's test host.
#pragma once

#include <parley/sdk/plugin.hpp>

#include <memory>
#include <string>
#include <vector>

namespace hello {

class Hello : public parley::sdk::Plugin {
 public:
  parley::sdk::Descriptor describe() const override;
  void start(parley::sdk::Context& ctx) override;
  // Routes, metrics and session handlers were revoked by the core just before.
  void stop() override { registrations_.clear(); }

 private:
  std::string greeting_;
  std::shared_ptr<parley::sdk::Counter> requests_ = std::make_shared<parley::sdk::Counter>();
  std::vector<parley::sdk::Registration> registrations_;
};

}  // namespace hello
