#include "transcriber.hpp"

#include <random>

namespace parley::deepgram {

namespace {

using sdk::DisconnectReason;
using sdk::json::Writer;
using Kind = sdk::UpstreamResult::Kind;

constexpr std::size_t kMinFrameBytes = 320;  // anything shorter is not audio worth sending
constexpr auto kStableAfter = std::chrono::seconds(10);

double unixNow() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count() / 1e6;
}

std::chrono::milliseconds jittered(std::chrono::milliseconds base, int attempt) {
  static thread_local std::mt19937 random{std::random_device{}()};
  const auto ceiling = std::min<long long>(5000, base.count() << std::min(attempt, 8));
  std::uniform_int_distribution<long long> pick(ceiling / 2, ceiling);
  return std::chrono::milliseconds(pick(random));
}

}  // namespace

Transcriber::Transcriber(Shared& shared, sdk::Session& session, std::string room)
    : shared_(shared),
      session_(session),
      room_(std::move(room)),
      candidate_(sdk::isCandidate(session.info())),
      audio_(shared.settings.bytes_per_second),
      builder_(shared.settings.min_turn_words, &fillerWords()) {}

Transcriber::~Transcriber() {
  if (state_ == Upstream::kOpen) shared_.streams_open->sub(1);
}

// ---- Audio in, to Deepgram -------------------------------------------------------------------

void Transcriber::onBinary(std::string_view bytes) {
  if (!shared_.settings.use_deepgram || closing_) return;  // text mode: the client transcribes
  if (bytes.size() < kMinFrameBytes) return;
  if (bytes.size() % 2 != 0) {
    // Not 16-bit PCM: the client's audio stream is broken, not Deepgram.
    session_.send(sdk::errorEvent("invalid_audio",
                                  "audio frames are 16-bit little-endian PCM (an even length)",
                                  session_.info().id));
    return session_.stop(DisconnectReason::kReceiveAudioError);
  }
  last_audio_ = session_.scope().now();
  if (state_ == Upstream::kFailed) return;
  if (state_ == Upstream::kOpen) return forward(bytes, last_audio_);
  // Held until the stream opens; past the bound, the client's reads wait instead.
  hold(bytes, last_audio_);
  if (state_ == Upstream::kNone) connect();
}

void Transcriber::forward(std::string_view frame, Clock::time_point received) {
  if (!held_.empty() || !upstream_->sendBinary(frame)) return hold(frame, received);
  audio_.forwarded(frame.size(), received);
  pace();
}

void Transcriber::hold(std::string_view frame, Clock::time_point received) {
  held_.push_back({std::string(frame), received});
  held_bytes_ += frame.size();
  pace();
}

// Sends what was held, in order, while the stream's queue takes it.
void Transcriber::flushHeld() {
  while (!held_.empty() && state_ == Upstream::kOpen &&
         upstream_->sendBinary(held_.front().bytes)) {
    audio_.forwarded(held_.front().bytes.size(), held_.front().received);
    held_bytes_ -= held_.front().bytes.size();
    held_.pop_front();
  }
  pace();
}

// Reads pause while Deepgram (or the stream being opened) is behind the client, and resume once
// it has caught up: audio waits in the client's kernel buffers, never dropped, never piled up here.
void Transcriber::pace() {
  const std::size_t behind =
      held_bytes_ + (state_ == Upstream::kOpen && upstream_ ? upstream_->queuedBytes() : 0);
  if (!paused_ && behind > shared_.settings.max_queued_audio) {
    paused_ = true;
    session_.pauseReading();
  } else if (paused_ && behind <= shared_.settings.max_queued_audio / 2) {
    paused_ = false;
    session_.resumeReading();
  }
}

