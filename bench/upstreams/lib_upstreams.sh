# Sourced by bench/upstreams/*.sh after bench/lib.sh: the fakes and client, stopping one process
# we started (and forgetting its PID, so that lib.sh's exit trap never signals a reused PID), and
# reading "name value" pairs from the client's line.
plugins_dir=$build/lib/parley/plugins
fakes=("$build/bin/parley_bench_upstream_fakes")
client=("$build/bin/parley_bench_upstream_client")
need_build bin/parleyd bin/parley_bench_upstream_fakes bin/parley_bench_upstream_client \
  lib/parley/plugins/bench_upstream.so

# stop_pid PID: SIGTERM, wait, forget.
stop_pid() {
  local p=$1 kept=()
  kill -TERM "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  for q in "${pids[@]}"; do [[ $q == "$p" ]] || kept+=("$q"); done
  pids=("${kept[@]}")
}

# field NAME LINE: the value after NAME in a line of "name value" pairs ("" if absent).
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' <<<"$2"; }

# parleyd PLUGINS [-D key=value]...: starts parleyd on a free port with an operator token "bench";
# sets parleyd_port and parleyd_pid.
start_parleyd() {
  local load=$1
  shift
  start "$tmp/parleyd.log" "$build/bin/parleyd" -D http.port=0 -D auth.operator_tokens=bench \
    -D log.level=warning -D plugins.dir="$plugins_dir" -D plugins.load="$load" "$@"
  parleyd_port=$port
  parleyd_pid=$last_pid
}

# metric NAME: a number from parleyd's /api/system/metrics.
metric() {
  curl -s -H 'Authorization: Bearer bench' "http://127.0.0.1:$parleyd_port/api/system/metrics" |
    grep -o "\"$1\":[0-9.e+-]*" | head -1 | cut -d: -f2
}

# The machine, for the tables.
machine() {
  echo "$(nproc) vCPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(uname -r), $(date -u +%F)"
}

# busy_pct: the share of the machine's CPU time (all cores) spent busy over the next second.
busy_pct() {
  local a b
  read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ </proc/stat
  sleep 1
  read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ </proc/stat
  a=$(((u2 + n2 + s2 + i2 + w2 + q2 + sq2 + st2) - (u1 + n1 + s1 + i1 + w1 + q1 + sq1 + st1)))
  b=$(((i2 + w2) - (i1 + w1)))
  echo $((a > 0 ? 100 * (a - b) / a : 0))
}

# wait_quiet: before a round, wait (at most ~2 minutes) for whatever else runs on this machine
# (builds, tests: the lock only keeps other benchmarks out) to leave it idle; sets $busy to what
# was last seen, for the round's line. QUIET_WAIT=0 skips the wait (smoke tests).
wait_quiet() {
  if [[ ${QUIET_WAIT:-1} == 0 ]]; then  # smoke tests
    busy=$(busy_pct)
    return
  fi
  for ((k = 0; k < 60; k++)); do
    busy=$(busy_pct)
    ((busy < 8)) && return
    ((k == 0)) && echo "(waiting for the machine to be quiet: ${busy}% busy)" >&2
    sleep 1
  done
  echo "warning: the machine is still ${busy}% busy; measuring anyway" >&2
}

# measured FUNCTION ARGS...: runs FUNCTION (which sets $line, the client's line) after
# wait_quiet, again while the client reports that something else used more than $FOREIGN_MAX %
# of one core (default 15: what the kernel does for our sockets outside our processes, in
# softirq threads, counts as foreign too) during its window, at most 4 times; $tries says how many
# it took.
foreign_max=${FOREIGN_MAX:-15}
measured() {
  local f
  for ((tries = 1; tries <= 4; tries++)); do
    wait_quiet
    "$@"
    f=$(field foreign_pct "$line")
    [[ -z $f ]] && return
    (($(echo "$f <= $foreign_max" | bc))) && return
    echo "(disturbed: something else used $f % of a core during the window; again)" >&2
  done
  tries=4
}
