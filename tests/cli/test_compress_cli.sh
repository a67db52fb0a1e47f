#!/usr/bin/env bash
# compress_after: `fstore compact` merges the chunk files of each time
# partition older than the policy into one, and reads are unchanged (same
# rows, same versions, same point-in-time answers), also after a reopen.
set -e
. "$(dirname "$0")/lib.sh"
D="$TMP/data"
cd "$(dirname "$0")/../.."
"$FSTORE" --dir "$D" init >/dev/null
VIEW='views:\n  - {name: px, entity: market, source: candles, ttl: 0, features: [{name: close, from: c}]}\n'
printf "sources:\n  - name: candles\n    compress_after: 1d\n$VIEW" > "$TMP/defs.yaml"
printf "sources:\n  - name: candles\n$VIEW" > "$TMP/nopolicy.yaml"   # no policy while building up
"$FSTORE" --dir "$D" apply "$TMP/defs.yaml" >/dev/null
# Three commits over the same two days, each checkpointed on its own: three
# files per day partition.
for k in 1 2 3; do
  awk -v k=$k 'BEGIN { print "symbol,tf,ts,o,h,l,c,v"
    for (i = 0; i < 48; i++) printf "BTCUSDT,1h,%d,%d,%d,%d,%d,%d\n", 1704067200 + i * 3600, 100 + k, 110 + k, 90 + k, 100 + k + i % 3, k
    for (i = 0; i < 48; i++) printf "ETHUSDT,1h,%d,%d,%d,%d,%d,%d\n", 1704067200 + i * 3600 + k * 60, 10, 11, 9, 10, k }' > "$TMP/c$k.csv"
  "$FSTORE" --dir "$D" ingest candles "$TMP/c$k.csv" >/dev/null
  "$FSTORE" --dir "$D" apply "$TMP/nopolicy.yaml" >/dev/null
  "$FSTORE" --dir "$D" compact >/dev/null
  "$FSTORE" --dir "$D" apply "$TMP/defs.yaml" >/dev/null
done
before_files=$(ls "$D"/chunks/candles | wc -l)
"$FSTORE" --dir "$D" history candles BTCUSDT:1h > "$TMP/h1.txt"
"$FSTORE" --dir "$D" get BTCUSDT:1h px:close --at 2024-01-01T12:30:00Z --known-at 2 > "$TMP/g1.txt"
check "three files per partition before" test "$before_files" -eq 9
check "compact applies compress_after" run 0 "$FSTORE" --dir "$D" compact
check "reports the merge" contains "$OUT" "Compressed candles: 3 partitions past compress_after, 9 files merged"
check "one file per partition after" test "$(ls "$D"/chunks/candles | wc -l)" -eq 3
check "history unchanged" bash -c "'$FSTORE' --dir '$D' history candles BTCUSDT:1h | cmp - '$TMP/h1.txt'"
check "point in time unchanged (known-at 2)" bash -c "'$FSTORE' --dir '$D' get BTCUSDT:1h px:close --at 2024-01-01T12:30:00Z --known-at 2 | cmp - '$TMP/g1.txt'"
check "compact again: nothing to merge" run 0 "$FSTORE" --dir "$D" compact --json
check "nothing compressed" contains "$OUT" '"compressed": []'
check "describe after" run 0 "$FSTORE" --dir "$D" describe source/candles
check "chunks counted" contains "$OUT" "chunks: 3"
finish
