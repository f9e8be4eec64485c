// Session journals: what each session saw and said, kept in the store; the queue that writes them
// in order off the event loops; and the redacted snapshot a share token reads.
#pragma once

#include <parley/sdk/context.hpp>
#include <parley/sdk/json.hpp>
#include <parley/sdk/scope.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "store.hpp"

namespace parley::share {

constexpr std::size_t kMaxTextChars = 4000;  // of any one text in a journal entry

// The store's writes, from any thread, run in order on the worker pool, a batch at a time. A
// route that reads what was just written calls flush() first, on its worker.
class WriteQueue : public std::enable_shared_from_this<WriteQueue> {
 public:
  WriteQueue(std::shared_ptr<Store> store, std::shared_ptr<sdk::Scope> scope, sdk::Logger& log,
             std::size_t max_queued = 100000);
  void push(std::function<void(Store&)> write);  // any thread
  void flush();                                  // a worker thread, or stop()
  std::uint64_t dropped() const;                 // writes refused: the queue was full

 private:
  std::shared_ptr<Store> store_;
  std::shared_ptr<sdk::Scope> scope_;
  sdk::Logger& log_;
  std::size_t max_queued_;
  mutable std::mutex queue_mutex_;
  std::deque<std::function<void(Store&)>> queue_;
  bool scheduled_ = false;
  std::uint64_t dropped_ = 0;
  std::mutex run_mutex_;  // one flush at a time: the writes keep their order
  std::chrono::steady_clock::time_point last_error_log_{};
};

// Journal entries from the events that make them (null when the event does not qualify).
std::optional<Entry> questionEntry(double ts, const sdk::json::Value& interviewer_question);
std::optional<Entry> answerEntry(double ts, const sdk::json::Value& answer_suggestion_done);
std::optional<Entry> toneEntry(double ts, const sdk::json::Value& tone_event);
std::optional<Entry> turnEntry(double ts, const sdk::json::Value& turn_finalized);  // bus
std::optional<Entry> hintEntry(double ts, const sdk::json::Value& assist_hint);     // bus

// The snapshot of a session for a share token's holder: the session's record without its owner,
// and its journal grouped by kind, without what is about other sessions (their turns, hints and
// tone events).
std::string snapshotJson(const SessionRecord& session, const std::vector<Entry>& entries,
                         std::size_t max_entries, double token_expires_at);

}  // namespace parley::share
