// Drives Debian's Chromium through the web console against a running parleyd, as people would
// use it, and prints what they would see as one JSON object; tests/integration/console_test.cpp
// starts parleyd, runs this, and checks the observations.
//   node console_check.js --link 'http://127.0.0.1:PORT/#token=T' [--shots DIR]
//        [--restart-signal FILE]  (prints RESTART-NOW, waits for FILE, checks the pages recover)
//   node console_check.js --link ... --scenario microphone   (parleyd transcribing with Deepgram)
"use strict";
const { chromium } = require("playwright-core");

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const link = new URL(args.link);
const base = link.origin;
const token = new URLSearchParams(link.hash.slice(1)).get("token");
const WAIT = { timeout: 20000 };

// Network errors the browser logs while parleyd restarts are expected then, and only then.
const observed = { console_errors: [], csp_violations: [], errors_while_restarting: [], websocket_urls: [], steps: [] };
let restarting = false;
const networkError = /ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|WebSocket connection to .* failed/;
const step = (name) => observed.steps.push(name);

async function newPage(browser, url, label) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const text = `${label}: ${m.text()}`;
    if (m.text().startsWith("CSP violation")) observed.csp_violations.push(text);
    else if (restarting && networkError.test(m.text())) observed.errors_while_restarting.push(text);
    else observed.console_errors.push(text);
  });
  page.on("websocket", (ws) => observed.websocket_urls.push(ws.url()));
  page.on("pageerror", (e) => observed.console_errors.push(`${label}: ${e.message}`));
  await page.goto(url);
  return page;
}

async function join(page, participant) {
  await page.check(`input[name=participant][value=${participant}]`);
  await page.click("#join button[type=submit]");
  await page.waitForFunction(() => document.getElementById("room-label").textContent.length > 0, null, WAIT);
  await page.waitForSelector('#status[data-state="open"]', WAIT);
  return page.textContent("#room-label");
}

// The state of the answer to `question`, once it is no longer streaming.
async function answerState(page, question) {
  const item = page.locator("#answers li", { has: page.locator(".answer-question", { hasText: question }) });
  await item.first().waitFor(WAIT);
  await page.waitForFunction(
    (q) => [...document.querySelectorAll("#answers li")].some(
      (li) => li.querySelector(".answer-question").textContent === q && li.dataset.state !== "streaming"),
    question, WAIT);
  return {
    state: await item.first().getAttribute("data-state"),
    text: await item.first().locator(".answer-text").textContent(),
  };
}

async function ask(page, question) {
  await page.fill("#ask-text", question);
  await page.click("#ask-send");
}

// Pixels of a chart drawn in one of its series' colours (the axes and grid are grey).
async function coloredPixels(page) {
  return page.evaluate(() => [...document.querySelectorAll(".chart canvas")].map((canvas) => {
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
      if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) n++;
    }
    return n;
  }));
}

