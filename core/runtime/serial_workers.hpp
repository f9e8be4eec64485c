// A fixed set of worker threads where each key (a session id) always lands on the same thread,
// so its tasks run in order while different keys run in parallel.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace parley::core {

class SerialWorkers {
 public:
  explicit SerialWorkers(int threads);
  ~SerialWorkers();  // runs what is queued, then joins
  void post(const std::string& key, std::function<void()> task);
  void shutdown();

 private:
  struct Worker {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<std::function<void()>> tasks;
    bool stopping = false;
    std::thread thread;
  };
  static void run(Worker& w);
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace parley::core
