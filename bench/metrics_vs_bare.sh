#!/usr/bin/env bash
# GET /api/system/metrics (bearer auth, full contract composition) against a bare Poco handler
# returning a fixed body of the same size, same server parameters, same load, same run.
# Rounds alternate A B B A ... so that drift on a shared machine hits both alike.
#
# Usage: bench/metrics_vs_bare.sh [BUILD_DIR] [ROUNDS] [SECONDS] [CONNECTIONS]
# Needs a build with -DPARLEY_BENCH=ON, and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
rounds=${2:-6}
seconds=${3:-8}
conns=${4:-16}
threads=32
token=bench-token
[[ -x $build/bin/parleyd && -x $build/bin/parley_bench_bare_http ]] || {
  echo "build first: cmake -S . -B $build -DPARLEY_BENCH=ON -DCMAKE_BUILD_TYPE=Release && cmake --build $build -j2" >&2
  exit 64
}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 64; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_port() { # file -> port
  for _ in $(seq 100); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$1" 2>/dev/null | grep -o '[0-9]*$' || true)
    [[ -n $port ]] && { echo "$port"; return; }
    sleep 0.1
  done
  echo "server did not start: $(cat "$1")" >&2
  exit 1
}

tmp=$(mktemp -d)
"$build/bin/parleyd" -D http.port=0 -D http.threads=$threads -D auth.operator_tokens=$token \
  -D log.level=warning >"$tmp/parleyd.out" 2>"$tmp/parleyd.err" &
pids+=($!)
pport=$(wait_port "$tmp/parleyd.out")
size=$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$pport/api/system/metrics" | wc -c)
"$build/bin/parley_bench_bare_http" 0 "$size" $threads >"$tmp/bare.out" 2>&1 &
pids+=($!)
bport=$(wait_port "$tmp/bare.out")
bsize=$(curl -s "http://127.0.0.1:$bport/" | wc -c)

run() { # name port path -> "rps p50_us p99_us"
  wrk -t1 -c"$conns" -d"${seconds}s" --latency -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$2$3" | awk '
    function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return (v+0)*1000; if (v ~ /s$/) return (v+0)*1e6; return v }
    /Requests\/sec/ { rps=$2 }
    $1=="50%" { p50=us($2) } $1=="99%" { p99=us($2) }
    END { printf "%s %s %s\n", rps, p50, p99 }'
}

echo "body: parleyd $size bytes, bare $bsize bytes; $rounds rounds of ${seconds}s, $conns connections, wrk -t1"
declare -a m_rps m_p50 m_p99 b_rps b_p50 b_p99
for ((i = 0; i < rounds; i++)); do
  for who in $( ((i % 2)) && echo "bare metrics" || echo "metrics bare"); do
    if [[ $who == metrics ]]; then
      read -r r p50 p99 < <(run metrics "$pport" /api/system/metrics)
      m_rps+=("$r"); m_p50+=("$p50"); m_p99+=("$p99")
    else
      read -r r p50 p99 < <(run bare "$bport" /)
      b_rps+=("$r"); b_p50+=("$p50"); b_p99+=("$p99")
    fi
    printf "round %d %-7s %10.0f req/s  p50 %7.0f us  p99 %7.0f us\n" "$i" "$who" "$r" "$p50" "$p99"
  done
done

median() { printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mr=$(median "${m_rps[@]}"); br=$(median "${b_rps[@]}")
m50=$(median "${m_p50[@]}"); b50=$(median "${b_p50[@]}")
m99=$(median "${m_p99[@]}"); b99=$(median "${b_p99[@]}")
echo
echo "| server | req/s (median) | p50 µs | p99 µs |"
echo "|---|---|---|---|"
printf "| bare Poco handler, fixed %s-byte body | %.0f | %.0f | %.0f |\n" "$bsize" "$br" "$b50" "$b99"
printf "| parleyd GET /api/system/metrics, bearer | %.0f | %.0f | %.0f |\n" "$mr" "$m50" "$m99"
awk -v mr="$mr" -v br="$br" -v m99="$m99" -v b99="$b99" 'BEGIN {
  printf "\nthroughput ratio metrics/bare: %.3f (target >= 0.90)\n", mr/br
  printf "p99 ratio metrics/bare: %.3f (target <= 1.20)\n", m99/b99 }'
