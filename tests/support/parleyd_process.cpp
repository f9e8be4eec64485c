#include "tests/support/parleyd_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace parley::test {

struct Parleyd::Output {
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::string out, err;
  bool closed = false;
  std::thread reader;
};

namespace {

struct Child {
  pid_t pid;
  int out_fd;
  int err_fd;
};

Child spawn(const std::vector<std::string>& argv, const Env& env) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    if (!env.count(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  return {pid, out[0], err[0]};
}

// Reads both pipes until both close, appending under the lock.
void pump(int out_fd, int err_fd, std::string& out, std::string& err, std::mutex& mutex,
          std::condition_variable* changed) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (poll(fds, 2, 1000) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      std::lock_guard lock(mutex);
      (i == 0 ? out : err).append(buf, static_cast<std::size_t>(n));
      if (changed) changed->notify_all();
    }
  }
}

int waitExit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() > until) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

RunResult runCommand(const std::vector<std::string>& argv, const Env& env,
                     std::chrono::seconds timeout) {
  Child child = spawn(argv, env);
  RunResult result;
  std::mutex mutex;
  std::thread reader(pump, child.out_fd, child.err_fd, std::ref(result.out), std::ref(result.err),
                     std::ref(mutex), nullptr);
  result.exit_code = waitExit(child.pid, timeout);
  if (result.exit_code == -1) {
    kill(child.pid, SIGKILL);
    waitExit(child.pid, std::chrono::seconds(5));
    result.err += "\n[test harness: killed after timeout]";
  }
  reader.join();
  return result;
}

// Each parleyd keeps its state (the share tokens' database) in a directory of its own, as
// systemd's StateDirectory= gives it, unless the test shares one between runs (a restart).
Env withStateDirectory(const Env& env, std::unique_ptr<TempDir>& own) {
  if (env.count("STATE_DIRECTORY")) return env;
  own = std::make_unique<TempDir>("state");
  Env out = env;
  out["STATE_DIRECTORY"] = own->path();
  return out;
}

RunResult runParleyd(const std::vector<std::string>& args, const Env& env) {
  std::vector<std::string> argv = {PARLEYD_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  std::unique_ptr<TempDir> state;
  return runCommand(argv, withStateDirectory(env, state), std::chrono::seconds(30));
}

Parleyd::Parleyd(std::vector<std::string> args, const Env& env, const std::string& exe)
    : output_(std::make_shared<Output>()) {
  std::vector<std::string> argv = {exe, "-D", "http.port=0"};
  argv.insert(argv.end(), args.begin(), args.end());
  Child child = spawn(argv, withStateDirectory(env, state_));
  pid_ = child.pid;
  auto out = output_;
  out->reader = std::thread([out, child] {
    pump(child.out_fd, child.err_fd, out->out, out->err, out->mutex, &out->changed);
    std::lock_guard lock(out->mutex);
    out->closed = true;
    out->changed.notify_all();
  });
  static const std::regex kListening("listening on http://[^:]+:([0-9]+)");
  std::unique_lock lock(out->mutex);
  std::smatch m;
  const bool ok = out->changed.wait_for(lock, std::chrono::seconds(20), [&] {
    return std::regex_search(out->out, m, kListening) || out->closed;
  });
  if (!ok || out->closed || m.empty()) {
    std::string msg = "parleyd did not start:\n" + out->out + out->err;
    lock.unlock();
    terminate();
    throw std::runtime_error(msg);
  }
  port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
}

Parleyd::~Parleyd() {
  terminate();
}

int Parleyd::terminate(std::chrono::seconds timeout) {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    exit_code_ = waitExit(pid_, timeout);
    if (exit_code_ == -1) {
      kill(pid_, SIGKILL);
      exit_code_ = waitExit(pid_, std::chrono::seconds(5));
    }
    pid_ = -1;
    if (output_->reader.joinable()) output_->reader.join();
  }
  return exit_code_;
}

std::string Parleyd::out() const {
  std::lock_guard lock(output_->mutex);
  return output_->out;
}

std::string Parleyd::err() const {
  std::lock_guard lock(output_->mutex);
  return output_->err;
}

bool Parleyd::waitForErr(const std::string& text, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(output_->mutex);
  return output_->changed.wait_for(lock, timeout,
                                   [&] { return output_->err.find(text) != std::string::npos; });
}

struct Drain {
  std::string out, err;
  std::mutex mutex;
  std::condition_variable changed;
  std::thread reader;
};

Background::Background(const std::vector<std::string>& argv) : drain_(std::make_shared<Drain>()) {
  Child child = spawn(argv, {});
  pid_ = child.pid;
  auto d = drain_;
  d->reader = std::thread(
      [d, child] { pump(child.out_fd, child.err_fd, d->out, d->err, d->mutex, &d->changed); });
}

std::string Background::out() const {
  std::lock_guard lock(drain_->mutex);
  return drain_->out;
}

std::string Background::err() const {
  std::lock_guard lock(drain_->mutex);
  return drain_->err;
}

bool Background::waitForOut(const std::string& text, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(drain_->mutex);
  return drain_->changed.wait_for(lock, timeout,
                                  [&] { return drain_->out.find(text) != std::string::npos; });
}

void Background::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  if (waitExit(pid_, std::chrono::seconds(10)) == -1) {
    kill(pid_, SIGKILL);
    waitExit(pid_, std::chrono::seconds(5));
  }
  pid_ = -1;
  if (drain_->reader.joinable()) drain_->reader.join();
}

std::uint16_t freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::vector<std::string> fixtureArgs(const std::string& load, std::vector<std::string> extra) {
  std::vector<std::string> args = {"-D", std::string("plugins.dir=") + PARLEY_FIXTURE_DIR,
                                   "-D", "plugins.load=" + load,
                                   "-D", std::string("auth.operator_tokens=") + kOperatorToken};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TempDir::TempDir(const std::string& tag) {
  path_ = std::string(PARLEY_BINARY_DIR) + "/tmp-" + tag + "-XXXXXX";
  if (!mkdtemp(path_.data())) throw std::runtime_error("mkdtemp failed for " + path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + path);
}

std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return done();
}

}  // namespace parley::test
