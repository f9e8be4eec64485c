// Runs the real parleyd binary for integration tests: started with a free port, its output
// captured, stopped by PID with SIGTERM (SIGKILL only if it will not stop).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace parley::test {

using Env = std::map<std::string, std::string>;
class TempDir;

struct RunResult {
  int exit_code = -1;  // or 128 + signal
  std::string out;
  std::string err;
};

// Runs a command to completion (bounded by `timeout`), capturing its output.
RunResult runCommand(const std::vector<std::string>& argv, const Env& env = {},
                     std::chrono::seconds timeout = std::chrono::seconds(120));

// parleyd with `args`, run to completion (for --check-config and start-up failures).
RunResult runParleyd(const std::vector<std::string>& args, const Env& env = {});

class Parleyd {
 public:
  // Starts `exe` (default: the built parleyd) with `args` plus -D http.port=0 and waits for its
  // "listening on" line. Throws std::runtime_error with the captured output if it does not come.
  explicit Parleyd(std::vector<std::string> args, const Env& env = {},
                   const std::string& exe = PARLEYD_PATH);
  ~Parleyd();
  Parleyd(const Parleyd&) = delete;
  Parleyd& operator=(const Parleyd&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits; returns the exit code (128 + signal if killed).
  int terminate(std::chrono::seconds timeout = std::chrono::seconds(20));
  std::string out() const;
  std::string err() const;
  // Waits until stderr contains `text`; false after `timeout`.
  bool waitForErr(const std::string& text, std::chrono::milliseconds timeout) const;

 private:
  struct Output;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  int exit_code_ = -1;
  std::shared_ptr<Output> output_;
  std::unique_ptr<TempDir> state_;  // STATE_DIRECTORY, unless the test gave one
};

// Any other server a test needs (redis-server): started in the background, its output
// captured, stopped by PID with SIGTERM.
class Background {
 public:
  explicit Background(const std::vector<std::string>& argv);
  ~Background() { stop(); }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  void stop();
  pid_t pid() const { return pid_; }
  std::string out() const;
  std::string err() const;
  bool waitForOut(const std::string& text, std::chrono::milliseconds timeout) const;

 private:
  pid_t pid_ = -1;
  std::shared_ptr<struct Drain> drain_;
};

// A port nothing listens on right now (bound to 127.0.0.1 and released).
std::uint16_t freePort();

// Polls `done` every 20 ms until it holds (true) or `timeout` passes (false).
bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout);

// Common arguments: the fixture plugin directory and an operator token.
inline const char* kOperatorToken = "test-operator-token";
std::vector<std::string> fixtureArgs(const std::string& load = "",
                                     std::vector<std::string> extra = {});

// A fresh directory under the build tree, removed with everything in it when this goes.
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};
void writeFile(const std::string& path, const std::string& text);
std::string readFile(const std::string& path);

}  // namespace parley::test
