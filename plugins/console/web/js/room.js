// The interview room: join as interviewer or candidate (or as a viewer from a share link), then
// show what the room says: the question, answer suggestions streaming in, transcripts, coaching.
import { Connection } from "./connection.js";
import { api, describeError, forgetShareLink, fragment, setToken, shareLink, token } from "./credentials.js";
import { speechRecognitionAvailable, startPcmCapture, startSpeechRecognition } from "./microphone.js";

const $ = (id) => document.getElementById(id);
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const ANSWER_STATES = {
  streaming: "streaming…",
  completed: "completed",
  empty: "no answer",
  timeout_fallback: "prepared answer (the model was too slow)",
  error_fallback: "prepared answer (the model failed)",
  cancelled: "cancelled",
  missed: "ended while the connection was down",
};

const room = {
  connection: null,
  participant: "",
  id: "",
  sessionId: "",
  sharedSessionId: "", // the session the read-only link was made for (revoke names it)
  sttMode: "client",
  answer: null, // {item, text, state} of the stream in progress
  mic: null,
};

// ---- Joining ---------------------------------------------------------------------------------

function init() {
  const link = shareLink();
  if (link) return join({ participant: "viewer", roomId: link.room, share: link.token });
  if (!token()) $("token-row").hidden = false;
  $("room-id").value = fragment.room;
  $("join").addEventListener("submit", (e) => {
    e.preventDefault();
    if (!token()) setToken($("token").value);
    if (!token()) return ($("join-error").textContent = "An access token is needed to join.");
    const participant = new FormData($("join")).get("participant");
    const typed = $("room-id").value.trim();
    const roomId = (typed.match(UUID) || [""])[0].toLowerCase();
    if (typed && !roomId) return ($("join-error").textContent = "That is not a room id or link.");
    join({ participant, roomId, profile: $("profile").value });
  });
}

function join({ participant, roomId, profile = "", share = "" }) {
  room.participant = participant;
  $("join").hidden = true;
  $("room").hidden = false;
  $("me").textContent = participant;
  $("room").dataset.participant = participant;
  const viewer = participant === "viewer";
  for (const id of ["copy-invite", "share"]) $(id).hidden = viewer;
  $("speak-card").hidden = participant !== "candidate";
  $("stop-answer").hidden = participant !== "interviewer";
  $("ask").hidden = participant === "candidate";
  if (viewer) {
    // The server refuses a viewer's question anyway; the page says so up front.
    $("ask-text").disabled = $("ask-send").disabled = true;
    $("ask-note").textContent = "Read-only link: viewers cannot ask questions.";
  } else if (speechRecognitionAvailable()) {
    $("ask-speak").hidden = false;
  }
  const params = viewer ? { room_id: roomId, participant } : { room_id: roomId, participant, role: profile };
  const credential = viewer ? { share } : { token: token() };
  room.connection = new Connection(params, credential, { event: onEvent, state: showState });
}

function showState(state, detail = "") {
  const labels = {
    connecting: "Connecting…",
    reconnecting: "Reconnecting…",
    open: "Connected",
    waiting: "Disconnected",
    closed: "Closed",
  };
  $("status").dataset.state = state;
  $("status").textContent = labels[state] + (detail ? ` — ${detail}` : "");
  if (state === "open") room.sessionId = "";
  if (state === "closed") {
    stopMic();
    if (room.participant === "viewer") forgetShareLink();
  }
}

// ---- Events from the room ----------------------------------------------------------------------

