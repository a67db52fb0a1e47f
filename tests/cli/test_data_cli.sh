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
# A file larger than a part is streamed: parsed in parts (here 7000 rows, by
# FSTORE_INGEST_PART_ROWS), each written at once as chunk files, one WAL
# record naming them all as ONE commit. Same answers as an ingest in one
# piece; the log holds no data.
S="$TMP/stream"
"$FSTORE" --dir "$S" init >/dev/null
"$FSTORE" --dir "$S" apply examples/features.yaml >/dev/null
FSTORE_INGEST_PART_ROWS=7000 check "streamed ingest" run 0 "$FSTORE" --dir "$S" ingest candles "$TMP/big.csv"
check "streamed ingest is one commit" contains "$OUT" "Committed seq 1: 60000 rows into candles"
check "streamed log" run 0 "$FSTORE" --dir "$S" log --json
check "one commit of 60000 rows" test "$(grep -c '"rows": 60000' <<<"$OUT")" -eq 1
check "no second commit" bash -c "! grep -q '\"seq\": 2' <<<'$OUT'"
check "streamed parts are chunk files" test "$(ls "$S"/chunks/candles/*-p*.chunk | wc -l)" -ge 8
check "the log holds no rows" test "$(du -sb "$S/wal" | cut -f1)" -lt 10000
check "streamed history" run 0 "$FSTORE" --dir "$S" history candles SYM7:1m --columns ts,v
check "all rows of one symbol" contains "$OUT" "1200 rows"
# the last bar of SYM7 (i = 59957, ts 1700000000 + 1199*60) closes at +60 s
check "streamed get" run 0 "$FSTORE" --dir "$S" get SYM7:1m technical:close_price --at $((1700000000 + 1199 * 60 + 60)) --json
check "streamed value" contains "$OUT" '"value": 10.5'
check "streamed event_ts" contains "$OUT" '"event_ts": "2023-11-15T18:13:20Z"'
# the same file in one piece gives the same history
"$FSTORE" --dir "$TMP/whole" init >/dev/null
"$FSTORE" --dir "$TMP/whole" ingest candles "$TMP/big.csv" >/dev/null
check "same rows as one piece" test "$("$FSTORE" --dir "$S" history candles SYM3:1m --columns ts,v)" = "$("$FSTORE" --dir "$TMP/whole" history candles SYM3:1m --columns ts,v)"
# a second streamed ingest corrects the first (same times): it wins, known-at 1 does not see it
sed 's/,10.5,/,10.75,/' "$TMP/big.csv" > "$TMP/big2.csv"
FSTORE_INGEST_PART_ROWS=7000 check "second streamed ingest" run 0 "$FSTORE" --dir "$S" ingest candles "$TMP/big2.csv"
check "second is commit 2" contains "$OUT" "Committed seq 2: 60000 rows"
check "correction wins" run 0 "$FSTORE" --dir "$S" get SYM7:1m technical:close_price --at $((1700000000 + 1199 * 60 + 60)) --json
check "corrected value" contains "$OUT" '"value": 10.75'
check "known-at 1" run 0 "$FSTORE" --dir "$S" get SYM7:1m technical:close_price --at $((1700000000 + 1199 * 60 + 60)) --known-at 1 --json
check "first value at known-at 1" contains "$OUT" '"value": 10.5'
check "history keeps both" run 0 "$FSTORE" --dir "$S" history candles SYM7:1m --columns ts,c
check "both versions" contains "$OUT" "2400 rows"

# A bad file fails as a whole even when parts were written already.
{ cat "$TMP/big.csv"; printf 'SYM1,1m,1700000000,1,2,0.5,1.5,1\n\0binary\n'; } > "$TMP/badtail.csv"
files_before=$(ls "$S"/chunks/candles | wc -l)
FSTORE_INGEST_PART_ROWS=7000 check "binary tail fails" run 2 "$FSTORE" --dir "$S" ingest candles "$TMP/badtail.csv"
check "binary tail stores nothing" contains "$ERR" "nothing was stored"
check "no commit 3" bash -c "! '$FSTORE' --dir '$S' log --json | grep -q '\"seq\": 3'"
check "its parts are gone" test "$(ls "$S"/chunks/candles | wc -l)" -eq "$files_before"

# A full disk while streaming (a file-size limit below a part's file): the
# parts written so far go, nothing is stored, the store stays usable.
F2="$TMP/full2"
"$FSTORE" --dir "$F2" init >/dev/null
check "streamed past the size limit fails" run 2 bash -c "ulimit -f 16; FSTORE_INGEST_PART_ROWS=20000 exec '$FSTORE' --dir '$F2' ingest candles '$TMP/big.csv'"
check "streamed full disk message" contains "$ERR" "File too large"
check "nothing of it stored (streamed)" run 0 "$FSTORE" --dir "$F2" log --json
check "no commit after the full disk" bash -c "! grep -q '\"seq\"' <<<'$OUT'"
check "no parts left" test "$(ls "$F2"/chunks/candles 2>/dev/null | wc -l)" -eq 0
FSTORE_INGEST_PART_ROWS=20000 check "streamed store usable after" run 0 "$FSTORE" --dir "$F2" ingest candles "$TMP/big.csv"
check "it is commit 1" contains "$OUT" "Committed seq 1: 60000 rows"

