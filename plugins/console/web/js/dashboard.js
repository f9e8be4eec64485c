// The operators' dashboard: polls /api/system/metrics and /readyz, keeps the last ten minutes, and
// charts them. Counters become per-minute rates between two snapshots; a counter that goes down
// means the server restarted, which the charts mark and the rates and averages start again from.
import { api, describeError, setToken, token } from "./credentials.js";

const POLL_MS = 2000;
const KEEP_SEC = 600;
const $ = (id) => document.getElementById(id);

const REASONS = ["client_disconnect", "stop_command", "receive_audio_error", "deepgram_error",
  "socket_closed", "max_turns_reached", "other"];
const COUNTERS = ["ws_disconnects_total", ...REASONS.map((r) => "ws_disconnect_" + r),
  "answer_streams_started", "answer_streams_cancelled", "emotional_events_emitted",
  "assist_hints_emitted", "share_tokens_revoked", "stream_duration_samples", "latency_samples",
  "redis_publish_samples", "fanout_delay_samples"];
const AVERAGES = [
  ["Answer stream duration (s)", "avg_stream_duration", "stream_duration_total_sec", "stream_duration_samples", 3],
  ["Turn finalization latency (ms)", "avg_latency_ms", "latency_total_ms", "latency_samples", 1],
  ["Redis publish latency (ms)", "avg_redis_publish_latency_ms", "redis_publish_total_ms", "redis_publish_samples", 2],
  ["Fanout delay (ms)", "avg_fanout_delay_ms", "fanout_delay_total_ms", "fanout_delay_samples", 2],
];
const NOW = [
  ["Websocket connections", "ws_connections_active"],
  ["Rooms with a member here", "ws_rooms_active"],
  ["Disconnects since start", "ws_disconnects_total"],
  ["Answer streams started", "answer_streams_started"],
  ["Answer streams cancelled", "answer_streams_cancelled"],
  ["Hints", "assist_hints_emitted"],
  ["Tone events", "emotional_events_emitted"],
  ["Share tokens active", "share_tokens_active"],
  ["Share tokens revoked", "share_tokens_revoked"],
  ["Share token TTL (s)", "share_token_ttl_sec"],
];
const COLORS = ["#1f5fbf", "#1e7a3c", "#b3261e", "#9a5b00", "#6a3fb5", "#00838f", "#5b6470"];

const history = []; // {t, m, restart} oldest first; t = the snapshot's generated_at, Unix seconds
const restarts = []; // Unix seconds of each restart seen
let charts = null;

// ---- Polling ---------------------------------------------------------------------------------

async function poll() {
  try {
    const [metrics, ready] = await Promise.all([api("/api/system/metrics"), api("/readyz")]);
    if (metrics.status === 401 || metrics.status === 403) return askForToken(describeError(metrics));
    if (metrics.status !== 200) throw new Error(describeError(metrics));
    record(metrics.body);
    showReadiness(ready);
    setStatus("live", `updated ${new Date().toLocaleTimeString()}`);
  } catch (e) {
    // Unreachable (a restart, say): keep polling; the charts show the gap.
    setStatus("stale", `cannot reach the server (${e.message}); retrying`);
  }
  setTimeout(poll, POLL_MS);
}

function record(m) {
  const t = m.generated_at;
  const last = history[history.length - 1];
  if (last && t <= last.t) return;
  const restart = Boolean(last && COUNTERS.some((k) => (m[k] ?? 0) < (last.m[k] ?? 0)));
  if (restart) {
    restarts.push(t);
    const list = restarts.map((r) => new Date(r * 1000).toLocaleTimeString()).join(", ");
    $("restarts").hidden = false;
    $("restarts").textContent = `The server restarted (seen at ${list}): its counters started ` +
      "again from zero, so the rates and the last minute's averages start again from there.";
  }
  history.push({ t, m, restart });
  while (history.length && history[0].t < t - KEEP_SEC) history.shift();
  showNow(m);
  showAverages();
  draw();
}

// ---- Tables ------------------------------------------------------------------------------------

function row(cells, header = false) {
  const tr = document.createElement("tr");
  cells.forEach((text, i) => {
    const cell = document.createElement(i === 0 && header ? "th" : "td");
    if (i === 0 && header) cell.scope = "row";
    if (i > 0) cell.className = "num";
    cell.textContent = text;
    tr.append(cell);
  });
  return tr;
}

function showNow(m) {
  $("now").replaceChildren(...NOW.map(([label, key]) => {
    const tr = row([label, String(m[key] ?? 0)], true);
    tr.lastChild.id = "now-" + key;
    return tr;
  }));
}

