// Credentials arrive in the address's fragment, which browsers never send to a server (so no log
// ever holds them): #token=T (an operator token or a JWT), or #share=S&room=R (a read-only viewer
// link). They are kept in sessionStorage, for this tab only, and removed from the address bar.
const TOKEN = "parley.token";
const SHARE = "parley.share";

function takeFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const found = { room: params.get("room") || "" };
  if (params.get("token")) sessionStorage.setItem(TOKEN, params.get("token"));
  if (params.get("share")) {
    sessionStorage.setItem(SHARE, JSON.stringify({ token: params.get("share"), room: found.room }));
  }
  if (params.has("token") || params.has("share")) {
    // What is left (the room, say) stays in the address: it is no secret.
    const rest = found.room && !params.has("share") ? "#room=" + encodeURIComponent(found.room) : "";
    history.replaceState(null, "", location.pathname + location.search + rest);
  }
  return found;
}

export const fragment = takeFragment();

export function token() {
  return sessionStorage.getItem(TOKEN) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN, value.trim());
  else sessionStorage.removeItem(TOKEN);
}

// The viewer link this tab was opened with, or null.
export function shareLink() {
  try {
    const link = JSON.parse(sessionStorage.getItem(SHARE) || "null");
    return link && link.token ? link : null;
  } catch {
    return null;
  }
}

export function forgetShareLink() {
  sessionStorage.removeItem(SHARE);
}

// fetch() with the bearer token; resolves to {status, body} (body parsed JSON, or null).
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: "Bearer " + token() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed };
}

// A server error body {"error":{"code","message"}} as one line.
export function describeError(result) {
  const e = result.body && result.body.error;
  return e ? `${e.message} (${e.code}, HTTP ${result.status})` : `HTTP ${result.status}`;
}
