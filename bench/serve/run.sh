#!/usr/bin/env bash
# Online serving benchmark (docs/PERFORMANCE.md, "Online serving"), on loopback:
#   - fstore serve under wrk (POST bodies from post.lua): 1 entity x 20 features
#     and 100 entities x 20 features, at saturation, on one connection and, for
#     1 x 20, paced at 20k requests/s (post.lua's RATE: the issue's target
#     load), REPEAT times (default 3: the machine may be shared);
#     p50/p99/p99.9 latency and throughput;
#   - the same lookups against Redis (redis-server on a private port, the same
#     values as hashes) with redis-benchmark: HMGET of 20 fields, one key per
#     request, and 100 keys pipelined per round trip;
#   - the floor: a minimal server answering at once (floor.c) under the same
#     paced load, by turns with fstore;
#   - in-process lookups (build/release/bench/bench_online).
# Client and server share the machine's cores (2 here). Each run also says
# how much CPU other processes took meanwhile (other_cpu, in % of one core;
# interrupt time is not in it): figures from a run where it is high are
# disturbed. Installs wrk, redis-server and redis-tools from Debian when
# missing.
# Each fstore run also gives the server's CPU time per request (cpu_us, user +
# system, from /proc: what the server costs apart from the client's share).
# usage: [THREADS=1|2] [REPEAT=3] [FSTORE=path/to/fstore] [BASELINE=path/to/fstore] [PACED_ONLY=1]
#        bench/serve/run.sh [SECONDS per run, default 10]
#   THREADS: the server's threads (default 2, one per core); FSTORE: another
#   build of the command to measure (default build/release/bin/fstore);
#   BASELINE: a second build, run by turns with FSTORE's under the paced load
#   (before/after in the same run: the machine is noisy); PACED_ONLY=1: only
#   the paced runs (no saturation, 100 x 20, in-process or Redis).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
need=()
for p in wrk redis-server redis-tools curl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
make -s bench
fstore=${FSTORE:-build/release/bin/fstore}
work=$(mktemp -d /tmp/fstore-bench-serve-XXXXXX)
server='' redis='' floor='' base=''
cleanup() {
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null || true
  [ -n "$base" ] && kill -TERM "$base" 2>/dev/null || true
  [ -n "$floor" ] && kill -TERM "$floor" 2>/dev/null || true
  [ -n "$redis" ] && kill -TERM "$redis" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
N_ENT=1000
export N_ENT

# The machine may be shared: wait (up to a minute) until it is at least 90%
# idle over a second before each run.
cpu_idle() { awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
wait_quiet() {
  for _ in $(seq 60); do
    read -r i0 t0 < <(cpu_idle); sleep 1; read -r i1 t1 < <(cpu_idle)
    [ $(( (i1 - i0) * 100 / (t1 - t0 + 1) )) -ge 90 ] && return 0
  done
  echo "  (the machine stayed busy: the next figures are disturbed)"
}

# The data: 1000 entities, a source of 20 float columns, 10 rows each, and an
# online view taking all 20 (TTL 0: every value PRESENT).
{
  echo "entities:"; echo "  - {name: asset, join_keys: [symbol]}"
  echo "sources:"; echo "  - name: bars"; echo "    entity: asset"; echo "    timestamp: ts"; echo "    columns:"
  echo "      - {name: symbol, type: string}"; echo "      - {name: ts, type: timestamp}"
  for f in $(seq -w 1 20); do echo "      - {name: f$f, type: float64}"; done
  echo "views:"; echo "  - name: bench"; echo "    entity: asset"; echo "    source: bars"; echo "    ttl: 0"
  echo "    online: true"; echo "    features:"
  for f in $(seq -w 1 20); do echo "      - {name: f$f, from: f$f}"; done
} > "$work/defs.yaml"
awk -v n=$N_ENT 'BEGIN { srand(1); printf "symbol,ts"; for (f = 1; f <= 20; f++) printf ",f%02d", f; print ""
  for (e = 0; e < n; e++) for (r = 0; r < 10; r++) { printf "%012d,%d", e, 1700000000 + r * 60
    for (f = 1; f <= 20; f++) printf ",%.6f", rand() * 1000; print "" } }' > "$work/bars.csv"
D="$work/data"
"$fstore" --dir "$D" init >/dev/null
"$fstore" --dir "$D" apply "$work/defs.yaml" >/dev/null
"$fstore" --dir "$D" ingest bars "$work/bars.csv" >/dev/null
"$fstore" --dir "$D" materialize >/dev/null

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); $(date -u '+%Y-%m-%d %H:%M UTC'),$(uptime | sed 's/.*,\( *load average\)/\1/')"
if [ -z "${PACED_ONLY:-}" ]; then
  echo "== fstore in-process (build/release/bench/bench_online)"
  wait_quiet
  build/release/bench/bench_online 2000000
