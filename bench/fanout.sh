#!/usr/bin/env bash
# Rooms across instances, end to end as a user sees it: a member's 200-byte room event enters
# instance A; a member of the same room on instance B receives it through Redis; 1,000 events/s
# for 10 s. Against, in the same run and on the same Redis: a bare hiredis PUBLISH -> SUBSCRIBE
# (the floor), and Socket.IO 4 with @socket.io/redis-adapter (emit on A -> client on B). Like
# with like: both servers are timed by a Node client (socket.io-client for Socket.IO, `ws` for
# parleyd: bench/node/parleyd_client.js), same runtime, same pacing loop, and the same hops:
# client -> websocket -> A -> Redis -> B -> websocket -> client (Socket.IO's client emits too; no
# server-side emit). The C++ client's figure for parleyd (bench/ws_load.cpp relay) is kept beside,
# labelled as what it is. Then sustained publishing: one
# instance broadcasting room events as fast as it can.
#
# Usage: bench/fanout.sh [ROUNDS] [RATE] [SECONDS] [BURST]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
rounds=${1:-3}
rate=${2:-1000}
seconds=${3:-10}
burst=${4:-300000}
need_build bin/parleyd bin/parley_bench_ws_load bin/parley_bench_hiredis_pubsub \
  lib/parley/plugins/bench_room_event.so lib/parley/plugins/fanout_redis.so
need_node_peer
tmp=$(mktemp -d)
room=2f4e6a8c-0b1d-4e3f-9a5c-7d9e1f3a5b7c
path="/ws/voice?token=bench&participant=interviewer&room_id=$room"

redis_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done

parleyd_args=(-D http.port=0 -D auth.operator_tokens=bench -D log.level=warning
  -D plugins.load=rooms,fanout_redis,bench_room_event -D plugins.fanout_redis.port="$redis_port")
metric() { curl -s -H "Authorization: Bearer bench" "http://127.0.0.1:$1/api/system/metrics" |
  /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
field() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$1"; }

declare -a n50 n99 n999 p50 p99 p999 s50 s99 s999 h50 h99 h999 pub delay
for ((r = 0; r < rounds; r++)); do
  start "$tmp/a.log" "$build/bin/parleyd" "${parleyd_args[@]}"; a_port=$port; a_pid=$last_pid
  start "$tmp/b.log" "$build/bin/parleyd" "${parleyd_args[@]}"; b_port=$port
  line=$("$build/bin/parley_bench_ws_load" relay "$a_port" "$path" "$rate" "$seconds" "$b_port")
  echo "round $r parleyd:   $line"
  p50+=("$(field "$line" p50)"); p99+=("$(field "$line" p99)"); p999+=("$(field "$line" p999)")
  pub+=("$(metric "$a_port" avg_redis_publish_latency_ms)"); delay+=("$(metric "$b_port" avg_fanout_delay_ms)")
  line=$(node bench/node/parleyd_client.js "$a_port" "$b_port" "$path" "$rate" "$seconds")
  echo "round $r parleyd (Node client): $line"
  n50+=("$(field "$line" p50)"); n99+=("$(field "$line" p99)"); n999+=("$(field "$line" p999)")
  stop_last; kill -TERM "$a_pid"; wait "$a_pid" 2>/dev/null || true

  start "$tmp/sa.log" node bench/node/socketio_peer.js "$redis_port"; sa_port=$port; sa_pid=$last_pid
  start "$tmp/sb.log" node bench/node/socketio_peer.js "$redis_port"; sb_port=$port
  line=$(node bench/node/socketio_client.js "$sa_port" "$sb_port" "$rate" "$seconds")
  echo "round $r socket.io: $line"
  s50+=("$(field "$line" p50)"); s99+=("$(field "$line" p99)"); s999+=("$(field "$line" p999)")
  stop_last; kill -TERM "$sa_pid"; wait "$sa_pid" 2>/dev/null || true

  line=$("$build/bin/parley_bench_hiredis_pubsub" "$redis_port" "$rate" "$seconds")
  echo "round $r hiredis:   $line"
  h50+=("$(field "$line" p50)"); h99+=("$(field "$line" p99)"); h999+=("$(field "$line" p999)")
done

echo
echo "| path ($rate events/s for ${seconds}s, 200 bytes; medians of $rounds rounds) | p50 µs | p99 µs | p99.9 µs |"
echo "|---|---|---|---|"
printf "| bare hiredis PUBLISH -> SUBSCRIBE | %.0f | %.0f | %.0f |\n" "$(median "${h50[@]}")" "$(median "${h99[@]}")" "$(median "${h999[@]}")"
printf "| Socket.IO 4 + redis-adapter, emit on A -> client on B | %.0f | %.0f | %.0f |\n" "$(median "${s50[@]}")" "$(median "${s99[@]}")" "$(median "${s999[@]}")"
printf "| **parleyd, member on A -> member on B, Node ws client** (as Socket.IO's) | **%.0f** | **%.0f** | %.0f |\n" "$(median "${n50[@]}")" "$(median "${n99[@]}")" "$(median "${n999[@]}")"
printf "| parleyd, the same with the C++ client (bench/ws_load.cpp; not comparable with Socket.IO's row) | %.0f | %.0f | %.0f |\n" "$(median "${p50[@]}")" "$(median "${p99[@]}")" "$(median "${p999[@]}")"
awk -v p50="$(median "${n50[@]}")" -v p99="$(median "${n99[@]}")" -v s50="$(median "${s50[@]}")" \
  -v s99="$(median "${s99[@]}")" 'BEGIN { printf "\nSocket.IO / parleyd, both with Node clients: p50 %.2fx, p99 %.2fx\n", s50 / p50, s99 / p99 }'
printf "parleyd averages: PUBLISH round trip %s ms (A), fanout delay %s ms (B)\n" "$(median "${pub[@]}")" "$(median "${delay[@]}")"

# Sustained publishing from one instance.
start "$tmp/a.log" "$build/bin/parleyd" "${parleyd_args[@]}"
"$build/bin/parley_bench_ws_load" count "$port" "$path" 1 60 "{\"type\":\"room_burst\",\"count\":$burst}" >/dev/null &
t0=$(date +%s.%N)
for _ in $(seq 600); do
  n=$(metric "$port" redis_publish_samples)
  (( n >= burst )) && break
  sleep 0.1
done
t1=$(date +%s.%N)
failures=$(metric "$port" fanout_publish_failures)
awk -v n="$n" -v a="$t0" -v b="$t1" -v f="$failures" 'BEGIN {
  printf "\nsustained: %d room events published in %.2f s = %.0f events/s, %d failures (bound: plugins.fanout_redis.max_in_flight)\n", n, b - a, n / (b - a), f }'