const handlers = {
  room_assigned(m) {
    room.id = m.room_id;
    $("room-label").textContent = m.room_id;
    if (room.participant !== "viewer") history.replaceState(null, "", "#room=" + m.room_id);
  },
  sync_state(m) {
    if (!room.sessionId) room.sessionId = m.session_id;
    handlers.room_assigned(m);
    if (m.active_question) $("question").textContent = m.active_question;
    // After a reconnect, the stream we were showing may have gone on, or ended, meanwhile.
    if (m.is_streaming) {
      if (!room.answer || room.answer.question !== m.active_question) startAnswer(m.active_question);
      room.answer.text.textContent = m.partial_answer || "";
    } else if (room.answer) {
      finishAnswer("missed");
    }
  },
  stt_mode(m) {
    room.sttMode = m.mode;
    prepareMic();
  },
  question(m) {
    $("question").textContent = m.question;
  },
  waiting_for_interviewer(m) {
    $("question").textContent = m.message;
  },
  interviewer_question(m) {
    $("question").textContent = m.question;
    addTurn("interviewer", m.question);
  },
  answer_suggestion_start(m) {
    startAnswer(m.question);
  },
  answer_suggestion_chunk(m) {
    if (!room.answer) startAnswer(m.question);
    room.answer.text.append(m.chunk);
  },
  answer_suggestion_done(m) {
    if (!room.answer) startAnswer(m.question);
    if (m.reason !== "cancelled" && m.suggestion) room.answer.text.textContent = m.suggestion;
    finishAnswer(m.reason);
  },
  answer_suggestion(m) {
    if (room.answer) finishAnswer("completed");
  },
  partial_transcript(m) {
    $("partial").textContent = m.text ? `${m.participant || "candidate"}: ${m.text}` : "";
  },
  transcript(m) {
    $("partial").textContent = "";
    addTurn("candidate", m.text);
  },
  assist_hint(m) {
    const p = m.payload || {};
    addFeed("hints", `${p.title || "Hint"}: ${p.message || ""}`, p.severity || "hint");
  },
  stt_warning(m) {
    log(`Transcription: ${m.message || m.code}`, "warning");
  },
  summary_started() {
    log("The interview reached its turn limit; summarising…");
  },
  final_summary(m) {
    const d = m.data || {};
    log(`Summary: ${d.turns} turns, ${d.words} words, ${Math.round(d.speaking_rate_wpm || 0)} ` +
        `words/min, ${d.fillers} fillers.`);
  },
  share_revoked(m) {
    log(`Read-only links revoked: ${m.revoked_count}.`);
  },
  error(m) {
    const text = `${m.message} (${m.code})`;
    if (["question_rejected", "forbidden", "invalid_message"].includes(m.code) &&
        room.participant !== "candidate")
      $("ask-note").textContent = "Refused: " + text;
    log(text, "error");
  },
};
for (const type of ["tone_shift_event", "interruption_simulation", "pressure_spike_event"]) {
  handlers[type] = (m) => {
    const p = m.payload || {};
    addFeed("hints", `${type.replace(/_/g, " ")}: ${p.message || p.signal || ""}`, "tone");
  };
}

function onEvent(m) {
  const handler = handlers[m.type];
  if (handler) handler(m);
}

// ---- Rendering ---------------------------------------------------------------------------------

function startAnswer(question) {
  if (room.answer) finishAnswer("cancelled");
  const item = document.createElement("li");
  const q = document.createElement("p");
  q.className = "answer-question";
  q.textContent = question || "";
  const state = document.createElement("span");
  state.className = "badge";
  const text = document.createElement("p");
  text.className = "answer-text";
  item.append(q, state, text);
  $("answers").prepend(item);
  room.answer = { item, text, state, question };
  setAnswerState("streaming");
}

function setAnswerState(reason) {
  const a = room.answer;
  a.item.dataset.state = reason;
  a.state.textContent = ANSWER_STATES[reason] || reason;
  const streaming = reason === "streaming";
  $("answers").setAttribute("aria-busy", String(streaming));
  $("stop-answer").disabled = !streaming;
}

function finishAnswer(reason) {
  setAnswerState(reason);
  room.answer = null;
}

function addTurn(who, text) {
  const li = document.createElement("li");
  li.dataset.participant = who;
  const label = document.createElement("strong");
  label.textContent = who === "interviewer" ? "Interviewer: " : "Candidate: ";
  li.append(label, text);
  $("turns").append(li);
}

function addFeed(list, text, kind) {
  const li = document.createElement("li");
  li.dataset.kind = kind;
  li.textContent = text;
  $(list).prepend(li);
  while ($(list).children.length > 50) $(list).lastChild.remove();
}

function log(text, kind = "info") {
  addFeed("log", `${new Date().toLocaleTimeString()} ${text}`, kind);
}

// ---- What the user does ------------------------------------------------------------------------