void Transcriber::connect() {
  state_ = Upstream::kConnecting;
  sdk::WebSocketRequest request;
  request.url = shared_.settings.url;
  request.headers = {{"Authorization", "Token " + shared_.settings.api_key}};
  request.timeouts = shared_.settings.timeouts;
  request.max_send_queue_bytes = 4 * shared_.settings.max_queued_audio;
  sdk::WebSocketCallbacks callbacks;
  callbacks.on_open = [this](const sdk::Fields& headers, const std::string&) { opened(headers); };
  callbacks.on_text = [this](std::string_view text) { received(text); };
  callbacks.on_drain = [this] { flushHeld(); };
  callbacks.on_close = [this](const sdk::UpstreamResult& r) { closed(r); };
  upstream_ =
      shared_.upstreams->webSocket(session_.scope(), std::move(request), std::move(callbacks));
  upstream_->drainThreshold(shared_.settings.max_queued_audio);
}

void Transcriber::opened(const sdk::Fields& headers) {
  state_ = Upstream::kOpen;
  opened_at_ = session_.scope().now();
  shared_.streams->inc();
  shared_.streams_open->add(1);
  audio_.restart();
  for (const auto& [name, value] : headers)
    if (name == "dg-request-id")
      shared_.log->debug("session " + session_.info().id + ": Deepgram request " + value);
  if (warned_) warn("deepgram_resumed", "transcription resumed");
  warned_ = false;
  flushHeld();
  keepalive_ = session_.scope().every(shared_.settings.keepalive, [this] { keepAlive(); });
}

// KeepAlive while no audio flows, so that Deepgram does not close an idle stream (NET-0001).
void Transcriber::keepAlive() {
  if (state_ != Upstream::kOpen) return;
  if (session_.scope().now() - last_audio_ >= shared_.settings.keepalive)
    upstream_->sendText(R"({"type":"KeepAlive"})");
}

void Transcriber::closed(const sdk::UpstreamResult& r) {
  if (state_ == Upstream::kOpen) shared_.streams_open->sub(1);
  keepalive_.cancel();
  const bool was_open = state_ == Upstream::kOpen;
  state_ = Upstream::kNone;
  if (closing_) return;
  // Refusals that a retry cannot mend: bad request, credentials, payment, permission.
  if (r.kind == Kind::kStatus &&
      (r.status == 400 || r.status == 401 || r.status == 402 || r.status == 403))
    return fail("deepgram_refused", "Deepgram refused the stream (HTTP " +
                                        std::to_string(r.status) +
                                        "): " + (r.body.empty() ? r.message : r.body));
  if (r.kind == Kind::kOk && (r.status == 1008 || r.status == 1002))
    return fail("deepgram_audio_rejected",
                "Deepgram could not decode the audio (expected 16-bit little-endian PCM, " +
                    std::to_string(shared_.settings.bytes_per_second / 2) +
                    " samples/s): " + r.reason);
  if (r.kind == Kind::kOk && r.status == 1000 && was_open) return;  // it finished the stream
  std::string why = r.kind == Kind::kOk ? "Deepgram closed the stream (" +
                                              std::to_string(r.status) + " " + r.reason + ")"
                                        : r.message;
  retryOrFail(why);
}

void Transcriber::retryOrFail(const std::string& why) {
  upstream_.reset();
  if (state_ == Upstream::kOpen) shared_.streams_open->sub(1);
  state_ = Upstream::kWaiting;
  keepalive_.cancel();
  if (attempts_ >= shared_.settings.retry_budget)
    return fail("deepgram_unavailable", "transcription stopped: " + why);
  shared_.reconnects->inc();
  if (!warned_) warn("deepgram_reconnecting", "transcription interrupted, reconnecting: " + why);
  warned_ = true;
  retry_ = session_.scope().after(jittered(shared_.settings.retry_backoff, attempts_++),
                                  [this] { connect(); });
}

void Transcriber::fail(const std::string& code, const std::string& message) {
  state_ = Upstream::kFailed;
  upstream_.reset();
  held_.clear();
  held_bytes_ = 0;
  shared_.log->warning("session " + session_.info().id + ": " + message);
  warn(code, message);
  session_.stop(DisconnectReason::kDeepgramError);
}

