#!/usr/bin/env bash
# The storage issue's crash run: ingest the 10M-candle set (100 symbols x
# 100k 1-minute bars, bench/ingest/gen_candles.py) one symbol file at a time,
# SIGKILL the ingesting process at a random moment KILLS times, reopen after
# every kill, and check that no acknowledged commit lost a row and no
# unacknowledged one left half its rows. A killed file is ingested again, so
# at the end every symbol is stored whole.
#
#   bench/crash/kill_ingest.sh [KILLS=50] [SYMBOLS=100] [BARS=100000]
#   (MAX_MS=400: kills land within that many ms of the start of an ingest)
#
# Acknowledged = the command printed "Committed seq N: R rows". After each
# kill, `fstore log --json` must list every acknowledged (seq, rows), and
# every commit it lists must have exactly one file's rows (all or nothing).
# Prints one line per kill and a summary; exits 1 on any loss.
set -eo pipefail   # not -u: an empty associative array counts as unset
KILLS=${1:-50}
SYMBOLS=${2:-100}
BARS=${3:-100000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FSTORE=${FSTORE:-$ROOT/build/release/bin/fstore}
WORK=${WORK:-$HERE/data}
mkdir -p "$WORK"
D="$WORK/store"
rm -rf "$D" "$WORK/files"
mkdir -p "$WORK/files"
if [ ! -f "$WORK/all-$SYMBOLS-$BARS.csv" ]; then
  python3 "$ROOT/bench/ingest/gen_candles.py" --symbols "$SYMBOLS" --bars "$BARS" "$WORK/all-$SYMBOLS-$BARS.csv"
fi
# One file per symbol (rows are written symbol by symbol).
awk -F, -v dir="$WORK/files" 'NR == 1 {hdr = $0; next}
  $1 != cur {if (out) close(out); cur = $1; out = dir "/" cur ".csv"; print hdr > out}
  {print >> out}' "$WORK/all-$SYMBOLS-$BARS.csv"
"$FSTORE" --dir "$D" init >/dev/null

declare -A acked   # seq -> rows
files=("$WORK"/files/*.csv)
kills=0 lost=0 torn=0 i=0 start=$(date +%s)
while [ $i -lt ${#files[@]} ]; do
  f=${files[$i]}
  out="$WORK/out.txt"
  "$FSTORE" --dir "$D" ingest candles "$f" >"$out" 2>&1 &
  pid=$!
  killed=0
  # Kill about every other ingest until KILLS is reached, at a random moment
  # within MAX_MS (default: about one ingest of a 100k-row file).
  if [ $kills -lt "$KILLS" ] && [ $((RANDOM % 2)) -eq 0 ]; then
    sleep "$(awk -v r=$RANDOM -v m="${MAX_MS:-400}" 'BEGIN {printf "%.3f", r / 32768 * m / 1000}')"
    if kill -9 $pid 2>/dev/null; then killed=1; kills=$((kills + 1)); fi
  fi
  wait $pid 2>/dev/null || true
  if line=$(grep -o 'Committed seq [0-9]*: [0-9]* rows' "$out"); then
    seq=$(echo "$line" | awk '{print $3}' | tr -d :)
    rows=$(echo "$line" | awk '{print $4}')
    acked[$seq]=$rows
    i=$((i + 1))   # this file is stored: next
  fi
  if [ $killed -eq 1 ]; then
    # Reopen: every acknowledged commit whole, every listed commit whole.
    log=$("$FSTORE" --dir "$D" log --json)
    for s in "${!acked[@]}"; do
      n=$(echo "$log" | tr -d ' \n' | grep -o "{\"seq\":$s,[^}]*}" | grep -o '"rows":[0-9]*' | cut -d: -f2 || true)
      [ "$n" = "${acked[$s]}" ] || { echo "LOST: commit $s (acknowledged ${acked[$s]} rows, stored '${n:-none}')"; lost=$((lost + 1)); }
    done
    bad=$(echo "$log" | tr -d ' \n' | { grep -o '"rows":[0-9]*' || true; } | cut -d: -f2 | awk -v b="$BARS" '$1 != b' | wc -l)
    [ "$bad" -eq 0 ] || { echo "TORN: $bad commits with a partial file"; torn=$((torn + 1)); }
    echo "kill $kills: file $((i + 1))/${#files[@]}, $( [ -n "${line:-}" ] && echo 'acknowledged before the kill' || echo 'not acknowledged'), reopened: ${#acked[@]} commits intact"
  fi
  line=
done
total=$(for s in "${!acked[@]}"; do echo "${acked[$s]}"; done | awk '{t += $1} END {print t}')
echo "summary: $kills kills, ${#acked[@]} acknowledged commits, $total rows acknowledged, lost $lost, torn $torn, $(( $(date +%s) - start )) s"
"$FSTORE" --dir "$D" describe source/candles | grep -E 'rows|entities' | head -3
[ $lost -eq 0 ] && [ $torn -eq 0 ]
