// parleyd: the Parley server. Loads configuration and plugins, serves HTTP until SIGTERM/SIGINT,
// then drains and stops plugins in reverse order.
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/HexBinaryEncoder.h>
#include <Poco/Path.h>
#include <Poco/PatternFormatter.h>
#include <Poco/RandomStream.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/ServerApplication.h>

#include <csignal>
#include <iostream>
#include <sstream>
#include <thread>

#include "core/app/core_routes.hpp"
#include "core/app/settings.hpp"
#include "core/http/bearer_auth.hpp"
#include "core/http/http_server.hpp"
#include "core/http/router.hpp"
#include "core/metrics/registry.hpp"
#include "core/net/loop_group.hpp"
#include "core/plugins/host.hpp"
#include "core/runtime/access_registry.hpp"
#include "core/runtime/event_bus.hpp"
#include "core/runtime/services.hpp"
#include "core/runtime/worker_pool.hpp"
#include "core/upstream/upstream_client.hpp"
#include "core/ws/ws_server.hpp"
#include "parley/sdk/abi.hpp"
#include "parley/sdk/errors.hpp"

namespace parley::core {
namespace {

using Poco::Util::Option;
using Poco::Util::OptionSet;

std::string randomToken() {
  Poco::RandomInputStream random;
  std::ostringstream hex;
  Poco::HexBinaryEncoder encoder(hex);
  char bytes[24];
  random.read(bytes, sizeof bytes);
  encoder.write(bytes, sizeof bytes);
  encoder.close();
  return hex.str();
}

void setupLogging(const std::string& level) {
  Poco::AutoPtr<Poco::PatternFormatter> fmt(
      new Poco::PatternFormatter("%Y-%m-%d %H:%M:%S.%i %p %s: %t"));
  Poco::AutoPtr<Poco::FormattingChannel> channel(
      new Poco::FormattingChannel(fmt, new Poco::ConsoleChannel(std::cerr)));
  Poco::Logger::root().setChannel(channel);
  Poco::Logger::setLevel("", Poco::Logger::parseLevel(level));
}

class Parleyd : public Poco::Util::ServerApplication {
 protected:
  void defineOptions(OptionSet& options) override {
    ServerApplication::defineOptions(options);
    options.addOption(Option("help", "h", "Print this help and exit.")
                          .callback(Poco::Util::OptionCallback<Parleyd>(this, &Parleyd::onHelp)));
    options.addOption(
        Option("version", "", "Print the version and ABI signature, then exit.")
            .callback(Poco::Util::OptionCallback<Parleyd>(this, &Parleyd::onVersion)));
    options.addOption(Option("config", "c",
                             "Read configuration from FILE (default: embedded "
                             "defaults).")
                          .argument("FILE")
                          .callback(Poco::Util::OptionCallback<Parleyd>(this, &Parleyd::onConfig)));
    options.addOption(Option("check-config", "",
                             "Load configuration and plugins, print what was "
                             "found, and exit: non-zero on any problem.")
                          .callback(Poco::Util::OptionCallback<Parleyd>(this, &Parleyd::onCheck)));
    options.addOption(Option("define", "D",
                             "Set a configuration key (repeatable); overrides the "
                             "file and the environment.")
                          .argument("key=value")
                          .repeatable(true)
                          .callback(Poco::Util::OptionCallback<Parleyd>(this, &Parleyd::onDefine)));
  }

  int main(const std::vector<std::string>& args) override {
    if (exit_now_) return EXIT_OK;
    if (!args.empty()) {
      std::cerr << "parleyd: unexpected argument '" << args[0] << "' (see --help)\n";
      return EXIT_USAGE;
    }
    try {
      return serve();
    } catch (const sdk::ConfigError& e) {
      std::cerr << "parleyd: configuration error: " << e.what() << "\n";
      return EXIT_CONFIG;
    } catch (const StartupError& e) {
      std::cerr << "parleyd: cannot start: " << e.what() << "\n";
      return EXIT_SOFTWARE;
    } catch (const std::invalid_argument& e) {  // bad JWT key material
      std::cerr << "parleyd: configuration error: " << e.what() << "\n";
      return EXIT_CONFIG;
    } catch (const Poco::Exception& e) {
      std::cerr << "parleyd: cannot start: " << e.displayText() << "\n";
      return EXIT_SOFTWARE;
    }
  }

