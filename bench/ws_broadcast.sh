#!/usr/bin/env bash
# One room of 1,000 members; the server broadcasts 200-byte text frames as fast as the members
# keep up (bounded queues, no loss); frames per second counted at the clients. parleyd (driven by
# the bench_flood plugin) against a Node `ws` server doing the same broadcast by its best path
# (bench/node/ws_peer.js), same clients (bench/ws_load.cpp, one epoll thread), same run,
# rotating rounds. Node serves from one thread, so parleyd also runs with one event loop
# (ws.loop_threads=1): the ratio per core beside the ratio per machine (two loops on two cores).
#
# Usage: bench/ws_broadcast.sh [ROUNDS] [FRAMES_PER_MEMBER] [MEMBERS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
rounds=${1:-5}
frames=${2:-3000}
members=${3:-1000}
need_build bin/parleyd bin/parley_bench_ws_load lib/parley/plugins/bench_flood.so
need_node_peer
ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d)
flood="{\"type\":\"flood\",\"frames\":$frames,\"bytes\":200}"

measure() { # path -> fps
  "$build/bin/parley_bench_ws_load" count "$port" "$1" "$members" 20 "$flood" |
    awk -v want=$((frames * members)) '/^frames/ { if ($2 != want) print "LOST " want - $2 > "/dev/stderr"; print $6 }'
}

declare -a p_fps p1_fps n_fps
orders=("parleyd parleyd1 node" "parleyd1 node parleyd" "node parleyd parleyd1")
for ((r = 0; r < rounds; r++)); do
  for who in ${orders[r % 3]}; do
    if [[ $who == parleyd* ]]; then
      loops=2
      [[ $who == parleyd1 ]] && loops=1
      start "$tmp/parleyd.log" "$build/bin/parleyd" -D http.port=0 -D auth.operator_tokens=bench \
        -D plugins.dir="$build/lib/parley/plugins" -D plugins.load=bench_flood -D log.level=warning \
        -D ws.max_connections=20000 -D ws.loop_threads=$loops
      fps=$(measure "/ws/voice?token=bench")
      if [[ $who == parleyd ]]; then p_fps+=("$fps"); else p1_fps+=("$fps"); fi
    else
      start "$tmp/node.log" node bench/node/ws_peer.js 0
      fps=$(measure "/")
      n_fps+=("$fps")
    fi
    stop_last
    printf "round %d %-8s %12.0f frames/s\n" "$r" "$who" "$fps"
  done
done
pm=$(median "${p_fps[@]}")
p1m=$(median "${p1_fps[@]}")
nm=$(median "${n_fps[@]}")
echo
echo "| server ($members members, 200-byte frames, $frames per member) | delivered frames/s (median of $rounds) |"
echo "|---|---|"
printf "| Node ws 8, best path (encode once, cork/uncork per tick) | %.0f |\n" "$nm"
printf "| parleyd + bench_flood, one event loop (ws.loop_threads=1) | %.0f |\n" "$p1m"
printf "| parleyd + bench_flood, two event loops (the default on 2 cores) | %.0f |\n" "$pm"
awk -v p="$pm" -v p1="$p1m" -v n="$nm" 'BEGIN {
  printf "\nparleyd / Node: per core (one loop each) %.2fx; per machine (parleyd'"'"'s default) %.2fx (target >= 1.5x; and >= 1.5 M frames/s)\n", p1 / n, p / n }'
