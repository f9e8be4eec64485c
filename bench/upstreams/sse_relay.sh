#!/usr/bin/env bash
# Issue 9, relay overhead: STREAMS concurrent server-sent-event streams from a local SSE server
# (`fakes sse`, RATE events/s each, phases spread), each relayed by the bench-only plugin
# bench_upstream (SDK upstream HTTP client, SseSplitter, one session each) to its websocket
# session. Latency = client receive time - SSE server send time (CLOCK_MONOTONIC, stamped in each
# event just before the write). Against the floor in the same run: the client reading the same SSE
# server directly; and the same relay with every upstream on one plugin scope, the arrangement of
# the answers plugin (issue 11). Rounds rotate the order; medians of the rounds. A round during which
# something else on the machine used more than FOREIGN_MAX % of a core (default 15) is run again.
#
# Usage: bench/upstreams/sse_relay.sh [ROUNDS] [STREAMS] [RATE] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
source bench/upstreams/lib_upstreams.sh
rounds=${1:-3}
streams=${2:-200}
rate=${3:-20}
seconds=${4:-15}
warmup=3
tmp=$(mktemp -d)

declare -A v50 v99 v999
declare -a cpu thr_idle thr_max cpu_shared
one() {
  # ~230-byte events, the size of an OpenAI chunk.
  start "$tmp/sse.log" "${fakes[@]}" sse --rate "$rate" --pad 160
  sse_port=$port
  sse_pid=$last_pid
  if [[ $1 == direct ]]; then
    line=$(BENCH_PIDS=$sse_pid "${client[@]}" sse-direct "$sse_port" "$streams" "$seconds" "$warmup")
  else
    start_parleyd bench_upstream
    line=$(RELAY_SCOPE=$1 BENCH_PIDS=$sse_pid "${client[@]}" relay "$parleyd_port" "$streams" \
      "$seconds" "$warmup" "http://127.0.0.1:$sse_port/stream" "$parleyd_pid")
    stop_pid "$parleyd_pid"
  fi
  stop_pid "$sse_pid"
}
for ((r = 0; r < rounds; r++)); do
  order="direct session shared"
  ((r % 3 == 1)) && order="session shared direct"
  ((r % 3 == 2)) && order="shared direct session"
  for who in $order; do
    measured one "$who"
    echo "round $r $who (try $tries; machine ${busy}% busy before): $line"
    v50[$who]+=" $(field p50 "$line")" v99[$who]+=" $(field p99 "$line")"
    v999[$who]+=" $(field p999 "$line")"
    if [[ $who == session ]]; then
      cpu+=("$(field cpu_pct "$line")") thr_idle+=("$(field threads_idle "$line")")
      thr_max+=("$(field threads_max "$line")")
    fi
    [[ $who == shared ]] && cpu_shared+=("$(field cpu_pct "$line")")
  done
done
m() { median $1; }
echo
echo "$(machine); $streams streams x $rate events/s for ${seconds}s after ${warmup}s, median of $rounds rounds"
echo
echo "| path | p50 µs | p99 µs | p99.9 µs |"
echo "|---|---|---|---|"
printf "| SSE server → client, direct (floor) | %.0f | %.0f | %.0f |\n" "$(m "${v50[direct]}")" "$(m "${v99[direct]}")" "$(m "${v999[direct]}")"
printf "| **SSE server → parleyd (bench_upstream, upstream on the session's scope) → websocket client** | **%.0f** | **%.0f** | %.0f |\n" "$(m "${v50[session]}")" "$(m "${v99[session]}")" "$(m "${v999[session]}")"
printf "| difference (parleyd's share) | %.0f | %.0f | %.0f |\n" \
  "$(echo "$(m "${v50[session]}") - $(m "${v50[direct]}")" | bc -l)" "$(echo "$(m "${v99[session]}") - $(m "${v99[direct]}")" | bc -l)" \
  "$(echo "$(m "${v999[session]}") - $(m "${v999[direct]}")" | bc -l)"
printf "| the same, every upstream on one plugin scope (as answers runs its streams) | %.0f | %.0f | %.0f |\n" "$(m "${v50[shared]}")" "$(m "${v99[shared]}")" "$(m "${v999[shared]}")"
echo
echo "parleyd during the window (session scopes): CPU $(m "${cpu[*]}") % of one core (median; $(m "${cpu_shared[*]}") % with one shared scope), threads $(m "${thr_idle[*]}") idle, $(m "${thr_max[*]}") at most under load"