$("ask").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("ask-text").value.trim();
  if (!text) return;
  $("ask-note").textContent = "";
  if (room.connection.send({ type: "interviewer_question", text })) $("ask-text").value = "";
  else $("ask-note").textContent = "Not connected: the question was not sent.";
});

$("say").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("say-text").value.trim();
  if (text && room.connection.send({ type: "candidate_transcript", text, is_final: true }))
    $("say-text").value = "";
});

$("stop-answer").addEventListener("click", () => {
  room.connection.send({ type: "stop_answer_generation" });
});

$("leave").addEventListener("click", () => {
  room.connection.leave();
  history.replaceState(null, "", location.pathname);
});

$("copy-invite").addEventListener("click", () => {
  copy(`${location.origin}/#room=${room.id}`, "Invite link copied (the other person needs a token too).");
});

$("copy-share").addEventListener("click", () => copy($("share-link").value, "Read-only link copied."));

$("share").addEventListener("click", async () => {
  if (!room.sessionId) return note("Not connected yet.");
  const result = await api(`/api/session/${room.sessionId}/share`, { method: "POST", body: {} });
  if (result.status !== 201) return note("Could not make a link: " + describeError(result));
  room.sharedSessionId = room.sessionId;
  $("share-link").value = `${location.origin}/#share=${result.body.share_token}&room=${room.id}`;
  $("share-panel").hidden = false;
  note(`Read-only link valid until ${new Date(result.body.expires_at * 1000).toLocaleString()}.`);
});

$("revoke").addEventListener("click", async () => {
  const result = await api(`/api/share/${room.sharedSessionId}/revoke`, { method: "POST", body: {} });
  if (result.status !== 200) return note("Could not revoke: " + describeError(result));
  $("share-panel").hidden = true;
  note(`Revoked ${result.body.revoked_count} read-only link(s); their viewers were closed.`);
});

$("ask-speak").addEventListener("click", () => {
  const button = $("ask-speak");
  if (room.mic) return stopMic();
  room.mic = startSpeechRecognition({
    onText: (text) => ($("ask-text").value = `${$("ask-text").value} ${text}`.trim()),
    onInterim: (text) => ($("ask-note").textContent = text),
    onEnd: (error) => {
      if (error) $("ask-note").textContent = `Speech recognition stopped: ${error}`;
      stopMic();
    },
  });
  room.micButton = button;
  button.textContent = "Stop listening";
});

function prepareMic() {
  const ok = room.sttMode === "deepgram" || speechRecognitionAvailable();
  $("mic").disabled = !ok;
  $("mic-note").textContent = ok
    ? room.sttMode === "deepgram"
      ? "Your microphone streams to the server's transcription."
      : "Your browser transcribes what you say."
    : "This browser has no speech recognition: type what you say below.";
}

$("mic").addEventListener("click", async () => {
  if (room.mic) return stopMic();
  const button = $("mic");
  room.micButton = button;
  button.setAttribute("aria-pressed", "true");
  button.textContent = "Stop speaking";
  try {
    if (room.sttMode === "deepgram") {
      room.mic = await startPcmCapture((frame) => room.connection.sendBinary(frame));
    } else {
      room.mic = startSpeechRecognition({
        // Interim text makes the room's live caption; final text makes turns.
        onText: (text) => room.connection.send({ type: "candidate_transcript", text, is_final: true }),
        onInterim: (text) => text && room.connection.send({ type: "candidate_transcript", text }),
        onEnd: (error) => {
          if (error) $("mic-note").textContent = `Speech recognition stopped: ${error}`;
          stopMic();
        },
      });
    }
  } catch (e) {
    $("mic-note").textContent = `No microphone: ${e.message}`;
    stopMic();
  }
});

function stopMic() {
  if (room.mic) room.mic.stop();
  room.mic = null;
  const button = room.micButton;
  if (!button) return;
  button.setAttribute("aria-pressed", "false");
  button.textContent = button.id === "mic" ? "Start speaking" : "Speak the question";
}

async function copy(text, done) {
  try {
    await navigator.clipboard.writeText(text);
    note(done);
  } catch {
    note(text);
  }
}

function note(text) {
  $("room-note").textContent = text;
}

init();