 private:
  int serve() {
    // Until waitForTerminationRequest() takes them, SIGTERM and SIGINT stay pending instead of
    // killing us: a stop requested during start-up still drains cleanly. Blocked before any thread
    // starts, so every thread inherits the mask.
    sigset_t termination;
    sigemptyset(&termination);
    for (int sig : {SIGINT, SIGTERM, SIGQUIT}) sigaddset(&termination, sig);
    pthread_sigmask(SIG_BLOCK, &termination, nullptr);

    const std::string exe_dir = Poco::Path(config().getString("application.dir")).toString();
    Settings settings = loadSettings(config_file_, defines_, exe_dir.empty() ? "." : exe_dir);
    setupLogging(settings.log_level);
    Poco::Logger& log = Poco::Logger::get("parleyd");
    for (const auto& w : settings.warnings) log.warning(w);

    bool generated_token = false;
    if (settings.auth.operator_tokens.empty() && settings.auth.hs256_secret.empty() &&
        settings.auth.public_key_file.empty()) {
      settings.auth.operator_tokens.push_back(randomToken());
      generated_token = true;
    }
    BearerAuth auth(settings.auth);

    auto report = [&log](const std::string& owner, const std::string& what) {
      log.error("[%s] %s", owner, what);
    };
    MetricsRegistry metrics;
    Router router;
    EventBus events(report);
    ServiceRegistry services;
    AccessRegistry access(report);
    WorkerPool workers(settings.worker_threads, settings.worker_queue, report);
    net::LoopGroup loops(settings.loop_threads,
                         [&log](const std::string& what) { log.error(what); });
    UpstreamClient upstreams(settings.upstream, workers);
    ws::WsServer websockets(settings.ws, auth, access, workers, log, report);
    auto core_metrics = addCoreMetrics(metrics, websockets, upstreams);
    PluginHost plugins(CoreServices{metrics, router, events, services, websockets, loops, workers,
                                    access, upstreams},
                       log);
    plugins.load(settings.plugins_dir, settings.plugins_load, settings.plugins_optional);
    plugins.configure(settings.plugin_sections);

    if (check_) return printCheck(settings, plugins);

    loops.start();
    auto core_routes = addCoreRoutes(router, metrics, plugins);
    plugins.start();
    HttpServer server(settings.http, loops, workers, router, auth, access, log);
    server.setUpgrade(websockets.path(), &websockets);
    server.start();

    std::cout << "parleyd " PARLEY_VERSION " listening on http://" << settings.http.host << ":"
              << server.port() << " (config: " << settings.source << ")\n";
    if (generated_token)
      std::cout << "No auth.operator_tokens or JWT key configured; operator token for this run:\n"
                << "  Authorization: Bearer " << settings.auth.operator_tokens[0] << "\n"
                << "  curl -H 'Authorization: Bearer " << settings.auth.operator_tokens[0]
                << "' http://" << settings.http.host << ":" << server.port()
                << "/api/system/metrics\n";
    // A page at / (the console plugin): the link logs the browser in. The token rides in the
    // fragment, which browsers never send, so it reaches no log.
    const bool console = router.match("GET", "/").outcome == Router::Outcome::kFound;
    const std::string& host = settings.http.host;
    const std::string page = "http://" +
                             (host == "0.0.0.0" || host == "::" ? std::string("127.0.0.1") : host) +
                             ":" + std::to_string(server.port()) + "/";
    if (generated_token && console)
      std::cout << "Open the console: " << page << "#token=" << settings.auth.operator_tokens[0]
                << "\n";
    if (!generated_token)
      std::cout << "Authenticate with 'Authorization: Bearer <token>': one of "
                   "auth.operator_tokens, or a JWT signed with the configured key.\n";
    if (!generated_token && console)
      std::cout << "Console: " << page << " (it asks for a token, or add #token=<token>)\n";
    std::cout.flush();

    waitForTerminationRequest();
    // One deadline for everything: HTTP requests in flight and websocket sessions together.
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(settings.shutdown_deadline_ms);
    log.information("stopping: draining HTTP connections, closing %d websocket session(s)",
                    websockets.connections());
    server.stopAccepting();
    server.drain();
    websockets.closeAll();
    auto quiet = [&] { return server.connections() == 0 && websockets.connections() == 0; };
    while (!quiet() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!quiet()) {
      log.warning("shutdown deadline reached; remaining connections were closed");
      server.abortAll();
      websockets.abortAll();
    }
    // Plugin code still running (a handler on a worker) must not have its plugin stopped under
    // it; past the deadline nobody waits for it either.
    if (!workers.waitIdle(until)) {
      std::string owners;
      for (const auto& owner : workers.running()) owners += (owners.empty() ? "" : ", ") + owner;
      log.error(
          "shutdown deadline reached with blocking work still running (plugin: %s); "
          "exiting without stopping plugins",
          owners);
      std::cout.flush();
      std::_Exit(1);
    }
    plugins.stop();
    for (auto& r : core_routes) r->revoke();
    for (auto& r : core_metrics) r->revoke();
    workers.stop();
    loops.stop();
    log.information("stopped");
    return EXIT_OK;
  }

