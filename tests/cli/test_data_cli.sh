#!/usr/bin/env bash
# The data commands end to end: ingest (exit 0 / 3 with a rejects file / 2 for
# a file that is not CSV, storing nothing), get under the point-in-time rule
# (TTL, --at, --known-at, a correction winning), history and log; and SIGKILL
# during ingest never leaving a half commit or losing an acknowledged one.
set -e
. "$(dirname "$0")/lib.sh"
D="$TMP/data"
cd "$(dirname "$0")/../.."
"$FSTORE" --dir "$D" init >/dev/null
"$FSTORE" --dir "$D" apply examples/features.yaml >/dev/null

cat > "$TMP/c.csv" <<'CSV'
symbol,tf,ts,open,high,low,close,volume
BTCUSDT,1h,2024-01-01T00:00:00Z,42000,42100,41900,42050,12.5
BTCUSDT,1h,2024-01-01T01:00:00Z,42050,42200,42000,42150,10
BTCUSDT,1h,2024-01-01T02:00:00Z,42150,42100,42000,42120,9
BTCUSDT,1h,2024-01-01T03:00:00Z,42120,42300,42100,42250,abc
ETHUSDT,1h,2024-01-01T00:00:00Z,2300,2310,2290,2305,100
CSV
check "ingest with bad rows exits 3" run 3 "$FSTORE" --dir "$D" ingest candles "$TMP/c.csv" --rejects "$TMP/rej.txt"
check "ingest prints the commit" contains "$OUT" "Committed seq 1: 3 rows into candles, 2 rejected"
check "rejects name line 4" contains "$(cat "$TMP/rej.txt")" "4	o: open 42150 is outside [low, high]"
check "rejects name line 5" contains "$(cat "$TMP/rej.txt")" "5	"
check "rejects keep the row" contains "$(cat "$TMP/rej.txt")" "42250,abc"

# The progress bar: hidden when stderr is not a terminal, forced by FSTORE_PROGRESS=1.
printf 'symbol,tf,ts,o,h,l,c,v\nSOLUSDT,1h,2024-01-01T00:00:00Z,100,101,99,100.5,7\n' > "$TMP/sol.csv"
"$FSTORE" --dir "$TMP/p" init >/dev/null
check "ingest without a terminal" run 0 "$FSTORE" --dir "$TMP/p" ingest candles "$TMP/sol.csv"
check "no progress bar in a pipe" bash -c "! grep -q 'ingest \\[' <<<'$ERR'"
FSTORE_PROGRESS=1 check "ingest with progress forced" run 0 "$FSTORE" --dir "$TMP/p" ingest candles "$TMP/sol.csv"
check "progress reaches 100%" contains "$ERR" "100%"
check "progress counts rows" contains "$ERR" "1 rows"

printf '\x89PNG\r\n\x1a\n\0\0\0binary' > "$TMP/img.png"
check "not a CSV fails" run 2 "$FSTORE" --dir "$D" ingest candles "$TMP/img.png"
check "not a CSV message" contains "$ERR" "nothing was stored"
check "unknown source" run 2 "$FSTORE" --dir "$D" ingest nope "$TMP/c.csv"
check "log shows one commit" run 0 "$FSTORE" --dir "$D" log --json
check "log json" contains "$OUT" '"rows": 3'
check "log has no second commit" bash -c "! grep -q '\"seq\": 2' <<<'$OUT'"

