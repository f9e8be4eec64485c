#!/usr/bin/env bash
# Issue 9, idle upstream websockets: COUNT upstream websockets opened by the bench-only plugin
# bench_upstream through the SDK's websocket client (Context::upstreams().webSocket, no idle
# timeout), spread over two plugin scopes (one per event loop), to a local websocket server that
# only answers pings and closes (`fakes ws`). parleyd's threads and RSS (/proc/PID/status) with
# none (after a warm-up of 10 opened and dropped: what is made once per process is not counted per
# upstream), with them open, and after they were dropped; each round a fresh parleyd; medians.
#
# Usage: bench/upstreams/idle_upstreams.sh [ROUNDS] [COUNT] [HOLD_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
source bench/upstreams/lib_upstreams.sh
rounds=${1:-3}
count=${2:-500}
hold=${3:-2}
tmp=$(mktemp -d)

declare -a t_none t_open t_closed r_none r_open r_closed per opened_ms gauge
for ((r = 0; r < rounds; r++)); do
  wait_quiet
  start "$tmp/ws.log" "${fakes[@]}" ws
  ws_port=$port
  ws_pid=$last_pid
  start_parleyd bench_upstream
  "${client[@]}" idle "$parleyd_port" "$count" "ws://127.0.0.1:$ws_port/idle" "$hold" "$parleyd_pid" \
    >"$tmp/idle.out" &
  client_pid=$!
  for _ in $(seq 300); do
    grep -q '^open ' "$tmp/idle.out" && break
    sleep 0.1
  done
  gauge+=("$(metric upstream_open)")
  wait "$client_pid"
  stop_pid "$parleyd_pid"
  stop_pid "$ws_pid"
  out=$(cat "$tmp/idle.out")
  echo "round $r (machine ${busy}% busy before): $(tr '\n' ' ' <<<"$out") upstream_open ${gauge[-1]}"
  grep -q '"open":'"$count"',"failed":0' <<<"$out" || { echo "not all upstreams opened" >&2; exit 1; }
  t_none+=("$(field threads "$(grep '^none' <<<"$out")")")
  t_open+=("$(field threads "$(grep '^open ' <<<"$out")")")
  t_closed+=("$(field threads "$(grep '^closed' <<<"$out")")")
  r_none+=("$(field rss_kib "$(grep '^none' <<<"$out")")")
  r_open+=("$(field rss_kib "$(grep '^open ' <<<"$out")")")
  r_closed+=("$(field rss_kib "$(grep '^closed' <<<"$out")")")
  opened_ms+=("$(field opened_in_ms "$(grep '^opened_in_ms' <<<"$out")")")
  per+=("$(echo "(${r_open[-1]} - ${r_none[-1]}) / $count" | bc -l)")
done
echo
echo "$(machine); $count idle upstream websockets, median of $rounds rounds"
echo
echo "| parleyd (bench_upstream loaded, one control session) | threads | RSS KiB |"
echo "|---|---|---|"
printf "| no upstream | %s | %s |\n" "$(median "${t_none[@]}")" "$(median "${r_none[@]}")"
printf "| %d upstream websockets open (\`upstream_open\` = %s) | **%s** | %s |\n" "$count" \
  "$(median "${gauge[@]}")" "$(median "${t_open[@]}")" "$(median "${r_open[@]}")"
printf "| after dropping them | %s | %s |\n" "$(median "${t_closed[@]}")" "$(median "${r_closed[@]}")"
printf "\n**%.2f KiB of RSS per upstream websocket** (median of the rounds' (open - none) / %d); all %d opened in %.0f ms (median).\n" \
  "$(median "${per[@]}")" "$count" "$count" "$(median "${opened_ms[@]}")"
