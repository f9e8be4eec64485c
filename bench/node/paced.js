// What bench/fanout.sh's two Node clients share, so that both servers are timed by the same code:
// sending TOTAL events at RATE/s from one member (the same pacing loop for both), timing their
// arrival at another, and printing the line bench/ws_load.cpp's relay mode prints.
'use strict';

// Calls send(seq) for seq = 0 .. total-1 at `rate` per second; returns the send times (hrtime).
function paceSends(total, rate, send) {
  const sent = new Array(total);
  const intervalNs = BigInt(Math.round(1e9 / rate));
  let next = process.hrtime.bigint();
  let i = 0;
  (function tick() {
    const now = process.hrtime.bigint();
    while (i < total && now >= next) {
      sent[i] = process.hrtime.bigint();
      send(i);
      i += 1;
      next += intervalNs;
    }
    if (i < total) setImmediate(tick);
  })();
  return sent;
}

// Collects latencies (µs) and prints them once all arrived, or at the deadline; then exits.
function latencies(total, seconds) {
  const rtts = [];
  const report = () => {
    rtts.sort((x, y) => x - y);
    const pct = (q) => (rtts.length ? rtts[Math.floor(q * (rtts.length - 1))] : 0);
    console.log(`samples ${rtts.length} p50 ${pct(0.5).toFixed(1)} p90 ${pct(0.9).toFixed(1)} ` +
                `p99 ${pct(0.99).toFixed(1)} p999 ${pct(0.999).toFixed(1)} ` +
                `max ${(rtts[rtts.length - 1] || 0).toFixed(1)} lost ${total - rtts.length}`);
    process.exit(0);
  };
  setTimeout(report, (seconds + 5) * 1000);
  return (sentAt) => {
    rtts.push(Number(process.hrtime.bigint() - sentAt) / 1000);
    if (rtts.length === total) report();
  };
}

module.exports = { paceSends, latencies };
