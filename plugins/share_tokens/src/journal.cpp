#include "journal.hpp"

namespace parley::share {

namespace {

using sdk::json::Value;
using sdk::json::Writer;

std::string cut(std::string_view text) {
  if (text.size() <= kMaxTextChars) return std::string(text);
  std::size_t end = kMaxTextChars;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // UTF-8
  return std::string(text.substr(0, end));
}

Entry entry(double ts, const char* kind, std::string by, Writer& data) {
  return {ts, kind, std::move(by), data.endObject().take()};
}

}  // namespace

// ---- The write queue ---------------------------------------------------------------------------

WriteQueue::WriteQueue(std::shared_ptr<Store> store, std::shared_ptr<sdk::Scope> scope,
                       sdk::Logger& log, std::size_t max_queued)
    : store_(std::move(store)), scope_(std::move(scope)), log_(log), max_queued_(max_queued) {}

void WriteQueue::push(std::function<void(Store&)> write) {
  {
    std::lock_guard lock(queue_mutex_);
    if (queue_.size() >= max_queued_) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(write));
    if (scheduled_) return;
    scheduled_ = true;
  }
  // offload() is for the scope's own thread: hop there first.
  scope_->post([self = shared_from_this()] {
    if (self->scope_->offload([self] { self->flush(); }, [] {})) return;
    std::lock_guard lock(self->queue_mutex_);
    self->scheduled_ = false;  // the pool is full: the next write tries again
  });
}

void WriteQueue::flush() {
  std::lock_guard running(run_mutex_);
  for (;;) {
    std::deque<std::function<void(Store&)>> batch;
    {
      std::lock_guard lock(queue_mutex_);
      if (queue_.empty()) {
        scheduled_ = false;
        return;
      }
      batch.swap(queue_);
    }
    for (auto& write : batch) {
      try {
        write(*store_);
      } catch (const StoreError& e) {
        // One line per 10 s of trouble, not one per lost entry.
        const auto now = std::chrono::steady_clock::now();
        if (now - last_error_log_ >= std::chrono::seconds(10)) {
          last_error_log_ = now;
          log_.error(std::string("a journal write failed: ") + e.what());
        }
      }
    }
  }
}

std::uint64_t WriteQueue::dropped() const {
  std::lock_guard lock(queue_mutex_);
  return dropped_;
}

// ---- Entries -----------------------------------------------------------------------------------

std::optional<Entry> questionEntry(double ts, const Value& e) {
  if (!e["question"].isString()) return std::nullopt;
  Writer d;
  d.beginObject().field("question", cut(e["question"].asString()));
  return entry(ts, "question", "", d);
}

std::optional<Entry> answerEntry(double ts, const Value& e) {
  Writer d;
  d.beginObject().field("question", cut(e["question"].asString()));
  d.field("suggestion", cut(e["suggestion"].asString())).field("reason", e["reason"].asString());
  return entry(ts, "answer", "", d);
}

std::optional<Entry> toneEntry(double ts, const Value& e) {
  const Value& p = e["payload"];
  const std::string by(p["candidate_session_id"].asString(e["session_id"].asString()));
  Writer d;
  d.beginObject()
      .field("type", e["type"].asString())
      .field("event_index", e["event_index"].asInt());
  d.field("signal", p["signal"].asString()).field("message", cut(p["message"].asString()));
  d.field("level", p["level"].asInt());
  return entry(ts, "tone", by, d);
}

std::optional<Entry> turnEntry(double ts, const Value& e) {
  const auto words = e["word_count"].asNumber();
  Writer d;
  d.beginObject()
      .field("turn_index", e["turn_index"].asInt())
      .field("text", cut(e["text"].asString()));
  d.field("word_count", e["word_count"].asInt()).field("latency_ms", e["latency_ms"].asNumber(), 1);
  d.field("filler_rate", words > 0 ? e["filler_count"].asNumber() / words : 0.0, 3);
  d.field("speaking_rate_wpm", e["speaking_rate_wpm"].asNumber(), 1);
  d.field("duration_s", e["duration_s"].asNumber(), 3);
  return entry(ts, "turn", std::string(e["session_id"].asString()), d);
}

std::optional<Entry> hintEntry(double ts, const Value& e) {
  const Value& p = e["payload"];
  if (!p.isObject()) return std::nullopt;
  Writer d;
  d.beginObject()
      .field("rule_id", p["rule_id"].asString())
      .field("title", cut(p["title"].asString()));
  d.field("message", cut(p["message"].asString())).field("severity", p["severity"].asString());
  return entry(ts, "hint", std::string(e["session_id"].asString()), d);
}

// ---- The snapshot ------------------------------------------------------------------------------

std::string snapshotJson(const SessionRecord& s, const std::vector<Entry>& entries,
                         std::size_t max_entries, double token_expires_at) {
  Writer w;
  w.beginObject().field("session_id", s.session_id).field("room_id", s.room_id);
  w.field("participant", s.participant).field("started_at", s.started_at, 3);
  w.field("live", s.ended_at == 0);
  if (s.ended_at > 0)
    w.field("ended_at", s.ended_at, 3).field("end_reason", s.end_reason);
  else
    w.key("ended_at").value(Value()).key("end_reason").value(Value());
  std::size_t shown = 0;
  for (const char* kind : {"question", "turn", "answer", "hint", "tone"}) {
    static const std::map<std::string, const char*> kGroup = {{"question", "questions"},
                                                              {"turn", "turns"},
                                                              {"answer", "answers"},
                                                              {"hint", "hints"},
                                                              {"tone", "tone_events"}};
    w.key(kGroup.at(kind)).beginArray();
    for (const Entry& e : entries) {
      if (e.kind != kind || (!e.by.empty() && e.by != s.session_id)) continue;
      Value data;
      if (!sdk::json::parse(e.data, data) || !data.isObject()) continue;
      w.beginObject().field("ts", e.ts, 3);
      for (std::size_t i = 0; i < data.keys().size(); ++i)
        w.key(data.keys()[i]).value(data.items()[i]);
      w.endObject();
      ++shown;
    }
    w.endArray();
  }
  w.key("journal").beginObject().field("entries", shown).field("dropped", s.dropped);
  w.field("max_entries", max_entries).endObject();
  w.key("share").beginObject().field("expires_at", token_expires_at, 3).endObject();
  return w.endObject().take();
}

}  // namespace parley::share
