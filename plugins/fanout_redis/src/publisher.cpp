#include "publisher.hpp"

namespace parley::fanout {

Publisher::Publisher(RedisSettings settings, std::size_t max_queue, sdk::Logger& log,
                     std::shared_ptr<sdk::Histogram> latency_ms,
                     std::shared_ptr<sdk::Counter> failures)
    : settings_(std::move(settings)),
      max_queue_(max_queue),
      log_(log),
      latency_ms_(std::move(latency_ms)),
      failures_(std::move(failures)) {}

Publisher::~Publisher() {
  stop();
}

void Publisher::start() {
  thread_ = std::thread([this] { run(); });
}

void Publisher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string Publisher::lastError() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void Publisher::publish(std::string channel, std::string message) {
  enqueue({{"PUBLISH", std::move(channel), std::move(message)}, {}, true});
}

void Publisher::submit(std::vector<std::string> args, OnReply on_reply) {
  enqueue({std::move(args), std::move(on_reply), false});
}

void Publisher::enqueue(Command command) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() < max_queue_) {
      queue_.push_back(std::move(command));
      wake_.notify_one();
      return;
    }
  }
  // The queue is bounded: while Redis is away, what does not fit is dropped (and counted).
  std::deque<Command> lost;
  lost.push_back(std::move(command));
  drop(lost, 0);
}

void Publisher::drop(std::deque<Command>& lost, std::size_t from) {
  for (std::size_t i = from; i < lost.size(); ++i) {
    if (lost[i].is_publish) failures_->inc();
    if (lost[i].on_reply) lost[i].on_reply(nullptr);
  }
}

void Publisher::outage(const std::string& why) {
  std::lock_guard lock(mutex_);
  last_error_ = why;
  if (!in_outage_) {
    in_outage_ = true;
    log_.warning("Redis publishing stopped: " + why + "; events are dropped until it is back");
  }
}

void Publisher::run() {
  int attempt = 0;
  RedisContext c;
  std::deque<Command> batch;
  while (true) {
    if (!c) {
      std::string error;
      c = connectRedis(settings_, error);
      connected_ = c != nullptr;
      if (!c) {
        // Whatever waits is lost for now: at-most-once across an outage.
        std::unique_lock lock(mutex_);
        std::deque<Command> lost;
        lost.swap(queue_);
        lock.unlock();
        outage(error);
        drop(lost, 0);
        lock.lock();
        if (wake_.wait_for(lock, backoff(attempt++, settings_.reconnect_max),
                           [&] { return stopping_; }))
          return;
        continue;
      }
      attempt = 0;
      {
        std::lock_guard lock(mutex_);
        if (in_outage_) log_.info("Redis publishing resumed at " + settings_.where());
        in_outage_ = false;
        last_error_.clear();
      }
      if (on_connect_) on_connect_();
    }
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty()) return;
      batch.swap(queue_);
    }
    if (!send(c.get(), batch)) {
      c.reset();
      connected_ = false;
    }
    batch.clear();
  }
}

bool Publisher::send(redisContext* c, std::deque<Command>& batch) {
  const auto sent_at = std::chrono::steady_clock::now();
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& cmd : batch) {
    argv.clear();
    lens.clear();
    for (const auto& a : cmd.args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());
  }
  std::size_t done = 0;
  for (; done < batch.size(); ++done) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK) break;
    RedisReply reply(static_cast<redisReply*>(raw));
    Command& cmd = batch[done];
    if (cmd.is_publish) {
      if (reply->type == REDIS_REPLY_ERROR) failures_->inc();
      // The round trip of this PUBLISH: from when the pipeline went out to its reply.
      else
        latency_ms_->observe(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent_at)
                .count());
    }
    if (cmd.on_reply) cmd.on_reply(reply.get());
  }
  if (done == batch.size()) return true;
  outage(std::string("Redis at ") + settings_.where() + ": " + c->errstr);
  drop(batch, done);
  return false;
}

}  // namespace parley::fanout