// Deepgram mode: the candidate's microphone (Chromium's fake device) streams as PCM; the fake
// Deepgram "hears" its script; the interviewer sees the turn.
async function speakThroughTheMicrophone(browser) {
  const interviewer = await newPage(browser, link.href, "interviewer");
  const room = await join(interviewer, "interviewer");
  const candidate = await newPage(browser, `${base}/#token=${token}&room=${room}`, "candidate");
  await join(candidate, "candidate");
  await candidate.waitForFunction(() => document.getElementById("mic-note").textContent.includes("server"), null, WAIT);
  observed.candidate_mic_note = await candidate.textContent("#mic-note");
  await candidate.click("#mic");
  observed.mic_pressed = await candidate.getAttribute("#mic", "aria-pressed");
  await interviewer.waitForSelector('#turns li[data-participant="candidate"]', WAIT);
  observed.interviewer_transcript = await interviewer.textContent('#turns li[data-participant="candidate"]');
  await candidate.click("#mic");
  observed.mic_released = await candidate.getAttribute("#mic", "aria-pressed");
  step("spoken turn seen");
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.PARLEY_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"],
  });
  try {
    if (args.scenario === "microphone") return await speakThroughTheMicrophone(browser);
    // The start-up link logs in; the token leaves the address bar for sessionStorage.
    const interviewer = await newPage(browser, link.href, "interviewer");
    observed.address_after_link = interviewer.url();
    observed.token_in_session_storage = await interviewer.evaluate(() => sessionStorage.getItem("parley.token"));
    const room = await join(interviewer, "interviewer");
    observed.room = room;
    step("interviewer joined");

    const candidate = await newPage(browser, `${base}/#token=${token}&room=${room}`, "candidate");
    observed.candidate_room = await join(candidate, "candidate");
    await candidate.waitForSelector('#mic-note:not(:empty)', WAIT);
    observed.candidate_mic_note = await candidate.textContent("#mic-note");
    step("candidate joined");

    // The candidate types an answer; the interviewer sees it as a turn of the transcript.
    const said = "I led the migration of our billing service and cut the deploy time in half";
    await candidate.fill("#say-text", said);
    await candidate.click("#say button[type=submit]");
    await interviewer.waitForSelector('#turns li[data-participant="candidate"]', WAIT);
    observed.interviewer_transcript = await interviewer.textContent('#turns li[data-participant="candidate"]');
    step("transcript seen");

    // A question streams to completion on both pages.
    const q1 = "Tell me about a time you disagreed with your manager";
    await ask(interviewer, q1);
    observed.q1_interviewer = await answerState(interviewer, q1);
    observed.q1_candidate = await answerState(candidate, q1);
    step("first answer done");

    // A second question while the first streams: the first is cancelled, the second completes.
    const q2 = "How would you design a rate limiter for a public API";
    const q3 = "What is the hardest bug you have fixed and how did you find it";
    await ask(interviewer, q2);
    await interviewer.waitForFunction(
      () => (document.querySelector('#answers li[data-state="streaming"] .answer-text') || {}).textContent,
      null, WAIT);
    await ask(interviewer, q3);
    observed.q2_interviewer = await answerState(interviewer, q2);
    observed.q3_interviewer = await answerState(interviewer, q3);
    observed.q2_candidate = await answerState(candidate, q2);
    observed.q3_candidate = await answerState(candidate, q3);
    step("cancel seen");

    // A read-only link: the viewer sees the room, and its question box is refused.
    await interviewer.click("#share");
    await interviewer.waitForFunction(() => document.getElementById("share-link").value !== "", null, WAIT);
    const shareLink = await interviewer.inputValue("#share-link");
    observed.share_link_has_token = /#share=[^&]+&room=/.test(shareLink);
    const viewer = await newPage(browser, shareLink, "viewer");
    await viewer.waitForSelector('#status[data-state="open"]', WAIT);
    observed.viewer_address = viewer.url();
    observed.viewer_room = await viewer.textContent("#room-label");
    observed.viewer_question = await viewer.textContent("#question");
    observed.viewer_ask_disabled = await viewer.isDisabled("#ask-text");
    // The page disables the box; the server is what refuses. Enable it as a user could, and ask.
    await viewer.evaluate(() => {
      document.getElementById("ask-text").disabled = false;
      document.getElementById("ask-send").disabled = false;
    });
    await ask(viewer, "Can a viewer ask a question here at all");
    await viewer.waitForFunction(() => document.getElementById("ask-note").textContent.startsWith("Refused"), null, WAIT);
    observed.viewer_refusal = await viewer.textContent("#ask-note");
    step("viewer refused");

    // The dashboard: charts drawn, and the connection count the server reports.
    const dashboard = await newPage(browser, `${base}/dashboard#token=${token}`, "dashboard");
    await dashboard.waitForSelector('#status[data-state="live"]', WAIT);
    await dashboard.waitForTimeout(5000); // three polls: rates need two snapshots
    observed.dashboard_chart_pixels = await coloredPixels(dashboard);
    observed.dashboard_connections = Number(await dashboard.textContent("#now-ws_connections_active"));
    const metrics = await (await fetch(`${base}/api/system/metrics`, { headers: { Authorization: `Bearer ${token}` } })).json();
    observed.metrics_connections = metrics.ws_connections_active;
    observed.dashboard_plugins = await dashboard.locator("#plugins tr").count();
    observed.dashboard_ready = await dashboard.textContent("#ready");
    step("dashboard drawn");

    if (args["restart-signal"]) {
      // The test restarts parleyd (same port, same token, same state) once it reads this line.
      restarting = true;
      console.log("RESTART-NOW");
      const fs = require("fs");
      const until = Date.now() + 60000;
      while (!fs.existsSync(args["restart-signal"]) && Date.now() < until) await dashboard.waitForTimeout(100);
      // The dashboard says the counters were reset; the room pages come back by themselves.
      await dashboard.waitForSelector("#restarts:not([hidden])", WAIT);
      observed.restart_notice = await dashboard.textContent("#restarts");
      for (const [who, page] of [["interviewer", interviewer], ["candidate", candidate], ["viewer", viewer]]) {
        await page.waitForSelector('#status[data-state="open"]', { timeout: 40000 });
        observed[`${who}_room_after_restart`] = await page.textContent("#room-label");
      }
      await dashboard.waitForFunction(
        () => document.getElementById("now-ws_connections_active").textContent === "3", null, WAIT);
      await dashboard.waitForSelector('#status[data-state="live"]', WAIT);
      restarting = false;
      observed.dashboard_connections_after_restart = Number(await dashboard.textContent("#now-ws_connections_active"));
      // A question after the restart still streams to both.
      const q4 = "Why do you want to work on this team in particular";
      await ask(interviewer, q4);
      observed.q4_candidate = await answerState(candidate, q4);
      // The only stream since the restart: its duration is the last minute's average and the
      // since-start one alike.
      await dashboard.waitForFunction(() => {
        const cell = document.querySelector("#averages tr:first-child td");
        return cell && cell.textContent !== "—";
      }, null, WAIT);
      observed.stream_duration_averages = await dashboard.$$eval("#averages tr:first-child td", (tds) => tds.map((td) => td.textContent));
      step("restart survived");
    }

    if (args.shots) {
      await interviewer.screenshot({ path: `${args.shots}/console-room.png`, fullPage: true });
      await viewer.screenshot({ path: `${args.shots}/console-viewer.png`, fullPage: true });
      await dashboard.screenshot({ path: `${args.shots}/console-dashboard.png`, fullPage: true });
      await candidate.setViewportSize({ width: 390, height: 844 });
      await candidate.screenshot({ path: `${args.shots}/console-candidate-phone.png`, fullPage: true });
      step("screenshots taken");
    }
  } finally {
    await browser.close();
  }
}

// The observations are the last line of the output.
main().then(
  () => console.log(JSON.stringify(observed)),
  (e) => {
    observed.failure = String(e && e.stack ? e.stack : e);
    console.log(JSON.stringify(observed));
    process.exitCode = 1;
  },
);
