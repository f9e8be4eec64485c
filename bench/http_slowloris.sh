#!/usr/bin/env bash
# Slowloris under load: parleyd's GET /api/system/metrics (operator token, every shipped plugin
# loaded, instruments moved) under wrk -t1 -c16, alone and while 1,000 other connections trickle
# request heads at 1 byte/s (bench/http_trickle.cpp: one epoll thread; each connection sends a
# head that never ends, and one the server closes is replaced at once). Same parleyd, same run;
# rounds alternate which condition goes first; medians. Also what became of the trickling
# connections: the status the server answered them, and when (http.header_timeout_ms, 10 s by
# default, counts from a head's first byte).
#
# Usage: bench/http_slowloris.sh [ROUNDS] [SECONDS] [TRICKLERS]
# Run it under flock /tmp/parley-bench.lock when others benchmark on the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
rounds=${1:-7}
seconds=${2:-10}
tricklers=${3:-1000}
settle=3 # seconds between the last trickler connecting and wrk starting
token=bench-operator-token
need_build bin/parleyd bin/parley_bench_ws_load bin/parley_bench_http_trickle
for c in wrk curl; do
  command -v $c >/dev/null || { echo "$c is not installed (.ci/install-deps bench)" >&2; exit 64; }
done
ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d)

start_parleyd_all "$tmp" "$token"
pid=$last_pid
move_instruments "$tmp" "$token" $((rounds * (2 * seconds + settle + 8) + 30))
url="http://127.0.0.1:$port/api/system/metrics"

run() { # -> "rps p50_us p99_us non2xx socket_errors"
  wrk -t1 -c16 -d"${seconds}s" --latency -H "Authorization: Bearer $token" "$url" | awk '
    function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return (v+0)*1000; if (v ~ /s$/) return (v+0)*1e6; return v }
    /Requests\/sec/ { rps=$2 }
    $1=="50%" { p50=us($2) } $1=="99%" { p99=us($2) }
    /Non-2xx or 3xx responses/ { bad=$NF }
    /Socket errors/ { gsub(",", ""); err=$4+$6+$8+$10 }
    END { printf "%s %s %s %d %d\n", rps, p50, p99, bad, err }'
}

echo "parleyd (pid $pid, plugins: $plugins_loaded) on $port; $rounds rounds of ${seconds}s; wrk -t1 -c16; $tricklers tricklers at 1 byte/s"
run >/dev/null # warm up
load_note start
declare -a a_r a_50 a_99 t_r t_50 t_99 q_r q_99
bad=0 errs=0
for ((i = 0; i < rounds; i++)); do
  for cond in $( ((i % 2)) && echo "trickle alone" || echo "alone trickle"); do
    if [[ $cond == alone ]]; then
      read -r r p50 p99 b e < <(run)
      a_r+=("$r"); a_50+=("$p50"); a_99+=("$p99")
      printf "round %d %-8s %9.0f req/s  p50 %6.0f us  p99 %7.0f us  non-2xx %d  socket errors %d\n" "$i" "$cond" "$r" "$p50" "$p99" "$b" "$e"
    else
      "$build/bin/parley_bench_http_trickle" "$port" "$tricklers" $((settle + seconds + 4)) >"$tmp/trickle.$i" &
      tpid=$!
      pids+=("$tpid")
      for _ in $(seq 100); do grep -q '^ready' "$tmp/trickle.$i" && break; sleep 0.1; done
      grep -q '^ready' "$tmp/trickle.$i" || { echo "tricklers did not connect: $(cat "$tmp/trickle.$i")" >&2; exit 1; }
      sleep "$settle"
      threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$pid/status")
      read -r r p50 p99 b e < <(run)
      wait "$tpid"
      t_r+=("$r"); t_50+=("$p50"); t_99+=("$p99")
      printf "round %d %-8s %9.0f req/s  p50 %6.0f us  p99 %7.0f us  non-2xx %d  socket errors %d  (parleyd threads %d)\n" "$i" "$cond" "$r" "$p50" "$p99" "$b" "$e" "$threads"
      echo "  tricklers: $(tail -1 "$tmp/trickle.$i")"
    fi
    bad=$((bad + b)); errs=$((errs + e))
  done
  # This round's ratios, with / without: the two measurements next to each other in time.
  q_r+=("$(awk -v a="${t_r[-1]}" -v b="${a_r[-1]}" 'BEGIN { print a / b }')")
  q_99+=("$(awk -v a="${t_99[-1]}" -v b="${a_99[-1]}" 'BEGIN { print a / b }')")
done

load_note end
ar=$(median "${a_r[@]}"); a50=$(median "${a_50[@]}"); a99=$(median "${a_99[@]}")
tr=$(median "${t_r[@]}"); t50=$(median "${t_50[@]}"); t99=$(median "${t_99[@]}")
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); break } }'; }
sum_field() { cat "$tmp"/trickle.* | grep '^opened' | field "$1" | awk '{ s += $1 } END { print s + 0 }'; }
lt() { cat "$tmp"/trickle.* | grep '^opened' | awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == "lifetime_s") for (j = i + 1; j < NF; j += 2) if ($j == k) print $(j + 1) }'; }
echo
echo "| wrk -t1 -c16, GET /api/system/metrics (medians of $rounds rounds) | req/s | p50 µs | p99 µs |"
echo "|---|---|---|---|"
printf "| alone | %.0f | %.0f | %.0f |\n" "$ar" "$a50" "$a99"
printf "| while %d connections trickle heads at 1 byte/s | %.0f | %.0f | %.0f |\n" "$tricklers" "$tr" "$t50" "$t99"
awk -v qr="$(median "${q_r[@]}")" -v q99="$(median "${q_99[@]}")" -v ar="$ar" -v tr="$tr" -v a99="$a99" -v t99="$t99" 'BEGIN {
  printf "| **ratio with / without**, median of the rounds%s ratios | **%.3f** (goal >= 0.9) | | **%.2f** (goal <= 2) |\n", "\047", qr, q99
  printf "| ratio of the medians above | %.3f | | %.2f |\n", tr / ar, t99 / a99 }'
echo
echo "non-2xx answers to wrk: $bad; wrk socket errors: $errs"
# shellcheck disable=SC2046 # medians take the rounds' values as separate words
echo "trickling connections over all rounds: $(sum_field opened) opened, $(sum_field closed_by_server) closed by parleyd" \
  "($(sum_field status_408) with 408, $(sum_field other_status) with another status, $(sum_field no_answer) without an answer)," \
  "$(sum_field connect_failed) connects failed; closed $(median $(lt min))-$(median $(lt max)) s after their first byte" \
  "(median of the rounds' min and max; p50 $(median $(lt p50)) s), having sent $(median $(cat "$tmp"/trickle.* | grep '^opened' | field bytes_p50)) bytes (p50)"
