#!/usr/bin/env bash
# fstore compute and jobs end to end on the example registry: values appear
# where get said NOT_COMPUTED, stamped at the candle's close; a second run has
# nothing to do; a changed definition shows in describe as needs_recompute
# and is recomputed; a view that cannot be computed exits 3 and is recorded.
set -e
. "$(dirname "$0")/lib.sh"
D="$TMP/data"
cd "$(dirname "$0")/../.."
"$FSTORE" --dir "$D" init >/dev/null
"$FSTORE" --dir "$D" apply examples/features.yaml >/dev/null

awk 'BEGIN { print "symbol,tf,ts,o,h,l,c,v"; p = 100
  for (i = 0; i < 200; i++) { o = p; c = p * (1 + ((i * 37) % 11 - 5) / 1000); h = (o > c ? o : c) + 1; l = (o < c ? o : c) - 1
    printf "BTCUSDT,1h,%d,%.4f,%.4f,%.4f,%.4f,%d\n", 1704067200 + i * 3600, o, h, l, c, 10 + i % 5; p = c } }' > "$TMP/c.csv"
"$FSTORE" --dir "$D" ingest candles "$TMP/c.csv" >/dev/null

check "get before compute" run 0 "$FSTORE" --dir "$D" get BTCUSDT:1h technical:rsi_14
check "not computed yet" contains "$OUT" "NOT_COMPUTED"
check "describe says never computed" run 0 "$FSTORE" --dir "$D" describe technical:rsi_14
check "never computed" contains "$OUT" "status: never_computed"
check "compute" run 0 "$FSTORE" --dir "$D" compute technical --jobs 2
check "compute reports rows" contains "$OUT" "Job 1: 200 rows computed for 1 entity series in 1 view"
# The candle opening 2024-01-01T05:00 closes (is knowable) at 06:00.
check "get computed value" run 0 "$FSTORE" --dir "$D" get BTCUSDT:1h technical:rsi_14 technical:sma_20 --at 2024-01-01T23:59:59Z --json
check "value present" contains "$OUT" '"status": "PRESENT"'
check "stamped at the close" contains "$OUT" '"event_ts": "2024-01-01T23:00:00Z"'
check "lineage: job id" contains "$OUT" '"job": 1'
check "warm-up is null" run 0 "$FSTORE" --dir "$D" get BTCUSDT:1h technical:sma_20 --at 2024-01-01T05:00:00Z --json
check "null during warm-up" contains "$OUT" '"status": "NULL_VALUE"'
FSTORE_PROGRESS=1 check "second run has nothing to do" run 0 "$FSTORE" --dir "$D" compute technical
check "progress by entity series" contains "$ERR" "100%"
check "zero rows" contains "$OUT" "0 rows computed"
check "history of a view" run 0 "$FSTORE" --dir "$D" history technical BTCUSDT:1h --columns rsi_14,macd --limit 2
check "history header" contains "$OUT" "rsi_14"

# A new RSI period: describe flags the view, compute recomputes it all.
awk '/name: rsi_14/ {f = 1} f && /params: \{period: 14\}/ {sub(/period: 14/, "period: 10"); f = 0} {print}' \
  examples/features.yaml > "$TMP/f2.yaml"
"$FSTORE" --dir "$D" apply "$TMP/f2.yaml" >/dev/null
check "describe after change" run 0 "$FSTORE" --dir "$D" describe technical
check "needs recompute" contains "$OUT" "status: needs_recompute"
check "recompute" run 0 "$FSTORE" --dir "$D" compute technical
check "all rows again" contains "$OUT" "200 rows computed"

# A view that cannot be computed: exit 3, the others stored, the job failed.
cat > "$TMP/broken.yaml" <<'YAML'
  - name: broken
    entity: market
    source: candles
    features:
      - {name: prev_tf, type: categorical, expr: 'lag(tf, 1)'}
YAML
awk -v extra="$TMP/broken.yaml" '/^services:/ {while ((getline l < extra) > 0) print l} {print}' \
  "$TMP/f2.yaml" > "$TMP/f3.yaml"
"$FSTORE" --dir "$D" apply "$TMP/f3.yaml" >/dev/null
check "partial failure exits 3" run 3 "$FSTORE" --dir "$D" compute
check "failure names the feature" contains "$ERR" "view 'broken', feature 'prev_tf'"
check "jobs" run 0 "$FSTORE" --dir "$D" jobs
check "jobs lists a failed job" contains "$OUT" "failed"
check "jobs json" run 0 "$FSTORE" --dir "$D" jobs --json
check "jobs record definitions" contains "$OUT" '"technical:rsi_14": 2'
check "unknown view" run 2 "$FSTORE" --dir "$D" compute nope
check "unknown view message" contains "$ERR" "no view named 'nope'"

# A damaged chunk file: compute and get fail loudly, nothing is computed on a gap.
"$FSTORE" --dir "$D" compact >/dev/null
chunk=$(ls "$D"/chunks/candles/*.chunk | head -1)
printf 'XXXX' | dd of="$chunk" bs=1 seek=100 conv=notrunc 2>/dev/null
check "compute on a damaged chunk fails" run 3 "$FSTORE" --dir "$D" compute technical
check "compute says corrupt" contains "$ERR" "cannot read source 'candles': FS_E_CORRUPT"
check "get on a damaged chunk fails" run 2 "$FSTORE" --dir "$D" get BTCUSDT:1h technical:close_price
check "get names the chunk file" contains "$ERR" "$(basename "$chunk"): corrupt chunk file"
finish
