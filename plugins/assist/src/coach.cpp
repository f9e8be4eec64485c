#include "coach.hpp"

#include <algorithm>
#include <cmath>

namespace parley::assist {

namespace {

using sdk::json::Writer;
constexpr auto kMidTurn = std::chrono::seconds(3);  // a word this recent: the candidate is speaking
constexpr double kMinPaceSpanSec = 3;               // speech needed to measure a pace

double unixNow() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count() / 1e6;
}

std::size_t atLeastOne(double scaled) {
  return static_cast<std::size_t>(std::max(1.0, std::ceil(scaled - 1e-9)));
}

bool hasDigit(const std::string& w) {
  return std::any_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

// What the candidate's speech measures since the last event.
struct Coach::Signals {
  std::size_t words = 0, fillers = 0, long_pauses = 0, timed = 0;
  double filler_ratio = 0, confidence = 1;
  std::optional<double> wpm;
};

Coach::Coach(std::shared_ptr<const AssistData> data, CoachSettings settings, sdk::Scope& scope,
             CoachOutputs outputs)
    : data_(std::move(data)),
      settings_(std::move(settings)),
      scope_(scope),
      outputs_(std::move(outputs)) {}

double Coach::scale() const {
  return data_->scale[std::clamp(settings_.intensity, 1, 3) - 1];
}

void Coach::close() {
  closed_ = true;
}

// ---- What the candidate says -----------------------------------------------------------------

void Coach::transcript(const sdk::json::Value& partial) {
  if (closed_) return;
  const auto now = scope_.now();
  std::vector<Word> words;
  const sdk::json::Value& list = partial["words"];
  for (std::size_t i = 0; i < list.size() && list.isArray(); ++i) {
    const sdk::json::Value& w = list[i];
    for (auto& text : normalWords(std::string(w["word"].asString()))) {
      Word word;
      word.text = std::move(text);
      word.start = w["start"].asNumber();
      word.end = w["end"].asNumber();
      word.confidence = w["confidence"].asNumber(1);
      word.timed = word.end > 0;
      word.at = now;
      words.push_back(std::move(word));
    }
  }
  if (words.empty()) return;
  if (!turn_began_) turn_began_ = now;
  last_word_at_ = now;
  if (partial["final"].asBool()) {
    turn_words_ += words.size();
    for (auto& w : words) finals_.push_back(std::move(w));
    tail_.clear();
  } else {
    tail_ = std::move(words);
  }
  forget(now);
  hints();
  judgeSoon();
}

// Judged once the events this piece set off have arrived: when it ends the utterance, the
// transcription announces the turn's finalization (turn.pending) right after it, and the speech
// is judged when the turn is final.
void Coach::judgeSoon() {
  if (judging_) return;
  judging_ = true;
  scope_.post([self = shared_from_this()] {
    self->judging_ = false;
    self->judgeTone();
  });
}

void Coach::turnPending() {
  pending_ = true;
}

void Coach::turnFinalized() {
  if (closed_) return;
  pending_ = false;
  turn_words_ = 0;
  turn_began_.reset();
  tail_.clear();
  cut_in_this_turn_ = false;
  judgeSoon();  // what was held back while the turn was being finalized
}

void Coach::speechStarted() {
  pending_ = false;  // the candidate goes on: the turn is not ending
}

void Coach::forget(Clock::time_point now) {
  while (!finals_.empty() && now - finals_.front().at > settings_.window) finals_.pop_front();
}

std::vector<const Coach::Word*> Coach::recent(Clock::time_point since) const {
  std::vector<const Word*> out;
  for (const Word& w : finals_)
    if (w.at >= since) out.push_back(&w);
  for (const Word& w : tail_)
    if (w.at >= since) out.push_back(&w);
  return out;
}

// ---- The room --------------------------------------------------------------------------------

void Coach::question(const std::string& text) {
  if (closed_ || text == question_) return;
  question_ = text;
  finals_.clear();  // an answer to a new question is judged on its own
  tail_.clear();
  events_this_question_ = 0;
}

void Coach::answerStreaming(bool streaming) {
  streaming_ = streaming;
}

void Coach::interviewerSpeaking() {
  if (closed_ || cut_in_this_turn_) return;
  const auto now = scope_.now();
  const bool mid_turn = turn_words_ + tail_.size() > 0 && !pending_ && last_word_at_ &&
                        now - *last_word_at_ < kMidTurn;
  if (!mid_turn || !toneAllowed(now)) return;
  cut_in_this_turn_ = true;
  emit(2, "interviewer_cut_in", {"interviewer_cut_in"}, nullptr);
}

// ---- Hints -----------------------------------------------------------------------------------

void Coach::hints() {
  const auto now = scope_.now();
  if (last_hint_ && now - *last_hint_ < std::chrono::duration<double>(data_->hint_gap_sec)) return;
  const auto words = recent(now - settings_.window);
  const Rule* best = nullptr;
  std::size_t best_index = 0;
  for (std::size_t i = 0; i < data_->rules.size(); ++i) {
    const Rule& rule = data_->rules[i];
    if (rule.profile != "*" && rule.profile != settings_.profile) continue;
    if (auto it = cool_until_.find(rule.id); it != cool_until_.end() && now < it->second) continue;
    if ((!best || rule.priority < best->priority) && fires(rule, words)) {
      best = &rule;
      best_index = i;
    }
  }
  if (!best) return;
  last_hint_ = now;
  cool_until_[best->id] = now + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(best->cooldown_sec * scale()));
  Writer w;
  w.beginObject().field("type", "assist_hint").key("payload").beginObject();
  w.field("rule_id", best->id).field("title", best->title).field("message", best->message);
  w.field("severity", best->severity).field("priority", best->priority);
  w.field("profile", settings_.profile).field("timestamp", unixNow()).endObject();
  w.field("session_id", settings_.session_id).endObject();
  outputs_.hint(best_index, w.take());
}

bool Coach::fires(const Rule& rule, const std::vector<const Word*>& words) const {
  std::vector<std::string> texts;
  texts.reserve(words.size());
  for (const Word* w : words) texts.push_back(w->text);
  const double s = scale();
  const auto n = static_cast<double>(texts.size());
  switch (rule.kind) {
    case RuleKind::kMissing: {
      if (texts.size() < atLeastOne(rule.min_words * s)) return false;
      std::size_t hits = rule.lexicon->count(texts);
      if (rule.numbers)
        hits += static_cast<std::size_t>(std::count_if(texts.begin(), texts.end(), hasDigit));
      return static_cast<double>(hits) <= rule.max_hits;
    }
    case RuleKind::kBalance: {
      const auto against = static_cast<double>(rule.against->count(texts));
      const auto own = static_cast<double>(rule.lexicon->count(texts));
      return against >= static_cast<double>(atLeastOne(rule.min_against * s)) &&
             against >= rule.ratio * s * own;
    }
    case RuleKind::kDensity:
      return texts.size() >= atLeastOne(rule.min_words * s) &&
             static_cast<double>(rule.lexicon->count(texts)) / n >= rule.ratio * s;
    case RuleKind::kLength: {
      const std::size_t turn = turn_words_ + tail_.size();
      const double spoken =
          turn_began_ ? std::chrono::duration<double>(scope_.now() - *turn_began_).count() : 0;
      return (rule.max_words > 0 && static_cast<double>(turn) >= rule.max_words * s) ||
             (rule.max_sec > 0 && turn > 0 && spoken >= rule.max_sec * s);
    }
    case RuleKind::kCue: return rule.lexicon->count(texts) >= atLeastOne(rule.min_hits * s);
  }
  return false;
}

// ---- Tone-pressure events --------------------------------------------------------------------

bool Coach::toneAllowed(Clock::time_point now) const {
  const ToneRules& t = data_->tone;
  const int per_question = std::min(
      t.max_per_question, static_cast<int>(std::floor(t.max_per_question / scale() + 1e-9)));
  const double gap_sec = t.min_gap_sec * std::max(1.0, scale());
  return !closed_ && !streaming_ && !pending_ &&
         events_this_question_ < std::max(per_question, 0) &&
         (!last_event_ || now - *last_event_ >= std::chrono::duration<double>(gap_sec));
}

void Coach::judgeTone() {
  const auto now = scope_.now();
  if (!toneAllowed(now)) return;
  const ToneRules& t = data_->tone;
  const double s = scale();
  // What was said since the last event (and within the window).
  Clock::time_point since = now - settings_.window;
  if (last_event_) since = std::max(since, *last_event_ + std::chrono::nanoseconds(1));
  const auto words = recent(since);
  if (words.size() < atLeastOne(t.min_words * s)) return;

  Signals m;
  m.words = words.size();
  std::vector<std::string> texts;
  for (const Word* w : words) texts.push_back(w->text);
  m.fillers = t.fillers->count(texts);
  m.filler_ratio = static_cast<double>(m.fillers) / static_cast<double>(m.words);
  const Word* first_timed = nullptr;
  const Word* previous = nullptr;
  double confidence = 0;
  for (const Word* w : words) {
    if (!w->timed) continue;
    ++m.timed;
    confidence += w->confidence;
    if (!first_timed) first_timed = w;
    // A negative gap is a new stream (a reconnection restarts Deepgram's clock): no pause.
    if (previous && w->start - previous->end > t.long_pause_sec) ++m.long_pauses;
    previous = w;
  }
  if (m.timed > 0) m.confidence = confidence / static_cast<double>(m.timed);
  if (m.timed >= 2 && previous->end - first_timed->start >= kMinPaceSpanSec)
    m.wpm = static_cast<double>(m.timed) * 60 / (previous->end - first_timed->start);

  if (m.wpm && *m.wpm > t.fast_wpm) return emit(2, "fast_pace", {"fast_pace"}, &m);
  std::vector<std::string> signs;
  if (static_cast<double>(m.long_pauses) >= static_cast<double>(atLeastOne(t.long_pauses * s)))
    signs.emplace_back("long_pauses");
  if (m.filler_ratio >= t.filler_ratio * s) signs.emplace_back("fillers");
  if (m.timed > 0 && m.confidence < t.low_confidence) signs.emplace_back("low_confidence");
  if (m.wpm && *m.wpm < t.slow_wpm) signs.emplace_back("slow_pace");
  if (signs.size() >= 2) return emit(1, "hesitation", signs, &m);
  if (signs.size() == 1) emit(0, signs[0], signs, &m);
}

void Coach::emit(std::size_t type, const std::string& signal, const std::vector<std::string>& signs,
                 const Signals* m) {
  const auto now = scope_.now();
  last_event_ = now;
  ++events_this_question_;
  const char* name = kToneEvents[type];
  Writer w;
  w.beginObject().field("type", name).field("room_id", settings_.room_id);
  w.field("event_index", ++event_index_).key("payload").beginObject();
  w.field("signal", signal).key("signals").beginArray();
  for (const auto& sign : signs) w.value(sign);
  w.endArray().field("message", data_->tone.messages.at(name));
  w.field("level", settings_.intensity).field("profile", settings_.profile);
  w.field("question", question_).field("candidate_session_id", settings_.session_id);
  if (m) {
    w.field("words", m->words).field("filler_ratio", m->filler_ratio, 3);
    w.field("long_pauses", m->long_pauses);
    if (m->timed > 0) w.field("confidence", m->confidence, 3);
    if (m->wpm) w.field("speaking_rate_wpm", *m->wpm, 1);
  }
  w.endObject().field("ts", unixNow()).field("session_id", settings_.session_id).endObject();
  outputs_.event(type, w.take());
}

}  // namespace parley::assist
