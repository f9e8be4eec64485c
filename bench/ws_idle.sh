#!/usr/bin/env bash
# 10,000 concurrent idle websocket sessions, opened with 1,000 handshakes in flight at once (every
# client reconnecting after a restart): whether every handshake succeeds, how long they take, the
# server's RSS growth per session and its thread count (the most seen while they open, sampled
# every 50 ms, and with them open). parleyd with every shipped plugin loaded (the default
# plugins.load, plus fanout_redis on a redis-server of our own when one is installed; every
# session an interviewer in one room) against the Node `ws` peer; same client
# (bench/ws_load.cpp storm: one epoll thread; 1,000 non-blocking connects at the start, each
# request written as its connect completes, a new connect for each handshake answered), same run.
#
# Usage: bench/ws_idle.sh [SESSIONS] [IN_FLIGHT]
# Run it under flock /tmp/parley-bench.lock when others benchmark on the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
sessions=${1:-10000}
inflight=${2:-1000}
need_build bin/parleyd bin/parley_bench_ws_load
need_node_peer
ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d)
room=7c1e4a52-3b8d-4f6a-9e2c-5d0f1a2b3c4d

status() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

measure() { # name path
  local name=$1 path=$2
  "$build/bin/parley_bench_ws_load" storm "$port" "$path" 1 0 1 >/dev/null # warm up the paths
  sleep 0.5
  local rss0 rss1 threads peak=0 t
  rss0=$(status "$last_pid" VmRSS)
  "$build/bin/parley_bench_ws_load" storm "$port" "$path" "$sessions" 5 "$inflight" >"$tmp/clients.out" &
  local clients=$!
  pids+=("$clients")
  for _ in $(seq 2400); do
    t=$(status "$last_pid" Threads)
    ((t > peak)) && peak=$t
    grep -q ready "$tmp/clients.out" && break
    sleep 0.05
  done
  sleep 1
  rss1=$(status "$last_pid" VmRSS)
  threads=$(status "$last_pid" Threads)
  ((threads > peak)) && peak=$threads
  wait "$clients" || true
  local line
  line=$(grep ready "$tmp/clients.out")
  echo "$name: $line" >&2
  awk -v n="$name" -v a="$rss0" -v b="$rss1" -v t="$threads" -v p="$peak" -v s="$sessions" -v l="$line" '
    BEGIN {
      nf = split(l, f, " "); for (i = 1; i < nf; i++) v[f[i]] = f[i + 1]
      for (i = 1; i < nf; i++) if (f[i] == "handshake_ms") { p50 = f[i + 2]; p99 = f[i + 4] }
      printf "| %s | %d / %d | %d | %.2f | %s / %s | %d | %d | %.2f | %d / %d |\n", n, v["ok"], s,
        v["peak_in_flight"], v["seconds"], p50, p99, a, b, (b - a) / s, p, t }'
}

load_note start
echo "$sessions sessions, $inflight handshakes in flight at once"
echo
echo "| server | handshakes ok | most in flight | seconds to open all | handshake p50 / p99 ms | RSS before (KiB) | RSS with them (KiB) | KiB per session | threads (most while opening / with them open) |"
echo "|---|---|---|---|---|---|---|---|---|"
start_parleyd_all "$tmp" bench -D ws.max_connections=20000
measure "parleyd ($plugins_loaded)" "/ws/voice?token=bench&participant=interviewer&room_id=$room"
stop_last
start "$tmp/node.log" node bench/node/ws_peer.js 0
measure "Node ws 8" "/"
stop_last