  int printCheck(const Settings& settings, const PluginHost& plugins) {
    int problems = 0;
    std::cout << "configuration: " << settings.source << "\n"
              << "listen: " << settings.http.host << ":" << settings.http.port << " ("
              << settings.loop_threads << " event loops, " << settings.worker_threads
              << " workers)\n"
              << "auth: " << settings.auth.operator_tokens.size() << " operator token(s)"
              << (settings.auth.hs256_secret.empty() ? "" : ", HS256 JWTs")
              << (settings.auth.public_key_file.empty() ? "" : ", public-key JWTs") << "\n"
              << "plugins.dir: " << settings.plugins_dir << "\n";
    for (const auto& st : plugins.status()) {
      std::cout << "plugin " << st.id << " " << st.version << " (" << st.path << ")";
      if (st.failed) {
        std::cout << " SKIPPED: " << st.failure;
        ++problems;
      }
      std::cout << "\n";
      if (const auto* keys = plugins.declaredKeys(st.id))
        for (const auto& k : *keys)
          std::cout << "  plugins." << st.id << "." << k.name << " (default '"
                    << (k.secret ? "<secret>" : k.default_value) << "'): " << k.doc << "\n";
    }
    std::cout << (problems ? "configuration loads, with skipped optional plugins\n"
                           : "configuration OK\n");
    return EXIT_OK;
  }

  void onHelp(const std::string&, const std::string&) {
    Poco::Util::HelpFormatter help(options());
    help.setCommand(commandName());
    help.setUsage("[--config FILE] [-D key=value ...] [--check-config]");
    help.setHeader("Parley real-time interview assistant server.");
    help.setFooter(
        "Every configuration key is documented in etc/parleyd.properties. Keys may also "
        "come from the environment as PARLEY_<KEY> (dots as underscores, upper-case).");
    help.format(std::cout);
    stopOptionsProcessing();
    exit_now_ = true;
  }
  void onVersion(const std::string&, const std::string&) {
    constexpr sdk::AbiRecord abi = sdk::currentAbiRecord();
    std::cout << "parleyd " PARLEY_VERSION " (plugin SDK " << abi.sdk_major << "." << abi.sdk_minor
              << ", " << abi.toolchain << ", boost " << abi.boost << ", poco " << abi.poco << ")\n";
    stopOptionsProcessing();
    exit_now_ = true;
  }
  void onConfig(const std::string&, const std::string& value) { config_file_ = value; }
  void onCheck(const std::string&, const std::string&) { check_ = true; }
  void onDefine(const std::string&, const std::string& value) {
    auto eq = value.find('=');
    if (eq == std::string::npos)
      throw Poco::InvalidArgumentException("-D " + value + ": expected key=value");
    defines_.emplace_back(value.substr(0, eq), value.substr(eq + 1));
  }

  bool exit_now_ = false;
  bool check_ = false;
  std::string config_file_;
  Defines defines_;
};

}  // namespace
}  // namespace parley::core

POCO_SERVER_MAIN(parley::core::Parleyd)
