#!/usr/bin/env bash
# training-set, runs and get --service end to end, and the cross-check of a
# training set against pandas.merge_asof (when Debian's python3-pandas is
# installed: scripts/install-deps.sh installs it).
set -e
. "$(dirname "$0")/lib.sh"
D="$TMP/data"
cd "$(dirname "$0")/../.."
"$FSTORE" --dir "$D" init >/dev/null
cat > "$TMP/defs.yaml" <<'YAML'
entities:
  - {name: asset, join_keys: [symbol]}
sources:
  - name: ticks
    entity: asset
    timestamp: ts
    columns:
      - {name: symbol, type: string}
      - {name: ts, type: timestamp}
      - {name: x, type: float64}
      - {name: y, type: float64}
views:
  - {name: slow, entity: asset, source: ticks, ttl: 0, features: [{name: x, from: x}]}
  - {name: fast, entity: asset, source: ticks, ttl: 20s, features: [{name: y, from: y}]}
services:
  - {name: both, features: [slow, "fast:y"]}
YAML
"$FSTORE" --dir "$D" apply "$TMP/defs.yaml" >/dev/null

# Two commits; the second corrects some rows of the first.
awk 'BEGIN { srand(7); print "symbol,ts,x,y" > "'"$TMP"'/c1.csv"; print "symbol,ts,x,y" > "'"$TMP"'/c2.csv"
  for (i = 0; i < 3000; i++) printf "S%d,%d,%.6f,%.3f\n", int(rand() * 10), 1700000000 + int(rand() * 2000), rand() * 100, (rand() > 0.1 ? rand() : 0) >> "'"$TMP"'/c1.csv"
  for (i = 0; i < 300; i++) printf "S%d,%d,%.6f,%.3f\n", int(rand() * 10), 1700000000 + int(rand() * 2000), rand() * 100, rand() >> "'"$TMP"'/c2.csv" }'
"$FSTORE" --dir "$D" ingest ticks "$TMP/c1.csv" >/dev/null
BETWEEN=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)   # a time after commit 1, before commit 2
sleep 0.05
"$FSTORE" --dir "$D" ingest ticks "$TMP/c2.csv" >/dev/null
awk 'BEGIN { srand(11); print "id,symbol,event_ts"
  for (i = 0; i < 2000; i++) printf "%d,S%d,%d\n", i, int(rand() * 12), 1699999900 + int(rand() * 2200) }' > "$TMP/labels.csv"

check "training-set" run 0 "$FSTORE" --dir "$D" training-set --labels "$TMP/labels.csv" --features slow:x,fast:y --out "$TMP/train.csv"
check "prints the run" contains "$OUT" "Run 1: 2000 rows to $TMP/train.csv (known at commit 2"
check "header" contains "$(head -1 "$TMP/train.csv")" "id,symbol,event_ts,x,y"
check "label order kept" bash -c "cut -d, -f1 '$TMP/train.csv' | tail -n +2 | awk '\$1 != NR - 1 {exit 1}'"
if /usr/bin/python3 -c 'import pandas' 2>/dev/null; then
  cat "$TMP/c1.csv" > "$TMP/all.csv"; tail -n +2 "$TMP/c2.csv" >> "$TMP/all.csv"
  check "agrees with pandas merge_asof" /usr/bin/python3 tests/cli/pandas_asof.py "$TMP/all.csv" "$TMP/labels.csv" "$TMP/train.csv" x:x:0 y:y:20
else
  echo "ok   (skipped: /usr/bin/python3 has no pandas; scripts/install-deps.sh installs python3-pandas)"
fi
check "known-at 1 differs" run 0 "$FSTORE" --dir "$D" training-set --labels "$TMP/labels.csv" --features slow:x,fast:y --known-at 1 --out "$TMP/train1.csv"
check "files differ" bash -c "! cmp -s '$TMP/train.csv' '$TMP/train1.csv'"
check "known-at a time" run 0 "$FSTORE" --dir "$D" training-set --labels "$TMP/labels.csv" --features slow:x,fast:y --known-at "$BETWEEN" --out "$TMP/traint.csv"
check "a time picks the last commit by then" contains "$OUT" "known at commit 1"
check "same as known-at 1" cmp "$TMP/train1.csv" "$TMP/traint.csv"
check "service, jsonl, full names" run 0 "$FSTORE" --dir "$D" training-set --labels "$TMP/labels.csv" --service both --full-names --format jsonl --out "$TMP/train.jsonl"
check "jsonl names" contains "$(head -1 "$TMP/train.jsonl")" '"slow__x":'

