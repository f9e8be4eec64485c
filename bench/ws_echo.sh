#!/usr/bin/env bash
# Echo round trip through a session: {"type":"ping"} -> {"type":"pong"} at 1,000 messages/s for
# 10 s, timed at the client (bench/ws_load.cpp); parleyd against the Node `ws` peer, same run,
# alternating rounds; percentiles in microseconds.
#
# Usage: bench/ws_echo.sh [ROUNDS] [RATE] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
rounds=${1:-3}
rate=${2:-1000}
seconds=${3:-10}
need_build bin/parleyd bin/parley_bench_ws_load
need_node_peer
tmp=$(mktemp -d)

declare -a p50 p99 n50 n99
for ((r = 0; r < rounds; r++)); do
  for who in $( ((r % 2)) && echo "node parleyd" || echo "parleyd node"); do
    if [[ $who == parleyd ]]; then
      start "$tmp/parleyd.log" "$build/bin/parleyd" -D http.port=0 -D auth.operator_tokens=bench \
        -D log.level=warning
      path="/ws/voice?token=bench"
    else
      start "$tmp/node.log" node bench/node/ws_peer.js 0
      path="/"
    fi
    line=$("$build/bin/parley_bench_ws_load" echo "$port" "$path" "$rate" "$seconds")
    stop_last
    echo "round $r $who: $line"
    read -r a b <<<"$(awk '{ print $4, $8 }' <<<"$line")"
    if [[ $who == parleyd ]]; then p50+=("$a"); p99+=("$b"); else n50+=("$a"); n99+=("$b"); fi
  done
done
echo
echo "| server | p50 µs | p99 µs | (median of $rounds rounds, $rate msg/s for ${seconds}s) |"
echo "|---|---|---|---|"
printf "| Node ws 8 | %.1f | %.1f | |\n" "$(median "${n50[@]}")" "$(median "${n99[@]}")"
printf "| parleyd | %.1f | %.1f | |\n" "$(median "${p50[@]}")" "$(median "${p99[@]}")"
