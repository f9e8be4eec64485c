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