# A build killed mid-way leaves its copy of the labels in runs/: the next build removes it
# (its process is gone), and leaves a living process's copy alone.
dead=$(sh -c 'echo $$')
printf 'stale' > "$D/runs/.labels-$dead.tmp"
printf 'live' > "$D/runs/.labels-$$.tmp"
check "build with a stale copy around" run 0 "$FSTORE" --dir "$D" training-set --labels "$TMP/labels.csv" --service both --out "$TMP/trainx.csv"
check "stale copy removed" test ! -e "$D/runs/.labels-$dead.tmp"
check "living process's copy kept" test -e "$D/runs/.labels-$$.tmp"
rm -f "$D/runs/.labels-$$.tmp"

# Later data must not change a rebuild.
printf 'symbol,ts,x,y\nS1,1700000500,-1,-1\nS2,1700001000,-2,-2\n' > "$TMP/c3.csv"
"$FSTORE" --dir "$D" ingest ticks "$TMP/c3.csv" >/dev/null
check "runs ls" run 0 "$FSTORE" --dir "$D" runs
check "runs lists three" contains "$OUT" "training-set --labels $TMP/labels.csv --service both"
check "runs show" run 0 "$FSTORE" --dir "$D" runs show 1 --json
check "show names the watermark" contains "$OUT" '"known_at": 2'
check "rebuild" run 0 "$FSTORE" --dir "$D" runs rebuild 1 --out "$TMP/again.csv"
check "byte-identical" cmp "$TMP/train.csv" "$TMP/again.csv"
check "rebuild unknown" run 2 "$FSTORE" --dir "$D" runs rebuild 42 --out "$TMP/x.csv"

# Bad label rows: exit 3, rejects with line numbers.
printf 'symbol,event_ts\nS1,1700000500\nS2,not-a-time\n,1700000500\n' > "$TMP/bad.csv"
check "rejected labels exit 3" run 3 "$FSTORE" --dir "$D" training-set --labels "$TMP/bad.csv" --features slow:x --out "$TMP/b.csv" --rejects "$TMP/rej.txt"
check "rejects name lines" contains "$(cat "$TMP/rej.txt")" "bad.csv:3	event_ts:"
check "collision" run 2 "$FSTORE" --dir "$D" training-set --labels "$TMP/labels.csv" --features slow:x,slow --out "$TMP/c.csv"
check "collision message" contains "$ERR" "would both be column 'x'"

# The signals table as labels, filtered.
printf 'id,ts,symbol,tf,model_id\n1,1700000500,S1,1m,m1\n2,1700000600,S2,1m,m2\n3,1700000400,S3,1m,m1\n' > "$TMP/sig.csv"
"$FSTORE" --dir "$D" ingest signals "$TMP/sig.csv" >/dev/null
check "signals as labels" run 0 "$FSTORE" --dir "$D" training-set --labels signals --where model_id=m1 --features slow:x --out "$TMP/s.csv"
check "two m1 signals" contains "$OUT" "2 rows"
check "signals in time order" contains "$(cut -d, -f1,2,4 "$TMP/s.csv" | tr '\n' ' ')" "event_ts,id,symbol 2023-11-14T22:20:00Z,3,S3 2023-11-14T22:21:40Z,1,S1"
check "bad --where" run 1 "$FSTORE" --dir "$D" training-set --labels signals --where color=red --features slow:x --out "$TMP/s.csv"

check "get --service" run 0 "$FSTORE" --dir "$D" get S1 --service both --at 1700000500 --json
check "service vector has both" contains "$OUT" '"feature": "fast:y"'
check "get a whole view" run 0 "$FSTORE" --dir "$D" get S1 slow --at 1700000500 --json
check "a view name stands for its features" contains "$OUT" '"feature": "slow:x"'
check "get unknown view" run 2 "$FSTORE" --dir "$D" get S1 nope
check "unknown view message" contains "$ERR" "unknown feature 'nope' (write it as view:feature, or a view name)"
check "get needs features or service" run 1 "$FSTORE" --dir "$D" get S1
finish
