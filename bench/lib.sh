# Shared by the bench/*.sh scripts: start servers on 127.0.0.1, find their port, stop exactly the
# processes we started, and take medians.
build=${BUILD:-build-bench}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

need_build() {
  for t in "$@"; do
    [[ -e $build/$t ]] || {
      echo "build first: cmake -S . -B $build -DPARLEY_BENCH=ON -DCMAKE_BUILD_TYPE=Release && cmake --build $build -j2" >&2
      exit 64
    }
  done
}

need_node_peer() {
  command -v node >/dev/null || { echo "node is not installed" >&2; exit 64; }
  [[ -d bench/node/node_modules/ws ]] || (cd bench/node && npm ci --no-audit --no-fund >/dev/null)
}

# start NAME LOGFILE COMMAND... : runs it in the background, sets $port from its "listening on".
start() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  pids+=($!)
  last_pid=$!
  for _ in $(seq 200); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$log" 2>/dev/null | grep -o '[0-9]*$' || true)
    [[ -n $port ]] && return
    sleep 0.05
  done
  echo "server did not start: $(cat "$log")" >&2
  exit 1
}

stop_last() {
  kill -TERM "$last_pid" 2>/dev/null || true
  wait "$last_pid" 2>/dev/null || true
}

median() { printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# free_port: a loopback TCP port nobody listens on now (whoever binds it next may still race us:
# callers retry when their bind fails).
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "no free port found" >&2
  exit 1
}

# start_redis DIR: a redis-server of our own on a free loopback port, no persistence; sets
# $redis_port. Returns 1 (and starts nothing) when redis-server is not installed.
start_redis() {
  command -v redis-server >/dev/null || return 1
  local line
  for _ in 1 2 3; do
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
      --dir "$1" >"$1/redis.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
      line=$( (exec 3<>"/dev/tcp/127.0.0.1/$redis_port" && printf 'PING\r\n' >&3 &&
        read -r -t 1 l <&3 && echo "$l") 2>/dev/null || true)
      [[ $line == +PONG* ]] && return 0
      kill -0 "${pids[-1]}" 2>/dev/null || break
      sleep 0.05
    done
  done
  echo "redis-server did not start: $(cat "$1/redis.log")" >&2
  exit 1
}

# start_parleyd_all DIR TOKEN [ARGS...]: parleyd with every shipped plugin (the default
# plugins.load, plus fanout_redis on a redis-server of our own when one is installed), its state
# in DIR; sets $port, $last_pid and $plugins_loaded.
start_parleyd_all() {
  local dir=$1 token=$2
  shift 2
  local args=(-D http.port=0 -D auth.operator_tokens="$token" -D log.level=warning
    -D plugins.share_tokens.sqlite_path="$dir/share_tokens.db")
  plugins_loaded="rooms, deepgram, answers, assist, share_tokens, console"
  if start_redis "$dir"; then
    plugins_loaded+=", fanout_redis"
    args+=(-D "plugins.load=$plugins_loaded" -D plugins.fanout_redis.port="$redis_port"
      -D plugins.fanout_redis.required=true)
  fi
  start "$dir/parleyd.log" "$build/bin/parleyd" "${args[@]}" "$@"
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return
    sleep 0.05
  done
  echo "parleyd not ready: $(curl -s "http://127.0.0.1:$port/readyz")" >&2
  exit 1
}

# move_instruments DIR TOKEN HOLD_SECONDS: real traffic through every plugin before measuring
# (bench/ws_load.cpp drive: a question and its streamed answer, a candidate's turn, a coaching
# hint; then a share token for the candidate's session and its snapshot). The two sessions stay
# open for HOLD_SECONDS, so the gauges are not zero either.
move_instruments() {
  local dir=$1 token=$2 hold=$3 sid
  local room=5b0c7a1e-9d2f-4c3b-8e6a-1f2d3c4b5a69
  "$build/bin/parley_bench_ws_load" drive "$port" "/ws/voice?token=$token&room_id=$room" "$hold" \
    >"$dir/drive.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do grep -q '^ready' "$dir/drive.out" && break; sleep 0.1; done
  grep -q '^ready' "$dir/drive.out" || { echo "drive failed: $(cat "$dir/drive.out")" >&2; exit 1; }
  sid=$(awk '/^ready/ { print $2 }' "$dir/drive.out")
  local share
  share=$(curl -sf -X POST -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/api/session/$sid/share") || { echo "share token refused" >&2; exit 1; }
  local api_path
  api_path=$(grep -o '"public_api_path":"[^"]*"' <<<"$share" | cut -d'"' -f4)
  curl -sf "http://127.0.0.1:$port$api_path" >/dev/null || { echo "snapshot refused" >&2; exit 1; }
  # A second token, revoked: share_tokens_revoked moves too.
  local second
  second=$(curl -sf -X POST -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/api/session/$sid/share" | grep -o '"share_token":"[^"]*"' | cut -d'"' -f4)
  curl -sf -X POST -H "Authorization: Bearer $token" -d "{\"token\":\"$second\"}" \
    "http://127.0.0.1:$port/api/share/$sid/revoke" >/dev/null || { echo "revoke refused" >&2; exit 1; }
  sed -n 's/^ready [^ ]* /traffic: /p' "$dir/drive.out"
}

# The machine is shared: say how busy it was, at the start and the end of a run.
load_note() { echo "load average ($1): $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"; }