fi

threads=${THREADS:-2}
"$fstore" --dir "$D" serve --port 0 --threads "$threads" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/serve.log" && break; sleep 0.05; done
port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/serve.log")
url="http://127.0.0.1:$port"
curl -s -X POST "$url/get-online-features" -d '{"features": ["bench:f01", "bench:f20"], "entities": {"symbol": ["000000000007"]}}' \
  | grep -q '"statuses":\["PRESENT"\]' || { echo "the server does not answer PRESENT"; exit 1; }
base_url=''
if [ -n "${BASELINE:-}" ]; then
  "$BASELINE" --dir "$D" serve --port 0 --threads "$threads" > "$work/base.log" 2>&1 &
  base=$!
  for _ in $(seq 100); do grep -q 'listening on' "$work/base.log" && break; sleep 0.05; done
  base_url="http://127.0.0.1:$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/base.log")"
fi

# CPU time (jiffies) of every process but this script (wrk and its other
# children are reaped into it) and the servers: what other work took on the
# machine during a run (a process that ends meanwhile is counted in its
# parent).
others_cpu() {
  # (a process that ends between the glob and its read fails cat: not an error)
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v ex=" $$ $server $floor $redis $base " \
    '{ pid = $1; sub(/^.*\) /, ""); if (!index(ex, " " pid " ")) t += $12 + $13 + $14 + $15 } END { print t + 0 }'
}
proc_cpu() { # PID: its user + system jiffies (0 when none)
  [ -n "$1" ] && awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
now_ms() { date +%s%3N; }
other_pct() { # JIFFIES0 JIFFIES1 MS0 MS1: % of one core
  awk -v j=$(($2 - $1)) -v ms=$(($4 - $3)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%d", j * 100000 / (hz * ms) }'
}
wrk_run() { # LABEL CONNECTIONS [ENV=...]; $spid: the server's pid, for its CPU per request
  local label=$1 conns=$2; shift 2
  local out t0 o0 t1 o1 s0 s1 cpu=''
  wait_quiet
  t0=$(now_ms); o0=$(others_cpu); s0=$(proc_cpu "${spid:-}")
  out=$(env "$@" wrk -t1 -c"$conns" -d"${secs}s" -s bench/serve/post.lua "$url/get-online-features" | grep RESULT) ||
    out="RESULT (no result: is the server at $url gone?)"
  t1=$(now_ms); o1=$(others_cpu); s1=$(proc_cpu "${spid:-}")
  if [ -n "${spid:-}" ]; then
    cpu=$(echo "$out" | awk -v j=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" -v s="$secs" \
      '{ for (i = 1; i <= NF; i++) if ($i ~ /^rps=/) r = substr($i, 5) } END { if (r > 0) printf " cpu_us=%.1f", j / hz * 1e6 / (r * s) }')
  fi
  printf '%-44s %s%s other_cpu=%s%%\n' "$label" "${out#RESULT }" "$cpu" "$(other_pct "$o0" "$o1" "$t0" "$t1")"
}
spid=$server
# The floor (floor.c): a server that answers at once with a body of the size
# of fstore's 1 x 20 answer, under the same paced load, run by turns with
# fstore's: what wrk, loopback TCP and the machine cost alone.
feats=$(for f in $(seq -w 1 20); do printf '"bench:f%s",' "$f"; done)
blen=$(curl -s -X POST "$url/get-online-features" -d "{\"features\": [${feats%,}], \"entities\": {\"symbol\": [\"000000000007\"]}}" | wc -c)
fport=$((20000 + RANDOM % 20000))
build/release/bench/floor "$fport" "$blen" > "$work/floor.log" 2>&1 &
floor=$!
for _ in $(seq 100); do grep -q listening "$work/floor.log" && break; sleep 0.05; done
echo "== fstore serve (--threads $threads) under wrk -t1, ${secs}s per run${BASELINE:+; baseline: $BASELINE}"
[ -z "${PACED_ONLY:-}" ] && wrk_run "1 x 20, saturation (32 connections)" 32 ENTITIES=1
base_run() { url=$base_url spid=$base wrk_run "  baseline, the same load" 32 ENTITIES=1 RATE=20000; }
for i in $(seq "${REPEAT:-3}"); do
  # With a baseline, each goes first in every other turn.
  if [ -n "$base_url" ] && [ $((i % 2)) -eq 0 ]; then base_run; fi
  wrk_run "1 x 20, paced at 20k/s (32 connections)" 32 ENTITIES=1 RATE=20000
  if [ -n "$base_url" ] && [ $((i % 2)) -eq 1 ]; then base_run; fi
  url="http://127.0.0.1:$fport" spid=$floor wrk_run "  floor, the same load ($blen-byte answers)" 32 ENTITIES=1 RATE=20000
done
kill -TERM "$floor"; wait "$floor" 2>/dev/null || true; floor=''
if [ -n "$base" ]; then kill -TERM "$base"; wait "$base" 2>/dev/null || true; base=''; fi
[ -n "${PACED_ONLY:-}" ] && exit 0
wrk_run "1 x 20, 1 connection" 1 ENTITIES=1
wrk_run "100 x 20, saturation (8 connections)" 8 ENTITIES=100
wrk_run "100 x 20, 1 connection" 1 ENTITIES=100
kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=''

# Redis: the same 1000 x 20 values as hashes feat:<12-digit id>, loaded
# through redis-cli --pipe (RESP).
rport=$((20000 + RANDOM % 20000))
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --dir "$work" > "$work/redis.log" 2>&1 &
redis=$!
for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.05; done
awk -F, 'NR > 1 && NR % 10 == 1 { printf "*42\r\n$4\r\nHSET\r\n$17\r\nfeat:%s\r\n", $1
  for (f = 1; f <= 20; f++) { v = $(f + 2); printf "$3\r\nf%02d\r\n$%d\r\n%s\r\n", f, length(v), v } }' "$work/bars.csv" \
  | redis-cli -p "$rport" --pipe >/dev/null
fields=$(for f in $(seq -w 1 20); do printf 'f%s ' "$f"; done)
redis_run() { # LABEL CONNECTIONS PIPELINE
  local label=$1 c=$2 p=$3 n=$((secs * 40000))
  local out t0 o0 t1 o1 other
  wait_quiet
  t0=$(now_ms); o0=$(others_cpu)
  out=$(redis-benchmark -p "$rport" -c "$c" -n "$n" -P "$p" -r "$N_ENT" --precision 3 \
    HMGET 'feat:__rand_int__' $fields 2>/dev/null | tr '\r' '\n')
  t1=$(now_ms); o1=$(others_cpu)
  other=$(other_pct "$o0" "$o1" "$t0" "$t1")
  local rps p50 p99 p999
  rps=$(echo "$out" | sed -n 's/^ *throughput summary: \([0-9.]*\) requests per second/\1/p' | tail -1)
  p999=$(echo "$out" | awk '/% <= / { sub("%", "", $1); if ($1 + 0 >= 99.9) { print $3 * 1000; exit } }')
  read -r p50 p99 < <(echo "$out" | awk '/latency summary/ { getline; getline; print $3 * 1000, $5 * 1000 }')
  if [ "$p" -gt 1 ]; then
    printf '%-44s rps=%.0f (x%d keys) p50_us=%.0f p99_us=%.0f p999_us=%.0f other_cpu=%s%%\n' "$label" \
      "$(awk -v r="$rps" -v p="$p" 'BEGIN { print r / p }')" "$p" "$p50" "$p99" "$p999" "$other"
  else
    printf '%-44s rps=%.0f p50_us=%.0f p99_us=%.0f p999_us=%.0f other_cpu=%s%%\n' "$label" "$rps" "$p50" "$p99" \
      "$p999" "$other"
  fi
}
echo "== Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') HMGET of 20 fields, redis-benchmark"
redis_run "1 x 20, saturation (32 connections)" 32 1
redis_run "1 x 20, 1 connection" 1 1
redis_run "100 x 20 pipelined, saturation (8 conn.)" 8 100
redis_run "100 x 20 pipelined, 1 connection" 1 100