# Point in time: a 1h candle opening 01:00 is knowable at 02:00, not before.
check "get before knowable" run 0 "$FSTORE" --dir "$D" get BTCUSDT:1h technical:close_price --at 2024-01-01T01:59:59Z --json
check "value of the 00:00 candle" contains "$OUT" '"value": 42050'
check "get at knowable time" run 0 "$FSTORE" --dir "$D" get BTCUSDT:1h technical:close_price --at 2024-01-01T02:00:00Z --json
check "value of the 01:00 candle" contains "$OUT" '"value": 42150'
check "event_ts is the close" contains "$OUT" '"event_ts": "2024-01-01T02:00:00Z"'
# TTL of the technical view is 2h: at 05:00 the 02:00 value is too old.
check "get beyond ttl" run 0 "$FSTORE" --dir "$D" get BTCUSDT:1h technical:close_price --at 2024-01-01T04:00:01Z --json
check "outside ttl is not found" contains "$OUT" '"status": "NOT_FOUND"'
check "get at ttl edge" run 0 "$FSTORE" --dir "$D" get BTCUSDT:1h technical:close_price --at 2024-01-01T04:00:00Z --json
check "ttl edge inclusive" contains "$OUT" '"value": 42150'
check "latest shows staleness" run 0 "$FSTORE" --dir "$D" get BTCUSDT:1h technical:close_price technical:rsi_14
check "latest outside max age" contains "$OUT" "OUTSIDE_MAX_AGE"
check "indicator not computed yet" contains "$OUT" "NOT_COMPUTED"
check "wrong entity arity" run 1 "$FSTORE" --dir "$D" get BTCUSDT technical:close_price
check "arity message" contains "$ERR" "keyed by 2 values (symbol:tf)"
check "unknown feature" run 2 "$FSTORE" --dir "$D" get BTCUSDT:1h technical:nope
check "bad --at" run 1 "$FSTORE" --dir "$D" get BTCUSDT:1h technical:close_price --at 2024-13-01

# A correction: a new version of the 01:00 candle wins, except at --known-at 1.
printf 'symbol,tf,ts,o,h,l,c,v\nBTCUSDT,1h,2024-01-01T01:00:00Z,42050,42200,42000,42160,10\n' > "$TMP/fix.csv"
check "ingest correction" run 0 "$FSTORE" --dir "$D" ingest candles "$TMP/fix.csv"
check "correction is commit 2" contains "$OUT" "Committed seq 2: 1 row into candles"
check "get corrected" run 0 "$FSTORE" --dir "$D" get BTCUSDT:1h technical:close_price --at 2024-01-01T02:00:00Z --json
check "correction wins" contains "$OUT" '"value": 42160'
check "get known-at 1" run 0 "$FSTORE" --dir "$D" get BTCUSDT:1h technical:close_price --at 2024-01-01T02:00:00Z --known-at 1 --json
check "known-at hides the correction" contains "$OUT" '"value": 42150'

check "history" run 0 "$FSTORE" --dir "$D" history candles BTCUSDT:1h --columns ts,c
check "history keeps both versions" contains "$OUT" "3 rows"
check "history rows in order" contains "$(echo "$OUT" | awk 'NR>1{print $4}' | tr '\n' ' ')" "42050 42150 42160"
check "history limit" run 0 "$FSTORE" --dir "$D" history candles BTCUSDT:1h --limit 1
check "history limited" contains "$OUT" "1 row"
check "history unknown column" run 2 "$FSTORE" --dir "$D" history candles BTCUSDT:1h --columns nope

# kline layout without a header, times in ms
printf '1704067200000,1.1,1.2,1.0,1.15,100,1704070799999,115,10,50,57,0\n' > "$TMP/k.csv"
check "kline needs symbol" run 2 "$FSTORE" --dir "$D" ingest candles "$TMP/k.csv" --format binance
check "kline ingest" run 0 "$FSTORE" --dir "$D" ingest candles "$TMP/k.csv" --format binance --symbol XRPUSDT --tf 1h
# (JSON carries 17 significant digits, exact; the table shows the short form)
check "kline readable" run 0 "$FSTORE" --dir "$D" get XRPUSDT:1h technical:close_price --at 2024-01-01T01:00:00Z
check "kline value" contains "$OUT" "1.15 "

