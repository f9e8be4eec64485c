// The baseline for the metrics benchmark: Poco's HTTPServer with the same parameters parleyd uses
// (core/http/http_server.cpp, default settings), answering every request with a fixed JSON body.
// Usage: parley_bench_bare_http PORT BODY_BYTES THREADS
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {

std::string g_body;

class Fixed : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& resp) override {
    resp.setContentType("application/json");
    resp.sendBuffer(g_body.data(), g_body.size());
  }
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Fixed;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: " << argv[0] << " PORT BODY_BYTES THREADS\n";
    return 64;
  }
  const int port = std::atoi(argv[1]);
  const int threads = std::atoi(argv[3]);
  g_body = "{\"pad\":\"" + std::string(std::max(0, std::atoi(argv[2]) - 10), 'x') + "\"}";

  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)), true);
  socket.listen(1024);
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(threads);
  params->setMaxQueued(257);
  params->setTimeout(Poco::Timespan(10, 0));
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(5, 0));
  params->setMaxKeepAliveRequests(10000);
  params->setServerName("parleyd");
  Poco::ThreadPool pool("http", std::min(2, threads), threads, 60);
  Poco::Net::HTTPServer server(new Factory, pool, socket, params);
  server.start();
  std::cout << "bare listening on http://127.0.0.1:" << socket.address().port() << std::endl;

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  server.stopAll(true);
  return 0;
}
