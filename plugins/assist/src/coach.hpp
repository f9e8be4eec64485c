// One candidate's coach: follows what the candidate says (partial and final transcripts, with word
// timings when Deepgram gives them) and what happens in the room (questions, answer streams, the
// interviewer speaking), and decides the assist hints for the candidate and the tone-pressure
// events for the room. Lives on the candidate session's scope: every call runs there, one at a
// time.
#pragma once

#include <parley/sdk/json.hpp>
#include <parley/sdk/scope.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data.hpp"

namespace parley::assist {

struct CoachSettings {
  std::string session_id, room_id;
  std::string profile = "general";  // the session's interview profile (its `role`)
  int intensity = 2;                // assist_intensity, 1..3
  std::chrono::milliseconds window{20000};
};

// Where the coach's decisions go. `kind` is the rule's index (hints) or the event's (tone).
struct CoachOutputs {
  std::function<void(std::size_t rule, const std::string& json)> hint;   // to the session
  std::function<void(std::size_t type, const std::string& json)> event;  // to the room
};

class Coach : public std::enable_shared_from_this<Coach> {
 public:
  using Clock = sdk::Scope::Clock;
  Coach(std::shared_ptr<const AssistData> data, CoachSettings settings, sdk::Scope& scope,
        CoachOutputs outputs);

  // The candidate's own speech (bus: transcript.partial, turn.pending, turn.finalized,
  // transcript.speech_started).
  void transcript(const sdk::json::Value& partial);
  void turnPending();
  void turnFinalized();
  void speechStarted();
  // The room (any instance): a new question, an answer stream's start and end, the interviewer
  // speaking.
  void question(const std::string& text);
  void answerStreaming(bool streaming);
  void interviewerSpeaking();
  // The session ended: nothing more is sent.
  void close();

 private:
  struct Word {
    std::string text;  // normalised
    double start = 0, end = 0, confidence = 1;
    bool timed = false;  // Deepgram's timings; text from the browser has none
    Clock::time_point at;
  };
  struct Signals;
  double scale() const;
  std::vector<const Word*> recent(Clock::time_point since) const;
  void forget(Clock::time_point now);
  void hints();
  bool fires(const Rule& rule, const std::vector<const Word*>& words) const;
  void judgeSoon();
  void judgeTone();
  bool toneAllowed(Clock::time_point now) const;
  void emit(std::size_t type, const std::string& signal, const std::vector<std::string>& signs,
            const Signals* measured);

  std::shared_ptr<const AssistData> data_;
  CoachSettings settings_;
  sdk::Scope& scope_;
  CoachOutputs outputs_;
  bool closed_ = false;

  std::deque<Word> finals_;  // final words of the window, oldest first
  std::vector<Word> tail_;   // the latest interim result: the utterance in progress
  std::string question_;
  // The candidate's turn in progress.
  std::size_t turn_words_ = 0;  // final words so far
  std::optional<Clock::time_point> turn_began_, last_word_at_;
  bool pending_ = false;  // the turn waits out its silence window before it is finalized
  bool cut_in_this_turn_ = false;
  // Hints.
  std::optional<Clock::time_point> last_hint_;
  std::map<std::string, Clock::time_point> cool_until_;
  // Tone events.
  bool streaming_ = false;
  std::optional<Clock::time_point> last_event_;
  int events_this_question_ = 0;
  std::size_t event_index_ = 0;
  bool judging_ = false;  // a tone judgement is posted
};

}  // namespace parley::assist