void Transcriber::received(std::string_view text) {
  sdk::json::Value m;
  if (!sdk::json::parse(text, m)) return;  // Deepgram's own messages are JSON: ignore the rest
  const auto type = m["type"].asString();
  if (auto piece = readResults(m)) {
    // A stream that has worked a while earns a later interruption the whole retry budget again.
    if (session_.scope().now() - opened_at_ >= kStableAfter || !piece->transcript.empty())
      attempts_ = 0;
    return results(*piece);
  }
  if (type == "UtteranceEnd") {
    if (auto u = utterances_.utteranceEnd())
      utteranceEnded(
          *u, audio_.receivedAt(m["last_word_end"].asNumber()).value_or(session_.scope().now()));
    return;
  }
  if (type == "SpeechStarted") {
    if (!speaking_) speech();
    return;
  }
  if (type == "Error")
    shared_.log->warning("session " + session_.info().id +
                         ": Deepgram says: " + std::string(m["description"].asString()));
}

// ---- Turns ------------------------------------------------------------------------------------

void Transcriber::onMessage(std::string_view, const sdk::json::Value& message) {
  // candidate_transcript: text from the browser's own speech recognition.
  if (!candidate_)
    return session_.send(
        sdk::errorEvent("forbidden", "only the candidate sends transcripts", session_.info().id));
  const std::string text(message["text"].asString());
  if (text.empty() && !message["text"].isString())
    return session_.send(sdk::errorEvent(
        "invalid_message", "candidate_transcript needs a string \"text\"", session_.info().id));
  Piece piece;
  piece.transcript = text;
  piece.words = wordsOf(text);
  piece.is_final = message["is_final"].asBool(false);
  piece.speech_final = piece.is_final;
  results(piece);
}

void Transcriber::results(const Piece& piece) {
  if (!piece.transcript.empty()) speech();
  if (!piece.is_final && !piece.transcript.empty()) {
    Writer caption = eventOf("partial_transcript");
    caption.field("text", utterances_.caption(piece));
    caption.field("participant", session_.info().participant);
    broadcast(caption.field("session_id", session_.info().id).endObject().take());
  }
  if (!piece.transcript.empty()) {
    Writer partial;
    partial.beginObject().field("room_id", room_).field("session_id", session_.info().id);
    partial.field("participant", session_.info().participant).field("text", piece.transcript);
    partial.field("final", piece.is_final).key("words").beginArray();
    for (const Word& w : piece.words) {
      partial.beginObject().field("word", w.word).field("start", w.start).field("end", w.end);
      partial.field("confidence", w.confidence).endObject();
    }
    publish("transcript.partial", partial.endArray().field("ts", unixNow()).endObject());
  }
  if (auto u = utterances_.results(piece)) {
    const double last_end = u->words.empty() ? 0 : u->words.back().end;
    const auto at = shared_.settings.use_deepgram && last_end > 0
                        ? audio_.receivedAt(last_end).value_or(session_.scope().now())
                        : session_.scope().now();
    utteranceEnded(*u, at);
  }
}

// Speech goes on: a turn that was waiting out its silence is not over. Other plugins hear when
// someone starts speaking (an interviewer cutting in, for assist).
void Transcriber::speech() {
  if (turn_began_ == Clock::time_point{}) turn_began_ = session_.scope().now();
  silence_.cancel();
  if (speaking_) return;
  speaking_ = true;
  Writer started;
  started.beginObject().field("room_id", room_).field("session_id", session_.info().id);
  started.field("participant", session_.info().participant);
  publish("transcript.speech_started", started.field("ts", unixNow()).endObject());
}

