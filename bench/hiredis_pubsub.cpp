// The floor under bench/fanout.sh: a bare hiredis publisher and subscriber on one Redis, no
// server in between. PUBLISH at RATE/s for SECONDS, 200-byte messages; the subscriber times each
// message from its PUBLISH (one process, one steady clock).
//   parley_bench_hiredis_pubsub REDIS_PORT RATE SECONDS
#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc != 4) return 64;
  const int port = std::atoi(argv[1]), rate = std::atoi(argv[2]), seconds = std::atoi(argv[3]);
  const int total = rate * seconds;
  std::vector<Clock::time_point> sent(static_cast<std::size_t>(total));
  std::vector<double> rtt;
  std::atomic<bool> subscribed{false};

  std::thread subscriber([&] {
    redisContext* c = redisConnect("127.0.0.1", port);
    redisReply* r = static_cast<redisReply*>(redisCommand(c, "SUBSCRIBE bench:pubsub"));
    freeReplyObject(r);
    subscribed = true;
    timeval tv{2, 0};
    redisSetTimeout(c, tv);
    while (static_cast<int>(rtt.size()) < total) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK) break;
      auto* m = static_cast<redisReply*>(raw);
      const auto now = Clock::now();
      if (m->type == REDIS_REPLY_ARRAY && m->elements == 3) {
        const int seq = std::atoi(m->element[2]->str);
        rtt.push_back(
            std::chrono::duration<double, std::micro>(now - sent[static_cast<std::size_t>(seq)])
                .count());
      }
      freeReplyObject(m);
    }
    redisFree(c);
  });
  while (!subscribed) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  redisContext* pub = redisConnect("127.0.0.1", port);
  const auto interval = std::chrono::nanoseconds(1000000000LL / rate);
  auto next = Clock::now();
  for (int i = 0; i < total; ++i) {
    std::this_thread::sleep_until(next);
    next += interval;
    std::string msg = std::to_string(i) + " ";
    msg.resize(200, 'x');
    sent[static_cast<std::size_t>(i)] = Clock::now();
    freeReplyObject(redisCommand(pub, "PUBLISH bench:pubsub %b", msg.data(), msg.size()));
  }
  subscriber.join();
  redisFree(pub);
  std::sort(rtt.begin(), rtt.end());
  auto pct = [&](double q) {
    return rtt.empty() ? 0.0 : rtt[static_cast<std::size_t>(q * (rtt.size() - 1))];
  };
  std::printf("samples %zu p50 %.1f p90 %.1f p99 %.1f p999 %.1f max %.1f lost %zu\n", rtt.size(),
              pct(0.5), pct(0.9), pct(0.99), pct(0.999), rtt.empty() ? 0.0 : rtt.back(),
              static_cast<std::size_t>(total) - rtt.size());
  return 0;
}
