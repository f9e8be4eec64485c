#!/usr/bin/env bash
# Issue 10: SESSIONS candidate sessions, each in a room of its own, streaming 16 kHz 16-bit PCM in
# real time (one 3,200-byte binary frame per 100 ms, phases spread) through parleyd (rooms +
# deepgram, mode deepgram, api_key set) to a local fake Deepgram (`fakes deepgram`: one 5-word
# utterance per 3 s of audio, interims, speech_final after endpointing=300 ms of audio,
# UtteranceEnd). Overhead = client receive time of `transcript` - the fake's write of the
# speech_final Results that ended the turn (CLOCK_MONOTONIC; the stamp is the utterance's last
# word, which the transcript carries).
#
# The silence window: plugins.deepgram.silence_ms is at its minimum, 0, so the turn ends in the
# same loop iteration as the speech_final (a 0 ms timer is due at once; core/net/event_loop.cpp).
# A third variant keeps the default 800 ms and subtracts exactly 800 ms. In the same run: the floor,
# the client streaming the same audio straight to the fake and timing its speech_final Results.
# Rounds alternate the order; medians of the rounds. A round during which something else on the
# machine used more than FOREIGN_MAX % of a core (default 15) is run again.
#
# Usage: bench/upstreams/deepgram.sh [ROUNDS] [SESSIONS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
source bench/upstreams/lib_upstreams.sh
rounds=${1:-3}
sessions=${2:-500}
seconds=${3:-15}
warmup=4
key=bench-key
tmp=$(mktemp -d)

declare -A v50 v99 v999 n
declare -a cpu thr_idle thr_max rss_idle rss_end avg_lat
one() {
  start "$tmp/dg.log" "${fakes[@]}" deepgram --api-key "$key"
  dg_port=$port
  dg_pid=$last_pid
  if [[ $1 == direct ]]; then
    line=$(BENCH_PIDS=$dg_pid "${client[@]}" audio-direct "$dg_port" "$sessions" "$seconds" "$warmup" "$key")
  else
    start_parleyd rooms,deepgram -D plugins.deepgram.mode=deepgram \
      -D plugins.deepgram.url="ws://127.0.0.1:$dg_port/v1/listen" \
      -D plugins.deepgram.api_key="$key" -D plugins.deepgram.silence_ms="${1#silence}" \
      -D plugins.deepgram.max_turns=10000
    line=$(BENCH_PIDS=$dg_pid "${client[@]}" audio "$parleyd_port" "$sessions" "$seconds" "$warmup" "$parleyd_pid")
    line="$line avg_latency_ms $(metric avg_latency_ms)"
    stop_pid "$parleyd_pid"
  fi
  stop_pid "$dg_pid"
  line="$line ; fake: $(tail -1 "$tmp/dg.log")"
}
for ((r = 0; r < rounds; r++)); do
  order="direct silence0 silence800"
  ((r % 3 == 1)) && order="silence0 silence800 direct"
  ((r % 3 == 2)) && order="silence800 direct silence0"
  for who in $order; do
    measured one "$who"
    echo "round $r $who (try $tries; machine ${busy}% busy before): $line"
    [[ $(field samples "$line") -gt 0 ]] || { echo "no samples" >&2; exit 1; }
    sub=0
    [[ $who == silence800 ]] && sub=800000
    if [[ $who == silence0 ]]; then
      cpu+=("$(field cpu_pct "$line")") thr_idle+=("$(field threads_idle "$line")")
      thr_max+=("$(field threads_max "$line")") rss_idle+=("$(field rss_idle_kib "$line")")
      rss_end+=("$(field rss_end_kib "$line")") avg_lat+=("$(field avg_latency_ms "$line")")
    fi
    v50[$who]+=" $(echo "$(field p50 "$line") - $sub" | bc -l)"
    v99[$who]+=" $(echo "$(field p99 "$line") - $sub" | bc -l)"
    v999[$who]+=" $(echo "$(field p999 "$line") - $sub" | bc -l)"
    n[$who]+=" $(field samples "$line")"
  done
done
m() { median $1; }
echo
echo "$(machine); $sessions sessions, 100 ms PCM frames in real time, ${seconds}s measured after ${warmup}s; median of $rounds rounds"
echo
echo "| path | turns timed (median per round) | p50 µs | p99 µs | p99.9 µs |"
echo "|---|---|---|---|---|"
printf "| fake's speech_final → client, direct (floor) | %s | %.0f | %.0f | %.0f |\n" "$(m "${n[direct]}")" "$(m "${v50[direct]}")" "$(m "${v99[direct]}")" "$(m "${v999[direct]}")"
printf "| **fake's speech_final → parleyd → \`transcript\` at the client, silence_ms=0** | %s | **%.0f** | **%.0f** | %.0f |\n" "$(m "${n[silence0]}")" "$(m "${v50[silence0]}")" "$(m "${v99[silence0]}")" "$(m "${v999[silence0]}")"
printf "| the same, silence_ms=800 (default), minus 800 ms | %s | %.0f | %.0f | %.0f |\n" "$(m "${n[silence800]}")" "$(m "${v50[silence800]}")" "$(m "${v99[silence800]}")" "$(m "${v999[silence800]}")"
echo
echo "parleyd (rooms + deepgram, silence_ms=0) during the window, medians: CPU $(m "${cpu[*]}") % of one core;" \
  "threads $(m "${thr_idle[*]}") idle (before the sessions), $(m "${thr_max[*]}") at most under load;" \
  "RSS $(m "${rss_idle[*]}") KiB idle, $(m "${rss_end[*]}") KiB under load; the plugin's own avg_latency_ms" \
  "(from the last word's audio arriving, so endpointing included) $(m "${avg_lat[*]}") ms"
