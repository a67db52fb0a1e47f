#!/usr/bin/env bash
# materialize and serve end to end: the online store fed by compute, materialize
# and pushes; the HTTP server on a free port queried with curl (Feast's shapes,
# every refusal a JSON 4xx), a materialization by another process picked up by
# the running server, the served value equal to the training set's at the same
# moment, a graceful stop on SIGTERM and a restart that serves at once.
set -e
. "$(dirname "$0")/lib.sh"
D="$TMP/data"
cd "$(dirname "$0")/../.."
if ! command -v curl >/dev/null; then
  echo "ok   (skipped: no curl; scripts/install-deps.sh installs it)"; exit 0
fi
"$FSTORE" --dir "$D" init >/dev/null
"$FSTORE" --dir "$D" apply examples/features.yaml >/dev/null
# Two symbols x 60 hourly candles, then the hour that ended last (fresh).
now_h=$(( $(date +%s) / 3600 * 3600 ))
awk -v start=$((now_h - 61 * 3600)) 'BEGIN { srand(3); print "symbol,tf,ts,o,h,l,c,v"
  split("BTCUSDT ETHUSDT", s, " ")
  for (k = 1; k <= 2; k++) { p = 100 * k
    for (i = 0; i < 60; i++) { o = p; c = o * (1 + (rand() - 0.5) * 0.02)
      printf "%s,1h,%d,%.2f,%.2f,%.2f,%.2f,%.3f\n", s[k], start + i * 3600, o, (o > c ? o : c) * 1.001, (o < c ? o : c) * 0.999, c, 10 + rand() * 5
      p = c } } }' > "$TMP/c.csv"
"$FSTORE" --dir "$D" ingest candles "$TMP/c.csv" >/dev/null
check "compute feeds the online store" run 0 "$FSTORE" --dir "$D" compute
check "status" run 0 "$FSTORE" --dir "$D" materialize --status
check "status lists technical with 2 entities" contains "$OUT" "technical       2"
check "materialize" run 0 "$FSTORE" --dir "$D" materialize technical
check "materialize says what" contains "$OUT" "Materialized 1 view as of now: 2 entity rows"
check "materialize unknown view" run 1 "$FSTORE" --dir "$D" materialize nope
check "materialize offline view" run 1 "$FSTORE" --dir "$D" materialize market_stats
check "not online named" contains "$ERR" "not online"
check "incremental with --from" run 1 "$FSTORE" --dir "$D" materialize --incremental --from 2024-01-01

start_server() { # ARGS...: starts fstore serve on a free port; sets PID, URL
  "$FSTORE" --dir "$D" serve --port 0 "$@" >"$TMP/serve.out" 2>"$TMP/serve.err" &
  PID=$!
  for _ in $(seq 100); do
    grep -q 'listening on' "$TMP/serve.out" 2>/dev/null && break
    sleep 0.05
  done
  PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/serve.out")
  URL="http://127.0.0.1:$PORT"
}
stop_server() { kill -TERM "$PID" 2>/dev/null || true; STOP_STATUS=0; wait "$PID" || STOP_STATUS=$?; }
trap 'kill -TERM "$PID" 2>/dev/null || true; rm -rf "$TMP"' EXIT

start_server --max-body 2000
check "server listening" test -n "$PORT"
post() { curl -s -o "$TMP/body" -w '%{http_code}' -X POST "$URL$1" -H 'Content-Type: application/json' --data-binary "$2"; }
BODY() { cat "$TMP/body"; }

check "get-online-features" test "$(post /get-online-features '{"features": ["technical:close_price", "technical:rsi_14"], "entities": {"symbol": ["BTCUSDT", "NOPE"], "tf": ["1h", "1h"]}}')" = 200
check "feature names, join keys first" contains "$(BODY)" '"feature_names":["symbol","tf","close_price","rsi_14"]'
check "fresh values are PRESENT" contains "$(BODY)" '"statuses":["PRESENT","NOT_FOUND"]'
check "event time of the last bar" contains "$(BODY)" "\"$(date -u -d @$((now_h - 3600)) +%Y-%m-%dT%H:%M:%SZ)\""
check "service, full names" test "$(post /get-online-features '{"feature_service": "realtime_trading", "entities": {"symbol": ["ETHUSDT"], "tf": ["1h"]}, "full_feature_names": true}')" = 200
check "view__feature" contains "$(BODY)" '"technical__rsi_14"'
check "malformed JSON is 400" test "$(post /get-online-features '{"features": [')" = 400
check "error is JSON" contains "$(BODY)" '{"error": "malformed JSON'
check "missing join key is 400" test "$(post /get-online-features '{"features": ["technical:rsi_14"], "entities": {"symbol": ["BTCUSDT"]}}')" = 400
check "names the key" contains "$(BODY)" "missing join key 'tf'"
check "ragged lists are 400" test "$(post /get-online-features '{"features": ["technical:rsi_14"], "entities": {"symbol": ["BTCUSDT"], "tf": []}}')" = 400
check "unknown feature is 400" test "$(post /get-online-features '{"features": ["technical:nope"], "entities": {"symbol": ["BTCUSDT"], "tf": ["1h"]}}')" = 400
check "unknown service is 400" test "$(post /get-online-features '{"feature_service": "nope", "entities": {"symbol": ["BTCUSDT"], "tf": ["1h"]}}')" = 400
big=$(head -c 3000 /dev/zero | tr '\0' ' ')
check "oversized body is 413" test "$(post /get-online-features "{$big}")" = 413
check "unknown path is 404" test "$(curl -s -o /dev/null -w '%{http_code}' "$URL/nope")" = 404
check "wrong method is 405" test "$(curl -s -o /dev/null -w '%{http_code}' "$URL/get-online-features")" = 405
check "health" test "$(curl -s "$URL/health")" = '{"status": "ok"}'
check "registry" contains "$(curl -s "$URL/registry")" '"realtime_trading"'

