#!/usr/bin/env bash
# parleyd's GET /api/system/metrics (and GET /metrics) against nginx, same run, same load.
#
# parleyd: every shipped plugin loaded (the default plugins.load, plus fanout_redis on a
# redis-server of our own when one is installed), an operator token checked on every request, and
# its instruments moved first by real traffic (bench/lib.sh move_instruments); two of those
# sessions stay open during the measurement.
# nginx (Debian nginx-light): 2 workers, keep-alive limits as parleyd's (10,000 requests, 5 s),
# checks the Authorization header, then answers 200 with a body of exactly parleyd's size:
# `return 200` with a copy of parleyd's metrics JSON for /api/system/metrics, and (nginx cannot
# hold 12 KB in a `return`) a static file with a copy of the Prometheus text for /metrics.
# wrk -t1, keep-alive, at each connection count; rounds alternate which server goes first;
# medians of the rounds.
#
# Per core: THREADS=1 runs nginx with one worker and parleyd with one event loop
# (ws.loop_threads=1) instead of two of each, so that wrk has the other core to itself.
#
# Usage: [THREADS=1|2] bench/http_vs_nginx.sh [ROUNDS] [SECONDS] [CONNECTIONS...]
# Run it under flock /tmp/parley-bench.lock when others benchmark on the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
rounds=${1:-5}
seconds=${2:-4}
shift $(($# < 2 ? $# : 2))
conns_list=("${@:-16 50 1000}")
read -r -a conns_list <<<"${conns_list[*]}"
token=bench-operator-token
threads=${THREADS:-2}
[[ $threads == 1 || $threads == 2 ]] || { echo "THREADS must be 1 or 2" >&2; exit 64; }
need_build bin/parleyd bin/parley_bench_ws_load
for c in wrk nginx curl; do
  command -v $c >/dev/null || { echo "$c is not installed (.ci/install-deps bench)" >&2; exit 64; }
done
ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d)
chmod 755 "$tmp"  # nginx's workers (www-data) read the /metrics copy from here

hold=$((rounds * ${#conns_list[@]} * 4 * (seconds + 2) + 60))
start_parleyd_all "$tmp" "$token" -D ws.loop_threads="$threads"
pport=$port
ppid_=$last_pid
move_instruments "$tmp" "$token" "$hold"
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$pport/api/system/metrics" >"$tmp/metrics.json"
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$pport/metrics" >"$tmp/metrics.txt"
mkdir -p "$tmp/www"
cp "$tmp/metrics.txt" "$tmp/www/metrics"
chmod -R a+rX "$tmp/www"
jsize=$(wc -c <"$tmp/metrics.json")
psize=$(wc -c <"$tmp/metrics.txt")
grep -q "'" "$tmp/metrics.json" && { echo "metrics JSON holds a quote" >&2; exit 1; }

start_nginx() {
  for _ in 1 2 3; do
    nport=$(free_port)
    cat >"$tmp/nginx.conf" <<EOF
worker_processes $threads;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000;
  keepalive_timeout 5s;
  client_body_temp_path $tmp/nginx-body;
  proxy_temp_path $tmp/nginx-proxy;
  fastcgi_temp_path $tmp/nginx-fastcgi;
  uwsgi_temp_path $tmp/nginx-uwsgi;
  scgi_temp_path $tmp/nginx-scgi;
  open_file_cache max=16;
  open_file_cache_valid 60s;
  server {
    listen 127.0.0.1:$nport;
    location = /api/system/metrics {
      if (\$http_authorization != "Bearer $token") { return 401; }
      default_type application/json;
      return 200 '$(cat "$tmp/metrics.json")';
    }
    location = /metrics {
      if (\$http_authorization != "Bearer $token") { return 401; }
      default_type "text/plain; version=0.0.4; charset=utf-8";
      root $tmp/www;
    }
  }
}
EOF
    nginx -p "$tmp" -c "$tmp/nginx.conf" >"$tmp/nginx.out" 2>&1 &
    pids+=($!)
    local npid=$!
    nginx_master=$npid
    for _ in $(seq 100); do
      curl -sf -o /dev/null -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$nport/api/system/metrics" && return
      kill -0 "$npid" 2>/dev/null || break
      sleep 0.05
    done
  done
  echo "nginx did not start: $(cat "$tmp/nginx.out" "$tmp/nginx.err" 2>/dev/null)" >&2
  exit 1
}
start_nginx
nj=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$nport/api/system/metrics" | wc -c)
np=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$nport/metrics" | wc -c)
[[ $nj == "$jsize" && $np == "$psize" ]] || { echo "nginx bodies $nj/$np, parleyd $jsize/$psize" >&2; exit 1; }
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$nport/api/system/metrics") == 401 ]] ||
  { echo "nginx does not check the token" >&2; exit 1; }
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pport/api/system/metrics") == 401 ]] ||
  { echo "parleyd does not check the token" >&2; exit 1; }

# CPU time (user + system) a server's processes have used, in microseconds: what a request costs
# the server, whoever else shares the cores (wrk takes most of one).
tick_us=$((1000000 / $(getconf CLK_TCK)))
cpu_us() { # pids...
  local p t=0
  for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
  echo $((t * tick_us))
}
read -r -a nginx_pids <<<"$nginx_master $(ps -o pid= --ppid "$nginx_master" | tr '\n' ' ')"
[[ ${#nginx_pids[@]} == $((threads + 1)) ]] ||
  { echo "nginx: expected a master and $threads workers: ${nginx_pids[*]}" >&2; exit 1; }

run() { # port path conns -> "rps p50_us p99_us non2xx socket_errors requests"
  wrk -t1 -c"$3" -d"${seconds}s" --latency -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$1$2" | awk '
    function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return (v+0)*1000; if (v ~ /s$/) return (v+0)*1e6; return v }
    /Requests\/sec/ { rps=$2 }
    $1=="50%" { p50=us($2) } $1=="99%" { p99=us($2) }
    / requests in / { n=$1 }
    /Non-2xx or 3xx responses/ { bad=$NF }
    /Socket errors/ { gsub(",", ""); err=$4+$6+$8+$10 }
    END { printf "%s %s %s %d %d %d\n", rps, p50, p99, bad, err, n }'
}

echo "parleyd (pid $ppid_, plugins: $plugins_loaded, $threads event loops) on $pport; nginx $(nginx -v 2>&1 | cut -d/ -f2) ($threads workers) on $nport"
echo "bodies: /api/system/metrics $jsize bytes, /metrics $psize bytes; $rounds rounds of ${seconds}s, wrk -t1, connections: ${conns_list[*]}"
run "$pport" /api/system/metrics 16 >/dev/null # warm up both
run "$nport" /api/system/metrics 16 >/dev/null
load_note start
declare -A R P50 P99 BAD ERR LAST RR PR CPU CR
for ((i = 0; i < rounds; i++)); do
  for c in "${conns_list[@]}"; do
    for path in /api/system/metrics /metrics; do
      for who in $( ((i % 2)) && echo "nginx parleyd" || echo "parleyd nginx"); do
        k="$who $path $c"
        if [[ $who == parleyd ]]; then p=$pport; spids=("$ppid_"); else p=$nport; spids=("${nginx_pids[@]}"); fi
        cpu0=$(cpu_us "${spids[@]}")
        read -r r p50 p99 bad err n < <(run "$p" "$path" "$c")
        cpu=$(awk -v a="$cpu0" -v b="$(cpu_us "${spids[@]}")" -v n="$n" 'BEGIN { print (b - a) / n }')
        CPU[$k]+="$cpu "
        R[$k]+="$r "; P50[$k]+="$p50 "; P99[$k]+="$p99 "; BAD[$k]+="$bad "; ERR[$k]+="$err "
        LAST[$who]="$r $p99 $cpu"
        printf "round %d %-7s %-20s c=%-4d %9.0f req/s  p50 %7.0f us  p99 %8.0f us  non-2xx %d  socket errors %d  CPU %5.1f us/req\n" \
          "$i" "$who" "$path" "$c" "$r" "$p50" "$p99" "$bad" "$err" "$cpu"
      done
      # This round's ratios: the two measurements next to each other in time.
      read -r pr p99p cpup <<<"${LAST[parleyd]}"
      read -r nr p99n cpun <<<"${LAST[nginx]}"
      k="$path $c"
      RR[$k]+="$(awk -v a="$pr" -v b="$nr" 'BEGIN { print a / b }') "
      PR[$k]+="$(awk -v a="$p99p" -v b="$p99n" 'BEGIN { print a / b }') "
      CR[$k]+="$(awk -v a="$cpup" -v b="$cpun" 'BEGIN { print a / b }') "
    done
  done
done
sum() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; print s }' <<<"$1"; }
os_threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$ppid_/status")
echo
load_note end
echo "parleyd threads at the end: $os_threads"
for path in /api/system/metrics /metrics; do
  echo
  echo "GET $path (medians of $rounds rounds; a ratio is the median of the rounds' ratios, parleyd / nginx of the same round; non-2xx and socket errors summed over the rounds)"
  echo
  echo "| connections | nginx req/s | parleyd req/s | req/s ratio | nginx p50 / p99 µs | parleyd p50 / p99 µs | p99 ratio | non-2xx (parleyd / nginx) | socket errors (parleyd / nginx) | server CPU µs per request (nginx / parleyd) | CPU ratio |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for c in "${conns_list[@]}"; do
    kp="parleyd $path $c" kn="nginx $path $c"
    # shellcheck disable=SC2086
    awk -v c="$c" -v pr="$(median ${R[$kp]})" -v nr="$(median ${R[$kn]})" \
      -v rr="$(median ${RR[$path $c]})" -v pq="$(median ${PR[$path $c]})" \
      -v p50="$(median ${P50[$kp]})" -v p99="$(median ${P99[$kp]})" \
      -v n50="$(median ${P50[$kn]})" -v n99="$(median ${P99[$kn]})" \
      -v pb="$(sum "${BAD[$kp]}")" -v nb="$(sum "${BAD[$kn]}")" \
      -v pc="$(median ${CPU[$kp]})" -v nc="$(median ${CPU[$kn]})" -v cr="$(median ${CR[$path $c]})" \
      -v pe="$(sum "${ERR[$kp]}")" -v ne="$(sum "${ERR[$kn]}")" 'BEGIN {
      printf "| %s | %.0f | %.0f | **%.2f** | %.0f / %.0f | %.0f / %.0f | **%.2f** | %d / %d | %d / %d | %.1f / %.1f | %.2f |\n",
        c, nr, pr, rr, n50, n99, p50, p99, pq, pb, nb, pe, ne, nc, pc, cr }'
  done
done
echo
echo "goals (/api/system/metrics): ratio >= 0.80, p99 ratio <= 1.50, zero non-2xx"