function showAverages() {
  const latest = history[history.length - 1];
  // The oldest snapshot of the last minute since the last restart.
  let from = latest;
  for (let i = history.length - 1; i >= 0; i--) {
    const h = history[i];
    if (h.t < latest.t - 60) break;
    from = h;
    if (h.restart) break;
  }
  $("averages").replaceChildren(...AVERAGES.map(([label, avg, total, samples, digits]) => {
    const n = latest.m[samples] - from.m[samples];
    const windowed = n > 0 ? ((latest.m[total] - from.m[total]) / n).toFixed(digits) : "—";
    const tr = row([label, windowed, latest.m[samples] ? latest.m[avg].toFixed(digits) : "—"], true);
    tr.children[1].title = n > 0 ? `${n} samples` : "no samples in the last minute";
    return tr;
  }));
}

function showReadiness(ready) {
  const body = ready.body || {};
  $("ready").textContent = body.status === "ready" ? "ready" : `not ready (HTTP ${ready.status})`;
  $("plugins").replaceChildren(...(body.plugins || []).map((p) => {
    const tr = document.createElement("tr");
    for (const text of [p.id, p.state, p.ready ? "yes" : "no", p.detail || ""]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  }));
}

// ---- Charts ------------------------------------------------------------------------------------

// Per-minute rate of `key` from the previous snapshot; none across a restart or a gap.
function rate(i, key) {
  const a = history[i - 1];
  const b = history[i];
  if (!a || b.restart || b.t - a.t > (POLL_MS / 1000) * 5) return null;
  return ((b.m[key] - a.m[key]) / (b.t - a.t)) * 60;
}

function chartSpecs() {
  const xs = history.map((h) => h.t);
  const disconnects = REASONS.map((r) => history.map((_, i) => rate(i, "ws_disconnect_" + r)));
  // Stacked: each band is drawn up to the sum of the reasons before it, the tallest first.
  const stacked = disconnects.map((_, k) =>
    xs.map((_, i) => (disconnects[0][i] === null ? null :
      disconnects.slice(0, k + 1).reduce((sum, s) => sum + s[i], 0))));
  return {
    connections: [xs, ["ws_connections_active", "ws_rooms_active"], (k) => history.map((h) => h.m[k])],
    disconnects: [xs, REASONS.slice().reverse(), (r) => stacked[REASONS.indexOf(r)], true],
    answers: [xs, ["answer_streams_started", "answer_streams_cancelled"], (k) => history.map((_, i) => rate(i, k))],
    coaching: [xs, ["assist_hints_emitted", "emotional_events_emitted"], (k) => history.map((_, i) => rate(i, k))],
  };
}

// Dashed lines where the server restarted.
const restartMarks = {
  hooks: {
    draw: [(u) => {
      const ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = "#b3261e";
      ctx.setLineDash([4, 4]);
      for (const t of restarts) {
        const x = Math.round(u.valToPos(t, "x", true));
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
      }
      ctx.restore();
    }],
  },
};

function makeChart(id, names, filled) {
  const el = $("chart-" + id);
  const series = [{}, ...names.map((name, i) => ({
    label: name.replace(/^ws_/, "").replace(/_/g, " "),
    stroke: COLORS[(filled ? names.length - 1 - i : i) % COLORS.length],
    fill: filled ? COLORS[(names.length - 1 - i) % COLORS.length] + "66" : undefined,
    width: 2,
    spanGaps: false,
  }))];
  const opts = {
    width: Math.max(280, el.clientWidth),
    height: 200,
    series,
    scales: { y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [{}, { size: 50 }],
    plugins: [restartMarks],
  };
  return new uPlot(opts, [[], ...names.map(() => [])], el);
}

function draw() {
  const specs = chartSpecs();
  if (!charts) {
    charts = {};
    for (const [id, [, names, , filled]] of Object.entries(specs)) charts[id] = makeChart(id, names, filled);
    addEventListener("resize", () => {
      for (const [id, chart] of Object.entries(charts))
        chart.setSize({ width: Math.max(280, $("chart-" + id).clientWidth), height: 200 });
    });
  }
  for (const [id, [xs, names, values]] of Object.entries(specs))
    charts[id].setData([xs, ...names.map(values)]);
}

// ---- Token and status --------------------------------------------------------------------------

function setStatus(state, text) {
  $("status").dataset.state = state;
  $("status").textContent = text;
}

let polling = false;
function start() {
  $("token-form").hidden = true;
  $("board").hidden = false;
  if (!polling) poll();
  polling = true;
}

function askForToken(why) {
  polling = false;
  $("board").hidden = true;
  $("token-form").hidden = false;
  $("token-error").textContent = why || "";
  setStatus("closed", "no operator token");
}

$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  setToken($("token").value);
  start();
});

if (token()) start();
else askForToken("");
