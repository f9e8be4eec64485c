#include "tests/support/fakes.hpp"

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace parley::test {

FakeServer::FakeServer(const std::string& script, const std::vector<std::string>& args)
    : dir_(std::make_unique<TempDir>("fake")) {
  log_ = dir_->path() + "/events.jsonl";
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   std::string(PARLEY_SOURCE_DIR) + "/tests/fakes/" + script,
                                   "--port",
                                   "0",
                                   "--log",
                                   log_};
  argv.insert(argv.end(), args.begin(), args.end());
  process_ = std::make_unique<Background>(argv);
  if (!process_->waitForOut("\n", std::chrono::seconds(20)))
    throw std::runtime_error(script + " did not start: " + process_->out() + process_->err());
  std::smatch m;
  const std::string out = process_->out();
  if (!std::regex_search(out, m, std::regex("listening on ([0-9]+)")))
    throw std::runtime_error(script + " said: " + out + process_->err());
  port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
}

std::vector<sdk::json::Value> FakeServer::events() const {
  std::vector<sdk::json::Value> all;
  std::ifstream in(log_);
  std::string line;
  while (std::getline(in, line)) {
    sdk::json::Value v;
    if (sdk::json::parse(line, v)) all.push_back(std::move(v));
  }
  return all;
}

std::vector<sdk::json::Value> FakeServer::events(const std::string& name) const {
  std::vector<sdk::json::Value> found;
  for (auto& e : events())
    if (e["event"].asString() == name) found.push_back(std::move(e));
  return found;
}

bool FakeServer::waitFor(const std::function<bool(const sdk::json::Value&)>& match,
                         std::chrono::milliseconds timeout) const {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    for (const auto& e : events())
      if (match(e)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TestCa::TestCa(const std::string& tag) : dir(std::make_unique<TempDir>(tag)) {
  const std::string d = dir->path();
  ca = d + "/ca.pem";
  cert = d + "/server.pem";
  key = d + "/server.key";
  const std::string ext = d + "/san.ext";
  writeFile(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  const std::vector<std::vector<std::string>> steps = {
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", d + "/ca.key", "-out", ca, "-days", "2",
       "-subj", "/CN=Parley Test CA"},
      {"/usr/bin/openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-keyout", key, "-out", d + "/server.csr", "-subj", "/CN=localhost"},
      {"/usr/bin/openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", ca, "-CAkey",
       d + "/ca.key", "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext},
  };
  for (const auto& step : steps) {
    RunResult r = runCommand(step, {}, std::chrono::seconds(30));
    if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.out + r.err);
  }
}

std::string resp(std::uint16_t port, const std::vector<std::string>& args) {
  std::string cmd = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) cmd += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", port));
  s.setReceiveTimeout(Poco::Timespan(2, 0));
  s.sendBytes(cmd.data(), static_cast<int>(cmd.size()));
  char buf[512];
  const int n = s.receiveBytes(buf, sizeof buf);
  return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

RedisServer::RedisServer() : port_(freePort()) {
  start();
}

void RedisServer::start() {
  server_ = std::make_unique<Background>(
      std::vector<std::string>{"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind",
                               "127.0.0.1", "--save", "", "--appendonly", "no"});
  const bool up = waitFor(
      [&] {
        try {
          return resp(port_, {"PING"}) == "+PONG\r\n";
        } catch (const std::exception&) {
          return false;
        }
      },
      std::chrono::seconds(5));
  if (!up) throw std::runtime_error("redis-server did not start");
}

int RedisServer::subscribers(const std::string& room) const {
  const std::string r = resp(port_, {"PUBSUB", "NUMSUB", "room:" + room + ":events"});
  const auto colon = r.rfind(':');
  return colon == std::string::npos ? -1 : std::stoi(r.substr(colon + 1));
}

}  // namespace parley::test
