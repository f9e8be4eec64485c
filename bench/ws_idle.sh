#!/usr/bin/env bash
# 10,000 concurrent idle websocket sessions: the server's RSS growth per connection and its total
# thread count, parleyd (with the shipped rooms plugin; every session joins one room) against the
# Node `ws` peer, same client (bench/ws_load.cpp), same run.
#
# Usage: bench/ws_idle.sh [SESSIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
sessions=${1:-10000}
need_build bin/parleyd bin/parley_bench_ws_load
need_node_peer
ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d)
room=7c1e4a52-3b8d-4f6a-9e2c-5d0f1a2b3c4d

status() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

measure() { # name path
  local name=$1 path=$2
  "$build/bin/parley_bench_ws_load" idle "$port" "$path" 1 1 >/dev/null  # warm up the paths
  sleep 0.5
  local rss0 rss1 threads
  rss0=$(status "$last_pid" VmRSS)
  "$build/bin/parley_bench_ws_load" idle "$port" "$path" "$sessions" 8 >"$tmp/clients.out" &
  local clients=$!
  for _ in $(seq 600); do grep -q ready "$tmp/clients.out" && break; sleep 0.1; done
  sleep 1
  rss1=$(status "$last_pid" VmRSS)
  threads=$(status "$last_pid" Threads)
  wait "$clients"
  awk -v n="$name" -v a="$rss0" -v b="$rss1" -v t="$threads" -v s="$sessions" \
    'BEGIN { printf "| %s | %d | %d | %.2f | %d |\n", n, a, b, (b - a) / s, t }'
}

echo "| server | RSS before (KiB) | RSS with $sessions sessions (KiB) | KiB per session | threads |"
echo "|---|---|---|---|---|"
start "$tmp/parleyd.log" "$build/bin/parleyd" -D http.port=0 -D auth.operator_tokens=bench \
  -D log.level=warning -D ws.max_connections=20000
measure "parleyd (rooms loaded)" "/ws/voice?token=bench&participant=interviewer&room_id=$room"
stop_last
start "$tmp/node.log" node bench/node/ws_peer.js 0
measure "Node ws 8" "/"
stop_last