# Killed at each step of a streamed commit: before its WAL record nothing
# is visible and the parts are removed at the next open; after it the
# commit is there whole.
for point in stream-after-part stream-before-sync stream-before-commit-record stream-after-commit-record checkpoint-before-manifest; do
  P="$TMP/crash-$point"
  "$FSTORE" --dir "$P" init >/dev/null
  "$FSTORE" --dir "$P" ingest candles "$TMP/c.csv" >/dev/null 2>&1 || true
  FSTORE_CRASH_AT=$point FSTORE_INGEST_PART_ROWS=7000 "$FSTORE" --dir "$P" ingest candles "$TMP/big.csv" >/dev/null 2>&1 || true
  n=$("$FSTORE" --dir "$P" log --json | grep -c '"rows": 60000' || true)
  case $point in
    stream-after-commit-record|checkpoint-before-manifest) want=1 ;;
    *) want=0 ;;
  esac
  check "crash at $point: commits of the file: $want" test "$n" -eq "$want"
  "$FSTORE" --dir "$P" compact >/dev/null   # a writer open: strays go
  rows=$("$FSTORE" --dir "$P" history candles SYM7:1m | tail -1)
  if [ $want -eq 1 ]; then check "crash at $point: all rows there" contains "$rows" "1200 rows"
  else check "crash at $point: no row there" contains "$rows" "0 rows"
       check "crash at $point: no stray part" test "$(ls "$P"/chunks/candles 2>/dev/null | grep -c -- '-p' || true)" -eq 0; fi
done

# SIGKILL at random moments of streamed ingests: whole commits or none.
K2="$TMP/kill2"
"$FSTORE" --dir "$K2" init >/dev/null
lost=0; half=0
rm -f "$TMP"/ack2.*
for round in $(seq 1 8); do
  FSTORE_INGEST_PART_ROWS=5000 "$FSTORE" --dir "$K2" ingest candles "$TMP/big.csv" > "$TMP/ack2.$round" 2>/dev/null &
  pid=$!
  sleep 0.$((RANDOM % 3))$((RANDOM % 10))
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  acked=$(grep -c Committed "$TMP"/ack2.* | awk -F: '{s+=$2} END{print s}')
  commits=$("$FSTORE" --dir "$K2" log --json | grep -c '"seq"' || true)
  rows=$("$FSTORE" --dir "$K2" log --json | grep -c '"rows": 60000' || true)
  [ "$commits" -ge "$acked" ] || lost=1
  [ "$rows" -eq "$commits" ] || half=1
done
check "streamed: no acknowledged commit lost across 8 kills" test $lost -eq 0
check "streamed: no half commit across 8 kills" test $half -eq 0
total=$("$FSTORE" --dir "$K2" history candles SYM7:1m | tail -1)
check "streamed: rows are whole commits" contains "$total" "$((1200 * $("$FSTORE" --dir "$K2" log --json | grep -c '"seq"'))) rows"
# A large regular file is parsed as two halves at once (FSTORE_INGEST_SPLIT_BYTES
# lowers the size for the test): the same rows, rejects and line numbers as
# reading it in order (standard input is always read in order), also when
# the middle falls inside a quoted field that spans lines (the second half
# is then read again after the first).
for q in 0 1; do
  awk -v n=60000 -v q=$q 'BEGIN{
    print "symbol,tf,ts,o,h,l,c,v";
    for(i=0;i<n;i++){ v=(i%20000==7)?"abcdefg":sprintf("%07d",i); printf "SYM%02d,1m,%d,10,11,9,10.5,%s\n", i%50, 1700000000+int(i/50)*60, v }
    if (q) { printf "\"SYM"; for(k=0;k<3000;k++) printf "\nX"; printf "\",1m,1700000000,10,11,9,10.5,1\n" }
    for(i=n;i<2*n;i++){ v=(i%20000==7)?"abcdefg":sprintf("%07d",i); printf "SYM%02d,1m,%d,10,11,9,10.5,%s\n", i%50, 1700000000+int(i/50)*60, v }
  }' > "$TMP/split$q.csv"
  for mode in halves order; do
    H="$TMP/split$q-$mode"
    "$FSTORE" --dir "$H" init >/dev/null
    if [ $mode = halves ]; then
      FSTORE_INGEST_SPLIT_BYTES=100000 FSTORE_INGEST_PART_ROWS=9000 run 3 "$FSTORE" --dir "$H" ingest candles "$TMP/split$q.csv" --rejects "$H.rej" || true
    else
      FSTORE_INGEST_PART_ROWS=9000 run 3 bash -c "exec '$FSTORE' --dir '$H' ingest candles - --rejects '$H.rej' < '$TMP/split$q.csv'" || true
    fi
    echo "$OUT" > "$H.out"
    "$FSTORE" --dir "$H" history candles SYM07:1m --columns ts,v > "$H.h7"
    "$FSTORE" --dir "$H" history candles SYM42:1m --columns ts,v > "$H.h42"
  done
  check "halves ($q): committed" contains "$(cat "$TMP/split$q-halves.out")" "Committed seq 1: $((120000 - 6)) rows into candles, $((6 + q)) rejected"
  check "halves ($q): same summary as in order" test "$(cat "$TMP/split$q-halves.out" | sed 's/halves/X/')" = "$(cat "$TMP/split$q-order.out" | sed 's/order/X/')"
  check "halves ($q): same rows" cmp -s "$TMP/split$q-halves.h7" "$TMP/split$q-order.h7"
  check "halves ($q): same rows (2)" cmp -s "$TMP/split$q-halves.h42" "$TMP/split$q-order.h42"
  check "halves ($q): same rejects and line numbers" cmp -s "$TMP/split$q-halves.rej" "$TMP/split$q-order.rej"
done
check "halves: a reject of the second half names its line" contains "$(cat "$TMP/split0-halves.rej")" "100009	v: not a number"
check "halves: the quoted record is one reject" contains "$(cat "$TMP/split1-halves.rej")" "60002	symbol: not a symbol"
finish
