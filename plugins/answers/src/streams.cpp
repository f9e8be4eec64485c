#include "streams.hpp"

#include <cctype>

namespace parley::answers {

namespace {

using Clock = sdk::Scope::Clock;
using sdk::json::Writer;
constexpr std::size_t kKeyChars = 50;
constexpr auto kStateEvery = std::chrono::milliseconds(200);  // partial_answer writes, at most
constexpr std::size_t kContextChars = 4000;  // of the JD and the resume in a prompt

// What makes two questions the same: the first 50 characters, lower-cased.
std::string keyOf(const std::string& question) {
  std::string key = question.substr(0, kKeyChars);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

double unixNow() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count() / 1e6;
}

}  // namespace

const char* endingName(Ending e) {
  switch (e) {
    case Ending::kCompleted: return "completed";
    case Ending::kEmpty: return "empty";
    case Ending::kTimeoutFallback: return "timeout_fallback";
    case Ending::kErrorFallback: return "error_fallback";
    case Ending::kCancelled: return "cancelled";
    case Ending::kEndings: break;
  }
  return "?";
}

struct Streams::Stream {
  std::string room, question, key, session_id;
  Clock::time_point started;
  std::size_t index = 0;
  std::string text;  // the suggestion so far
  bool got_token = false;
  std::unique_ptr<sdk::HttpExchange> exchange;
  int status = 0;
  std::string error_body;
  sdk::SseSplitter sse;
  sdk::Timer first_token, total, next_chunk, state_write;
  bool state_dirty = false;
  std::vector<std::string> pending;  // the offline provider's chunks still to send
  std::size_t next_pending = 0;
};

Streams::Streams(Settings settings, sdk::Scope& scope, sdk::Upstreams& upstreams,
                 sdk::RoomsService& rooms, sdk::EventBus& events, sdk::Logger& log,
                 Instruments& instruments, OfflineAnswers offline)
    : settings_(std::move(settings)),
      scope_(scope),
      upstreams_(upstreams),
      rooms_(rooms),
      events_(events),
      log_(log),
      instruments_(instruments),
      offline_(std::move(offline)) {}

Streams::~Streams() = default;

void Streams::profile(const std::string& room, const Profile& p) {
  profiles_.emplace(room, p);  // the first one stays
}

void Streams::question(const std::string& room, const std::string& text,
                       const std::string& session_id) {
  const std::string key = keyOf(text);
  if (auto it = running_.find(room); it != running_.end()) {
    if (it->second->key == key) return;  // the same question while its answer streams
    finish(room, Ending::kCancelled, it->second->text);
  }
  auto stream = std::make_unique<Stream>();
  Stream& s = *stream;
  s.room = room;
  s.question = text;
  s.key = key;
  s.session_id = session_id;
  s.started = scope_.now();
  running_[room] = std::move(stream);
  instruments_.started->inc();

  broadcast(s, "answer_suggestion_start", [](Writer&) {});
  rooms_.updateState(room, [](sdk::RoomState& st) {
    st.partial_answer.clear();
    st.is_streaming = true;
  });
  Writer started;
  started.beginObject().field("room_id", room).field("question", text);
  events_.publish({"answer.started", started.field("ts", unixNow()).endObject().take()});

  if (settings_.openai)
    startOpenAi(s);
  else
    startOffline(s, offline_.answer(text, profiles_[room].role));
}

void Streams::stop(const std::string& room) {
  if (auto it = running_.find(room); it != running_.end())
    finish(room, Ending::kCancelled, it->second->text);
}

void Streams::roomEmptied(const std::string& room) {
  stop(room);
  profiles_.erase(room);
}

// ---- The offline provider: prepared answers, streamed in chunks like a real model ------------

void Streams::startOffline(Stream& s, const std::string& text) {
  s.pending = chunks(text, settings_.chunk_words);
  const std::string room = s.room;
  auto next = [this, room] {
    auto it = running_.find(room);
    if (it == running_.end()) return;
    Stream& st = *it->second;
    if (st.next_pending == st.pending.size()) {
      st.next_chunk.cancel();
      return finish(room, st.text.empty() ? Ending::kEmpty : Ending::kCompleted, st.text);
    }
    chunk(st, st.pending[st.next_pending++]);
  };
  s.next_chunk = scope_.every(settings_.chunk_delay, next);
}

// ---- An OpenAI-compatible streaming endpoint ------------------------------------------------

std::string Streams::prompt(const Stream& s) const {
  const Profile& p = profiles_.count(s.room) ? profiles_.at(s.room) : Profile{};
  Writer body;
  body.beginObject().field("model", settings_.model).key("messages").beginArray();
  body.beginObject().field("role", "system");
  body.field("content",
             "You coach a candidate live during a job interview. Suggest, in the candidate's "
             "voice, a concise answer (under 120 words) to the interviewer's question, "
             "structured so it can be said aloud. Interview profile: " +
                 p.role + ". Answer in the language with code '" + p.answer_language + "'.");
  body.endObject();
  std::string user;
  if (!p.jd.empty()) user += "Job description:\n" + p.jd.substr(0, kContextChars) + "\n\n";
  if (!p.resume.empty())
    user += "Candidate's resume:\n" + p.resume.substr(0, kContextChars) + "\n\n";
  user += "Interviewer's question: " + s.question;
  body.beginObject().field("role", "user").field("content", user).endObject();
  body.endArray().field("stream", true).key("stream_options").beginObject();
  body.field("include_usage", true).endObject();
  return body.endObject().take();
}

void Streams::startOpenAi(Stream& s) {
  sdk::HttpRequest request;
  request.method = "POST";
  request.url = settings_.base_url + "/v1/chat/completions";
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
  if (!settings_.api_key.empty())
    request.headers.emplace_back("Authorization", "Bearer " + settings_.api_key);
  request.body = prompt(s);
  request.timeouts.connect = request.timeouts.tls_handshake = settings_.connect_timeout;
  request.timeouts.first_byte = settings_.first_token_timeout;
  request.timeouts.idle = settings_.first_token_timeout;
  const std::string room = s.room;
  auto with = [this, room](auto&& f) {
    auto it = running_.find(room);
    if (it != running_.end()) f(*it->second);
  };
  sdk::HttpCallbacks callbacks;
  callbacks.on_head = [with](int status, const sdk::Fields&) {
    with([status](Stream& st) { st.status = status; });
  };
  callbacks.on_body = [this, with](std::string_view piece) {
    with([&](Stream& st) {
      if (st.status != 200) {
        if (st.error_body.size() < 2048) st.error_body.append(piece);
        return;
      }
      sse(st, piece);
    });
  };
  callbacks.on_done = [this, with](const sdk::UpstreamResult& r) {
    with([&](Stream& st) {
      if (st.status != 200 && st.status != 0)
        return fallBack(st, Ending::kErrorFallback,
                        "HTTP " + std::to_string(st.status) + ": " + st.error_body);
      // The body ended without [DONE]: the provider stopped mid-answer.
      fallBack(st,
               r.kind == sdk::UpstreamResult::Kind::kTimeout ? Ending::kTimeoutFallback
                                                             : Ending::kErrorFallback,
               r.ok() ? "the stream ended without [DONE]" : r.message);
    });
  };
  s.exchange = upstreams_.http(scope_, std::move(request), std::move(callbacks));
  s.first_token = scope_.after(settings_.first_token_timeout, [this, with] {
    with([&](Stream& st) { fallBack(st, Ending::kTimeoutFallback, "no first token in time"); });
  });
  s.total = scope_.after(settings_.total_timeout, [this, with] {
    with([&](Stream& st) { fallBack(st, Ending::kTimeoutFallback, "the answer took too long"); });
  });
}

void Streams::sse(Stream& s, std::string_view piece) {
  const std::string room = s.room;
  s.sse.feed(piece, [&](const sdk::SseSplitter::Event& e) {
    if (!running_.count(room)) return;  // finished by an earlier event of this piece
    if (e.data == "[DONE]")
      return finish(room, s.text.empty() ? Ending::kEmpty : Ending::kCompleted, s.text);
    sdk::json::Value v;
    if (!sdk::json::parse(e.data, v))
      return fallBack(s, Ending::kErrorFallback, "a stream event is not JSON");
    if (v.has("error"))
      return fallBack(s, Ending::kErrorFallback,
                      std::string(v["error"]["message"].asString("the provider failed")));
    const sdk::json::Value& content = v["choices"][0]["delta"]["content"];
    if (content.isString() && !content.asString().empty())  // null and "" carry nothing
      chunk(s, std::string(content.asString()));
  });
}

void Streams::chunk(Stream& s, const std::string& text) {
  if (!s.got_token) {
    s.got_token = true;
    s.first_token.cancel();
  }
  const std::size_t index = s.index++;
  broadcast(s, "answer_suggestion_chunk",
            [&](Writer& w) { w.field("chunk", text).field("index", index); });
  s.text += text;
  // sync_state shows the partial answer; written to the room at most every 200 ms.
  if (s.state_write) {
    s.state_dirty = true;
    return;
  }
  const std::string room = s.room;
  rooms_.updateState(room, [&](sdk::RoomState& st) { st.partial_answer = s.text; });
  s.state_write = scope_.after(kStateEvery, [this, room] {
    auto it = running_.find(room);
    if (it == running_.end()) return;
    Stream& st = *it->second;
    st.state_write.cancel();
    if (!st.state_dirty) return;
    st.state_dirty = false;
    rooms_.updateState(room, [&](sdk::RoomState& state) { state.partial_answer = st.text; });
  });
}

// The provider failed or was too slow: the offline answer stands in for it.
void Streams::fallBack(Stream& s, Ending why, const std::string& log_reason) {
  log_.warning("answer for room " + s.room + " falls back to the offline answer (" +
               endingName(why) + "): " + log_reason);
  const std::string room = s.room;
  finish(room, why, offline_.answer(s.question, profiles_[room].role));
}

void Streams::finish(const std::string& room, Ending ending, std::string suggestion) {
  auto it = running_.find(room);
  if (it == running_.end()) return;
  std::unique_ptr<Stream> s = std::move(it->second);
  running_.erase(it);
  s->exchange.reset();  // closes the provider's connection at once
  const double seconds = std::chrono::duration<double>(scope_.now() - s->started).count();
  instruments_.duration_s->observe(seconds);
  instruments_.endings->inc(static_cast<std::size_t>(ending));
  if (ending == Ending::kCancelled) instruments_.cancelled->inc();

  auto result = [&](Writer& w) {
    w.field("suggestion", suggestion).field("reason", endingName(ending));
  };
  broadcast(*s, "answer_suggestion_done", result);
  if (ending != Ending::kCancelled) broadcast(*s, "answer_suggestion", result);
  rooms_.updateState(room, [&](sdk::RoomState& st) {
    st.partial_answer = suggestion;
    st.is_streaming = false;
  });
  Writer finished;
  finished.beginObject().field("room_id", room).field("question", s->question);
  finished.field("suggestion", suggestion).field("reason", endingName(ending));
  finished.field("duration_s", seconds, 3).field("ts", unixNow()).endObject();
  events_.publish({"answer.finished", finished.take()});
  // finish() may run inside one of the stream's own callbacks (its SSE parser, its timer): the
  // stream goes once that callback has returned.
  retired_.push_back(std::move(s));
  scope_.post([this] { retired_.clear(); });
}

// {"type", "question", <fields>, "room_id", "session_id"}: to every member of the room, on every
// instance.
void Streams::broadcast(const Stream& s, const char* type,
                        const std::function<void(Writer&)>& fields) {
  Writer w;
  w.beginObject().field("type", type).field("question", s.question);
  fields(w);
  w.field("room_id", s.room).field("session_id", s.session_id).endObject();
  rooms_.broadcast(s.room, w.take());
}

}  // namespace parley::answers