# A full disk (a file-size limit here) fails the ingest cleanly, stores
# nothing of it, and the store stays usable.
F="$TMP/full"
"$FSTORE" --dir "$F" init >/dev/null
"$FSTORE" --dir "$F" ingest candles "$TMP/c.csv" >/dev/null 2>&1 || true
before=$("$FSTORE" --dir "$F" log --json)
awk 'BEGIN{print "symbol,tf,ts,o,h,l,c,v"; for(i=0;i<20000;i++) printf "SYM%d,1m,%d,10,11,9,10.5,%d\n", i%50, 1700000000+int(i/50)*60, i}' > "$TMP/mid.csv"
check "ingest past the size limit fails" run 2 bash -c "ulimit -f 200; exec '$FSTORE' --dir '$F' ingest candles '$TMP/mid.csv'"
check "full disk message" contains "$ERR" "File too large"
check "nothing of it stored" test "$("$FSTORE" --dir "$F" log --json)" = "$before"
check "store usable after" run 0 "$FSTORE" --dir "$F" ingest candles "$TMP/fix.csv"
check "next commit numbered on" contains "$OUT" "Committed seq 2"

# A corrupted chunk file is detected by its checksum and named, never served.
"$FSTORE" --dir "$F" compact >/dev/null
chunk=$(ls "$F"/chunks/candles/*.chunk | head -1)
size=$(stat -c %s "$chunk")
printf '\xff' | dd of="$chunk" bs=1 seek=$((size / 2)) conv=notrunc status=none
check "corrupt chunk refused" run 2 "$FSTORE" --dir "$F" history candles BTCUSDT:1h
check "corrupt chunk named" contains "$ERR" "$(basename "$chunk")"

# Retention: with 30 days on candles, gc drops the chunks of 2024 and keeps
# today's rows.
G="$TMP/gc"
"$FSTORE" --dir "$G" init >/dev/null
printf 'sources:\n  - name: candles\n    retention: 30d\n' > "$TMP/ret.yaml"
"$FSTORE" --dir "$G" apply "$TMP/ret.yaml" >/dev/null
now=$(date +%s)
{ echo "symbol,tf,ts,o,h,l,c,v"
  for i in 0 1 2; do echo "BTCUSDT,1h,$((1704067200 + i * 86400)),1,2,0.5,1.5,1"; done
  for i in 1 2; do echo "BTCUSDT,1m,$((now - i * 60)),1,2,0.5,1.5,1"; done; } > "$TMP/ret.csv"
check "ingest old and new" run 0 "$FSTORE" --dir "$G" ingest candles "$TMP/ret.csv"
check "gc" run 0 "$FSTORE" --dir "$G" gc
check "gc dropped the old chunks" contains "$OUT" "candles: dropped 3 chunks, 3 rows"
check "old rows gone" run 0 "$FSTORE" --dir "$G" history candles BTCUSDT:1h
check "no old rows" contains "$OUT" "0 rows"
check "new rows kept" run 0 "$FSTORE" --dir "$G" history candles BTCUSDT:1m
check "recent rows" contains "$OUT" "2 rows"
check "gc again drops nothing" run 0 "$FSTORE" --dir "$G" gc
check "nothing left to drop" contains "$OUT" "candles: dropped 0 chunks, 0 rows"

# SIGKILL during ingest: every commit is whole or absent; acknowledged ones stay.
K="$TMP/kill"
"$FSTORE" --dir "$K" init >/dev/null
awk 'BEGIN{print "symbol,tf,ts,o,h,l,c,v"; for(i=0;i<60000;i++) printf "SYM%d,1m,%d,10,11,9,10.5,%d\n", i%50, 1700000000+int(i/50)*60, i}' > "$TMP/big.csv"
lost=0; half=0
for round in $(seq 1 10); do
  "$FSTORE" --dir "$K" ingest candles "$TMP/big.csv" > "$TMP/ack.$round" 2>/dev/null &
  pid=$!
  sleep 0.$((RANDOM % 3))$((RANDOM % 10))   # ingest takes ~0.2 s: most kills land inside it
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  acked=$(grep -c Committed "$TMP"/ack.* | awk -F: '{s+=$2} END{print s}')
  commits=$("$FSTORE" --dir "$K" log --json | grep -c '"seq"' || true)
  rows=$("$FSTORE" --dir "$K" log --json | grep -c '"rows": 60000' || true)
  [ "$commits" -ge "$acked" ] || lost=1
  [ "$rows" -eq "$commits" ] || half=1
done
check "no acknowledged commit lost across 10 kills" test $lost -eq 0
check "no half commit across 10 kills" test $half -eq 0
finish