void Transcriber::utteranceEnded(const Utterance& u, Clock::time_point last_word_at) {
  speaking_ = false;
  if (!candidate_) {
    // An interviewer's spoken question is asked as if typed.
    if (readsAsQuestion(u.text))
      if (auto refusal = shared_.rooms->ask(room_, u.text, session_.info().id))
        shared_.log->debug("spoken question not asked: " + *refusal);
    turn_began_ = {};
    return;
  }
  builder_.add(u);
  turn_last_word_ = last_word_at;
  silence_ = session_.scope().after(shared_.settings.silence, [this] { silenceOver(); });
  if (builder_.ready()) {
    // The turn ends after the silence window unless speech resumes (transcript.speech_started).
    Writer pending;
    pending.beginObject().field("room_id", room_).field("session_id", session_.info().id);
    publish("turn.pending", pending.field("ts", unixNow()).endObject());
  }
}

void Transcriber::silenceOver() {
  if (builder_.ready()) emitTurn();
}

void Transcriber::emitTurn() {
  const auto now = session_.scope().now();
  const double wall_s = turn_began_ == Clock::time_point{}
                            ? 0
                            : std::chrono::duration<double>(now - turn_began_).count();
  Turn turn = builder_.take(wall_s);
  turn_began_ = {};
  summary_.add(turn);
  shared_.turns->inc();

  Writer transcript = eventOf("transcript");
  transcript.field("text", turn.text).field("turn_index", turn.index);
  broadcast(transcript.field("session_id", session_.info().id).endObject().take());
  // From the arrival of the audio holding the turn's last word to the transcript handed over.
  const double latency_ms =
      std::chrono::duration<double, std::milli>(session_.scope().now() - turn_last_word_).count();
  shared_.latency_ms->observe(latency_ms);
  summary_.latency_ms_total += latency_ms;
  ++summary_.latency_samples;

  Writer finalized;
  finalized.beginObject().field("room_id", room_).field("session_id", session_.info().id);
  finalized.field("participant", session_.info().participant).field("turn_index", turn.index);
  finalized.field("text", turn.text).field("word_count", turn.words.size());
  finalized.field("confidence", turn.confidence, 3).field("filler_count", turn.fillers);
  finalized.field("speaking_rate_wpm", turn.speaking_rate_wpm, 1);
  finalized.field("duration_s", turn.duration_s, 3).field("latency_ms", latency_ms, 1);
  finalized.key("words").beginArray();
  for (const Word& w : turn.words) {
    finalized.beginObject().field("word", w.punctuated).field("start", w.start);
    finalized.field("end", w.end).field("confidence", w.confidence).endObject();
  }
  publish("turn.finalized", finalized.endArray().field("ts", unixNow()).endObject());

  if (summary_.turns < shared_.settings.max_turns) return;
  broadcast(eventOf("summary_started").field("session_id", session_.info().id).endObject().take());
  Writer summary = eventOf("final_summary");
  summary.key("data").value(summary_.json());
  broadcast(summary.field("session_id", session_.info().id).endObject().take());
  session_.stop(DisconnectReason::kMaxTurnsReached);
}

void Transcriber::onClose(DisconnectReason) {
  closing_ = true;
  silence_.cancel();
  retry_.cancel();
  keepalive_.cancel();
  if (state_ == Upstream::kOpen) {
    // Deepgram flushes what it heard and ends the stream; the socket goes with the session.
    upstream_->sendText(R"({"type":"Finalize"})");
    upstream_->sendText(R"({"type":"CloseStream"})");
  }
  upstream_.reset();
  // What the candidate had said is still a turn for the room.
  if (auto u = utterances_.flush()) builder_.add(*u);
  if (candidate_ && builder_.ready()) emitTurn();
}

// ---- Events -----------------------------------------------------------------------------------

Writer Transcriber::eventOf(const char* type) const {
  Writer w;
  w.beginObject().field("type", type).field("room_id", room_);
  return w;
}

void Transcriber::warn(const std::string& code, const std::string& message) {
  Writer w = eventOf("stt_warning");
  w.field("code", code).field("message", message);
  session_.send(w.field("session_id", session_.info().id).endObject().take());
}

void Transcriber::broadcast(const std::string& json) {
  shared_.rooms->broadcast(room_, json);
}

void Transcriber::publish(const char* topic, const Writer& payload) {
  shared_.events->publish({topic, payload.str()});
}

}  // namespace parley::deepgram
