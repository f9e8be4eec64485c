#!/usr/bin/env bash
# Issue 11. (1) Relay overhead: ROOMS rooms, an interviewer in each asking one question after
# another (the next 200 ms after answer_suggestion), so that ~ROOMS answer streams run at once;
# parleyd (rooms + answers, provider openai, base_url at `fakes sse`, which answers each
# POST /v1/chat/completions with an OpenAI-compatible stream of 100 content chunks at RATE/s,
# phases spread, then finish, usage, [DONE]). Latency = client receive time of
# answer_suggestion_chunk - the fake's write of the SSE chunk (CLOCK_MONOTONIC, stamped in the
# content). Floor in the same run: the client reading ROOMS streams of the same server directly.
# Rounds alternate the order; medians.
# (2) The offline provider: time from interviewer_question sent to the first
# answer_suggestion_chunk received, on the client's clock: one room asking, stopping the answer
# after its first chunk and asking again 100-150 ms later; and ROOMS rooms each letting its answer
# run to the end. plugins.answers.chunk_delay_ms at its default, 40 (the first chunk is due one
# delay after the question), and, to isolate the rest, at 1.
#
# A run during which something else on the machine used more than FOREIGN_MAX % of a core
# (default 15) is run again.
#
# Usage: bench/upstreams/answers.sh [ROUNDS] [ROOMS] [RATE] [SECONDS] [PARTS]
#   PARTS: "relay offline" (default), or either alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
source bench/upstreams/lib_upstreams.sh
rounds=${1:-3}
rooms=${2:-200}
rate=${3:-20}
seconds=${4:-15}
parts=${5:-relay offline}
warmup=3
tmp=$(mktemp -d)

declare -a d50 d99 d999 p50 p99 p999 cpu thr_idle thr_max
one() {
  if [[ $1 == parleyd ]]; then
    start "$tmp/sse.log" "${fakes[@]}" sse --rate "$rate" --chunks 100
    sse_port=$port
    sse_pid=$last_pid
    start_parleyd rooms,answers -D plugins.answers.provider=openai \
      -D plugins.answers.base_url="http://127.0.0.1:$sse_port" -D plugins.answers.api_key=bench
    line=$(BENCH_PIDS=$sse_pid "${client[@]}" answers "$parleyd_port" "$rooms" "$seconds" "$warmup" "$parleyd_pid")
    line="$line streams_started $(metric answer_streams_started)"
    stop_pid "$parleyd_pid"
  else
    start "$tmp/sse.log" "${fakes[@]}" sse --rate "$rate" --pad 160
    sse_port=$port
    sse_pid=$last_pid
    line=$(BENCH_PIDS=$sse_pid "${client[@]}" sse-direct "$sse_port" "$rooms" "$seconds" "$warmup")
  fi
  stop_pid "$sse_pid"
}
[[ $parts == *relay* ]] || rounds=0
for ((r = 0; r < rounds; r++)); do
  for who in $( ((r % 2)) && echo "parleyd direct" || echo "direct parleyd"); do
    measured one "$who"
    echo "round $r $who (try $tries; machine ${busy}% busy before): $line"
    if [[ $who == parleyd ]]; then
      p50+=("$(field p50 "$line")") p99+=("$(field p99 "$line")") p999+=("$(field p999 "$line")")
      cpu+=("$(field cpu_pct "$line")") thr_idle+=("$(field threads_idle "$line")")
      thr_max+=("$(field threads_max "$line")")
    else
      d50+=("$(field p50 "$line")") d99+=("$(field p99 "$line")") d999+=("$(field p999 "$line")")
    fi
  done
done

declare -a offline_rows
offline_one() {  # ROOMS STOP CHUNK_DELAY_MS
  start_parleyd rooms,answers -D plugins.answers.provider=offline \
    ${3:+-D plugins.answers.chunk_delay_ms=$3}
  line=$("${client[@]}" offline "$parleyd_port" "$1" "$seconds" "$warmup" "$2" "$parleyd_pid")
  stop_pid "$parleyd_pid"
}
offline() {  # offline LABEL ROOMS STOP CHUNK_DELAY_MS
  measured offline_one "$2" "$3" "$4"
  echo "offline $1 (try $tries; machine ${busy}% busy before): $line"
  offline_rows+=("$(printf "| %s | %s | %.1f | %.1f | %.1f |" "$1" "$(field samples "$line")" \
    "$(echo "$(field p50 "$line") / 1000" | bc -l)" "$(echo "$(field p99 "$line") / 1000" | bc -l)" \
    "$(echo "$(field max "$line") / 1000" | bc -l)")")
}
if [[ $parts == *offline* ]]; then
  offline "1 room, chunk_delay_ms=40 (default)" 1 1 ""
  offline "$rooms rooms, chunk_delay_ms=40 (default), whole answers" "$rooms" 0 ""
  offline "1 room, chunk_delay_ms=1" 1 1 1
fi

m() { median "$@"; }
echo
if ((rounds > 0)); then
  echo "$(machine); $rooms answer streams x $rate chunks/s, ${seconds}s measured after ${warmup}s; median of $rounds rounds"
  echo
  echo "| path | p50 µs | p99 µs | p99.9 µs |"
  echo "|---|---|---|---|"
  printf "| SSE server → client, direct (floor) | %.0f | %.0f | %.0f |\n" "$(m "${d50[@]}")" "$(m "${d99[@]}")" "$(m "${d999[@]}")"
  printf "| **SSE chunk → parleyd (answers, openai) → \`answer_suggestion_chunk\` at the client** | **%.0f** | **%.0f** | %.0f |\n" "$(m "${p50[@]}")" "$(m "${p99[@]}")" "$(m "${p999[@]}")"
  printf "| difference (parleyd's share) | %.0f | %.0f | %.0f |\n" \
    "$(echo "$(m "${p50[@]}") - $(m "${d50[@]}")" | bc -l)" "$(echo "$(m "${p99[@]}") - $(m "${d99[@]}")" | bc -l)" \
    "$(echo "$(m "${p999[@]}") - $(m "${d999[@]}")" | bc -l)"
  echo
  echo "parleyd during the window: CPU $(m "${cpu[@]}") % of one core (median), threads $(m "${thr_idle[@]}") idle, $(m "${thr_max[@]}") at most under load"
  echo
fi
if ((${#offline_rows[@]})); then
  echo "$(machine); offline provider, ${seconds}s measured after ${warmup}s"
  echo
  echo "| offline provider: question → first chunk | questions timed | p50 ms | p99 ms | max ms |"
  echo "|---|---|---|---|---|"
  printf "%s\n" "${offline_rows[@]}"
fi
