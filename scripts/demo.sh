#!/usr/bin/env bash
# `make demo`: the main job on the embedded default, in ./demo-data.
# Create a data directory, apply examples/features.yaml, list and describe
# what was registered, ingest generated candles (with a few bad rows), read
# them back under the point-in-time rule, correct one, compute the
# indicator and expression features, read them point-in-time, and
# checkpoint to compressed chunk files; build a training set, materialize
# the online store, serve it over HTTP, query it with curl, push live candles
# and query again, and stop the server.
set -euo pipefail
build=${1:-build/release}
cd "$(dirname "$0")/.."
fstore="$build/bin/fstore"
dir=demo-data
export FSTORE_DIR=$dir
rm -rf "$dir"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }

step "$fstore" init
step "$fstore" apply examples/features.yaml
step "$fstore" apply examples/features.yaml   # idempotent: nothing to change
step "$fstore" ls --kind view
step "$fstore" ls --category technical
step "$fstore" describe technical:rsi_14
step "$fstore" describe realtime_trading

# Three symbols x 500 hourly candles (a deterministic random walk), plus two
# bad rows to show what ingest does with them.
csv="$dir/candles.csv"
awk 'BEGIN {
  srand(42); print "symbol,tf,ts,open,high,low,close,volume"
  split("BTCUSDT ETHUSDT SOLUSDT", sym, " "); split("42000 2300 95", p0, " ")
  for (s = 1; s <= 3; s++) { p = p0[s]
    for (i = 0; i < 500; i++) {
      o = p; c = o * (1 + (rand() - 0.5) * 0.02); h = (o > c ? o : c) * 1.003; l = (o < c ? o : c) * 0.997
      printf "%s,1h,%d,%.2f,%.2f,%.2f,%.2f,%.3f\n", sym[s], 1704067200 + i * 3600, o, h, l, c, 10 + rand() * 90
      p = c } }
  print "BTCUSDT,1h,2024-02-01T00:00:00Z,100,90,95,96,1"
  print "ETHUSDT,1h,not-a-time,1,2,0.5,1.5,3" }' > "$csv"
step "$fstore" ingest candles "$csv" --rejects "$dir/rejects.txt" || true  # exit 3: some rows rejected
step cat "$dir/rejects.txt"
# The 10:00 candle closes at 11:00: at 10:59 the 09:00 candle is the latest knowable.
step "$fstore" get BTCUSDT:1h technical:close_price technical:volume technical:rsi_14 --at 2024-01-01T10:59:00Z
step "$fstore" history candles BTCUSDT:1h --columns ts,o,h,l,c --limit 3
printf 'symbol,tf,ts,o,h,l,c,v\nBTCUSDT,1h,2024-01-01T09:00:00Z,42000,42500,41500,42222.22,50\n' > "$dir/fix.csv"
step "$fstore" ingest candles "$dir/fix.csv"           # a correction: a new version, not an overwrite
step "$fstore" get BTCUSDT:1h technical:close_price --at 2024-01-01T10:59:00Z
step "$fstore" get BTCUSDT:1h technical:close_price --at 2024-01-01T10:59:00Z --known-at 1
step "$fstore" log
# Indicators and expressions, stamped at each candle's close, incrementally.
step "$fstore" compute
step "$fstore" get BTCUSDT:1h technical:rsi_14 technical:macd technical:bollinger_upper technical:momentum_score --at 2024-01-10T10:59:00Z
step "$fstore" compute                                   # nothing new: 0 rows
step "$fstore" jobs
step "$fstore" describe technical | tail -6
step "$fstore" compact
step "$fstore" describe source/candles

# A training set: label rows (entity, time) joined point-in-time, recorded as a run.
printf 'symbol,tf,event_ts,label\nBTCUSDT,1h,2024-01-05T12:00:00Z,1\nETHUSDT,1h,2024-01-10T00:30:00Z,0\nSOLUSDT,1h,2024-01-15T18:00:00Z,1\n' > "$dir/labels.csv"
step "$fstore" training-set --labels "$dir/labels.csv" --features technical:close_price,technical:rsi_14,technical:macd,technical:momentum_score --out "$dir/train.csv"
step cat "$dir/train.csv"
# The online store: the latest row of every online view, for serving.
step "$fstore" materialize
step "$fstore" materialize --status
# The feature server (Feast's HTTP API) on a free port, in the background.
"$fstore" serve --port 0 > "$dir/serve.log" 2>&1 &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q 'listening on' "$dir/serve.log" && break; sleep 0.05; done
port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/serve.log")
url="http://127.0.0.1:$port"
printf '\n%s$ %s serve --port 0 &%s\n' "$bold" "$fstore" "$plain"; cat "$dir/serve.log"
query='{"features": ["technical:close_price", "technical:rsi_14", "technical:momentum_score"], "entities": {"symbol": ["BTCUSDT", "ETHUSDT"], "tf": ["1h", "1h"]}}'
# The generated candles are from January 2024: older than the view's 2h TTL,
# so their values come back OUTSIDE_MAX_AGE (the value is still given).
step curl -s -X POST "$url/get-online-features" -d "$query"
# Live candles, pushed to the server (online and offline): stored as one commit,
# their indicators computed, and served fresh (the hour that just closed).
ts=$(( $(date +%s) / 3600 * 3600 - 3600 ))
step curl -s -X POST "$url/push" -d "{\"push_source_name\": \"candles\", \"to\": \"online_and_offline\", \"df\": {\"symbol\": [\"BTCUSDT\", \"ETHUSDT\"], \"tf\": [\"1h\", \"1h\"], \"ts\": [$ts, $ts], \"o\": [41000, 2400], \"h\": [41500, 2420], \"l\": [40900, 2390], \"c\": [41400, 2415], \"v\": [42.5, 310]}}"
step curl -s -X POST "$url/get-online-features" -d "$query"
curl -s -X POST "$url/get-online-features" -d "$query" | grep -q '"statuses":\["PRESENT","PRESENT"\]'  # the demo checks it
step curl -s -X POST "$url/get-online-features" -d '{"features": ["technical:nope"], "entities": {"symbol": ["BTCUSDT"]}}'
printf '\n%s$ curl -s %s/metrics | grep -E ...%s\n' "$bold" "$url" "$plain"
curl -s "$url/metrics" | grep -E '^fstore_(http_requests_total\{endpoint="(get-online-features|push)"|online_entities)'
printf '\n%s$ kill -TERM %s%s\n' "$bold" "$server" "$plain"
kill -TERM "$server"; wait "$server"; trap - EXIT
cat "$dir/serve.log"
printf '\nDemo data directory: %s (remove it with: rm -rf %s)\n' "$dir" "$dir"