# A push of the next candle, online and offline: stored, computed, served.
next=$((now_h - 3600))
check "push" test "$(post /push "{\"push_source_name\": \"candles\", \"to\": \"online_and_offline\", \"df\": {\"symbol\": [\"BTCUSDT\"], \"tf\": [\"1h\"], \"ts\": [$next], \"o\": [101], \"h\": [102], \"l\": [100], \"c\": [101.5], \"v\": [3]}}")" = 200
check "push committed" grep -q '"offline_commit": [1-9]' "$TMP/body"
post /get-online-features '{"features": ["technical:close_price", "technical:sma_20"], "entities": {"symbol": ["BTCUSDT"], "tf": ["1h"]}}' >/dev/null
check "pushed value served" contains "$(BODY)" '"values":[101.5]'
check "its indicators computed" test "$(grep -o "\"$(date -u -d @$((next + 3600)) +%Y-%m-%dT%H:%M:%SZ)\"" "$TMP/body" | wc -l)" -eq 2
check "bad push row is 400" test "$(post /push '{"push_source_name": "candles", "to": "online", "df": {"symbol": ["BTCUSDT", "ETHUSDT"], "tf": ["1h", "1h"], "ts": [1, 2], "o": [1, 1], "h": [2, 0.5], "l": [1, 1], "c": [1, 1], "v": [1, 1]}}')" = 400
check "names row and column" contains "$(BODY)" '"row": 1, "column": "h"'
check "metrics" contains "$(curl -s "$URL/metrics")" 'fstore_http_requests_total{endpoint="get-online-features",code="400"} 5'
check "metrics: online rows" contains "$(curl -s "$URL/metrics")" 'fstore_online_entities{view="technical"} 2'

# Another process materializes as of an earlier time: the server sees it.
T=$((now_h - 30 * 3600 + 1800))
check "materialize --to by another process" run 0 "$FSTORE" --dir "$D" materialize technical --to "$T" --lock-wait 5000
sleep 0.6
post /get-online-features '{"features": ["technical:close_price", "technical:rsi_14", "technical:momentum_score"], "entities": {"symbol": ["ETHUSDT"], "tf": ["1h"]}, "full_feature_names": true}' >/dev/null
served=$(BODY)
check "server picked the new file up" contains "$served" "\"$(date -u -d @$((T - 1800)) +%Y-%m-%dT%H:%M:%SZ)\""
# The same moment from a training set: the same values.
printf 'symbol,tf,event_ts\nETHUSDT,1h,%s\n' "$T" > "$TMP/labels.csv"
"$FSTORE" --dir "$D" training-set --labels "$TMP/labels.csv" --features technical:close_price,technical:rsi_14,technical:momentum_score --out "$TMP/t.csv" >/dev/null
IFS=, read -r _ _ _ c r m < <(tail -1 "$TMP/t.csv")
c=${c:-null} r=${r:-null} m=${m:-null}  # an empty cell is a null online
check "online equals training set (close)" contains "$served" "\"values\":[$c]"
check "online equals training set (rsi)" contains "$served" "\"values\":[$r]"
check "online equals training set (momentum)" contains "$served" "\"values\":[$m]"

stop_server
check "SIGTERM stops it cleanly" test "$STOP_STATUS" -eq 0
check "says it stopped" contains "$(cat "$TMP/serve.err")" "stopped"
# A restart serves the persisted store at once, without materializing.
start_server
post /get-online-features '{"features": ["technical:close_price"], "entities": {"symbol": ["ETHUSDT"], "tf": ["1h"]}}' >/dev/null
check "restart serves at once" contains "$(BODY)" "\"values\":[$c]"
check "busy port" run 2 "$FSTORE" --dir "$D" serve --port "$PORT"
check "says why" contains "$ERR" "cannot listen on 127.0.0.1 port $PORT"
stop_server
check "bad address" run 1 "$FSTORE" --dir "$D" serve --bind 999.1.1.1
finish
