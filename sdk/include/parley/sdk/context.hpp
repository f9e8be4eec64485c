// What the core gives a plugin in start(): its logger and configuration, and the places it may
// register things. Everything registered through a Context belongs to that plugin and is revoked
// when it stops, before its stop() runs. Context methods may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>

#include "parley/sdk/access.hpp"
#include "parley/sdk/config.hpp"
#include "parley/sdk/export.hpp"
#include "parley/sdk/http.hpp"
#include "parley/sdk/metrics.hpp"
#include "parley/sdk/registration.hpp"
#include "parley/sdk/scope.hpp"
#include "parley/sdk/upstreams.hpp"
#include "parley/sdk/websocket.hpp"

namespace parley::sdk {

enum class LogLevel { kDebug, kInformation, kWarning, kError };

// Lines go to parleyd's log prefixed with the plugin's id.
class PARLEY_SDK_API Logger {
 public:
  virtual ~Logger();
  virtual void log(LogLevel level, std::string_view message) = 0;
  virtual bool enabled(LogLevel level) const = 0;

  void debug(std::string_view m) { log(LogLevel::kDebug, m); }
  void info(std::string_view m) { log(LogLevel::kInformation, m); }
  void warning(std::string_view m) { log(LogLevel::kWarning, m); }
  void error(std::string_view m) { log(LogLevel::kError, m); }
};

// Plugin-to-plugin events (transcripts, turns, questions, answers) with a JSON payload.
struct Event {
  std::string topic;  // e.g. "room.question"
  std::string json;   // the payload, a JSON document
};

// Delivery is synchronous, on the publisher's thread, in subscription order: a subscriber must
// return quickly and post longer work to a scope of its own. An exception from a subscriber is
// logged with its plugin's id and does not reach the publisher or the other subscribers.
class PARLEY_SDK_API EventBus {
 public:
  virtual ~EventBus();
  virtual Registration subscribe(const std::string& topic,
                                 std::function<void(const Event&)> handler) = 0;
  virtual void publish(const Event& event) = 0;
};

// The plugin's timers. Since SDK 1.2 they run on the plugin's own scope (one event loop: a
// callback must be short and never block; offload blocking work). Cancelling (dropping the
// Registration) frees the callback at once. For timers that belong to a session, or to state that
// other callbacks of a scope touch, use that scope's after()/every().
class PARLEY_SDK_API Timers {
 public:
  virtual ~Timers();
  virtual Registration after(std::chrono::milliseconds delay, std::function<void()> task) = 0;
  virtual Registration every(std::chrono::milliseconds period, std::function<void()> task) = 0;
};

// Interfaces plugins offer each other. A name carries its interface version ("parley.rooms.v1");
// the consumer declares the provider's id as a dependency so that it starts after it.
class PARLEY_SDK_API Services {
 public:
  virtual ~Services();
  // SDK 1.1: untyped. Prefer offer<T>(), whose type find<T>() can check.
  virtual Registration provide(const std::string& name, std::shared_ptr<void> service) = 0;
  virtual std::shared_ptr<void> findRaw(const std::string& name) const = 0;

  // Since SDK 1.2.
  template <class T>
  Registration offer(const std::string& name, std::shared_ptr<T> service) {
    return provideTyped(name, std::move(service), typeid(T).name());
  }
  // The service registered under `name`, or null when there is none. Throws RegistrationError
  // when it was offered as another type than T.
  template <class T>
  std::shared_ptr<T> find(const std::string& name) const {
    return std::static_pointer_cast<T>(findTyped(name, typeid(T).name()));
  }
  virtual Registration provideTyped(const std::string& name, std::shared_ptr<void> service,
                                    const char* type_name) = 0;
  virtual std::shared_ptr<void> findTyped(const std::string& name, const char* type_name) const = 0;
};

class PARLEY_SDK_API Context {
 public:
  virtual ~Context();
  virtual const std::string& pluginId() const = 0;
  virtual Logger& log() = 0;
  virtual const PluginConfig& config() const = 0;
  virtual MetricsRegistry& metrics() = 0;
  virtual HttpRoutes& http() = 0;
  virtual EventBus& events() = 0;
  virtual Timers& timers() = 0;
  virtual Services& services() = 0;
  // Since SDK 1.1.
  virtual WebSockets& websockets() = 0;
  // Since SDK 1.2.
  virtual Scopes& scopes() = 0;
  virtual Upstreams& upstreams() = 0;
  virtual Access& access() = 0;
  // New capabilities are appended here in later SDK minor versions.
};

}  // namespace parley::sdk
