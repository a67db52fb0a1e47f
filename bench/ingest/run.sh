#!/usr/bin/env bash
# Ingest-and-storage benchmark: fstore vs PostgreSQL 15 COPY vs DuckDB, one run,
# the same CSV for all. Prints a table and the ratios fstore/peer.
#
#   bench/ingest/setup.sh                       # once: install the peers
#   bench/ingest/run.sh                         # 100 symbols x 100,000 bars = 10M rows
#   BENCH_SYMBOLS=100 BENCH_ROWS_PER_SYMBOL=20000 bench/ingest/run.sh   # 2M rows
#
# Environment:
#   BENCH_SYMBOLS          symbols (default 100)
#   BENCH_ROWS_PER_SYMBOL  1-minute bars per symbol (default 100000)
#   BENCH_SEED             generator seed (default 42)
#   BENCH_WORK             scratch directory (default: a new mktemp dir under /tmp;
#                          removed at the end unless BENCH_KEEP=1)
#   BENCH_PG_PORT          private PostgreSQL port (default 54329; unix socket only)
#   FSTORE                 the fstore binary (default build/release/bin/fstore)
#
# Timings are wall clock (date +%s.%N) around each system's load command, so they
# include process start-up (and, for PostgreSQL, connecting). Peak RSS is from
# /usr/bin/time -v for fstore and DuckDB (node process); for PostgreSQL it is the
# VmHWM of the backend that ran the load (it counts the shared buffers it touched).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BENCH="$ROOT/bench"
SYMBOLS="${BENCH_SYMBOLS:-100}"
BARS="${BENCH_ROWS_PER_SYMBOL:-100000}"
SEED="${BENCH_SEED:-42}"
PG_PORT="${BENCH_PG_PORT:-54329}"
FSTORE="${FSTORE:-$ROOT/build/release/bin/fstore}"
PGBIN=/usr/lib/postgresql/15/bin
ROWS=$((SYMBOLS * BARS))

die() { echo "run.sh: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}'; }
# peak RSS in kB from a /usr/bin/time -v log
rss_kb() { awk -F': *' '/Maximum resident set size/{print $2}' "$1"; }

[ -x "$FSTORE" ] || die "fstore binary not found at $FSTORE (run make)"

if [ -n "${BENCH_WORK:-}" ]; then WORK="$BENCH_WORK"; mkdir -p "$WORK"; else WORK="$(mktemp -d /tmp/fstore-bench-ingest.XXXXXX)"; fi
chmod 755 "$WORK"
[ "$(id -u)" -eq 0 ] && chown postgres "$WORK"   # PostgreSQL writes its log and \! output here

# ---- PostgreSQL runs as a non-root user -------------------------------------
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root and there is no 'postgres' user"
  AS_PG=(runuser -u postgres --)
else
  AS_PG=()
fi
PGDATA="$WORK/pgdata"
PGSOCK="$WORK/pgsock"
PG_STARTED=0
cleanup() {
  if [ $PG_STARTED -eq 1 ]; then
    "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ "${BENCH_KEEP:-0}" != 1 ] && [ -z "${BENCH_WORK:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# a private copy of the binary, so a rebuild during the run cannot change it
cp "$FSTORE" "$WORK/fstore-bin"; FSTORE_SRC="$FSTORE"; FSTORE="$WORK/fstore-bin"
echo "== fstore ingest benchmark: $SYMBOLS symbols x $BARS bars = $ROWS rows; work dir $WORK"
echo "== fstore binary: $FSTORE_SRC, $("$FSTORE" version), sha256 $(sha256sum "$FSTORE" | cut -c1-12), built $(date -u -r "$FSTORE_SRC" +%Y-%m-%dT%H:%M:%SZ); tree: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null)$(cd "$ROOT" && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && echo ' + uncommitted changes')"
echo "== machine: $(nproc) cores, $(free -h | awk '/^Mem:/{print $2}') RAM; load average: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%M:%SZ)"

# ---- the data ----------------------------------------------------------------
CSV="$WORK/candles.csv"
t=$(now)
python3 "$HERE/gen_candles.py" --symbols "$SYMBOLS" --bars "$BARS" --seed "$SEED" "$CSV"
chmod 644 "$CSV"
csv_rows=$(($(wc -l < "$CSV") - 1))
[ "$csv_rows" -eq "$ROWS" ] || die "generator wrote $csv_rows rows, expected $ROWS"
CSV_BYTES=$(stat -c %s "$CSV")
echo "== CSV: $csv_rows rows, $CSV_BYTES bytes, generated in $(since "$t") s"
# warm the page cache for everyone alike
cat "$CSV" > /dev/null

declare -a R_SYS R_SEC R_BYTES R_RSS R_NOTE

# ---- (a) fstore ----------------------------------------------------------------
FDIR="$WORK/fstore"
"$FSTORE" --dir "$FDIR" init >/dev/null
sync
t=$(now)
F_OK=1
/usr/bin/time -v -o "$WORK/fstore.time" "$FSTORE" --dir "$FDIR" ingest candles "$CSV" > "$WORK/fstore.out" 2> "$WORK/fstore.err" || F_OK=0
F_SEC=$(since "$t")
cat "$WORK/fstore.out"
if [ $F_OK -eq 0 ]; then
  F_ERR="$(grep -v '^\s' "$WORK/fstore.err" | grep -v '^Command exited' | head -1)"
  echo "== fstore ingest FAILED after $F_SEC s: $F_ERR" >&2
  R_SYS+=("fstore $("$FSTORE" version | awk "{print \$2}") FAILED"); R_SEC+=("$F_SEC"); R_BYTES+=("")
  R_RSS+=("$(rss_kb "$WORK/fstore.time")"); R_NOTE+=("ingest failed: $F_ERR")
else
f_rows=$("$FSTORE" --dir "$FDIR" --json log | awk -F': *' '/"rows"/{gsub(/[ ,]/,"",$2); s+=$2} END{print s+0}')
[ "$f_rows" -eq "$ROWS" ] || die "fstore holds $f_rows rows (log), expected $ROWS"
F_BYTES_INGEST=$(du -sb "$FDIR" | cut -f1)
echo "== fstore: bytes right after ingest: $F_BYTES_INGEST ($(du -sb "$FDIR/wal" | cut -f1) in wal/, $(du -sb "$FDIR/chunks" 2>/dev/null | cut -f1 || echo 0) in chunks/)"
F_NOTE="as left by ingest; no compact command"
if "$FSTORE" compact --help >/dev/null 2>&1; then
  t=$(now)
  "$FSTORE" --dir "$FDIR" compact
  F_NOTE="bytes after fstore compact (compact took $(since "$t") s, not in seconds; $F_BYTES_INGEST bytes before it)"
fi
F_BYTES=$(du -sb "$FDIR" | cut -f1)
R_SYS+=("fstore $("$FSTORE" version | awk "{print \$2}")"); R_SEC+=("$F_SEC"); R_BYTES+=("$F_BYTES"); R_RSS+=("$(rss_kb "$WORK/fstore.time")"); R_NOTE+=("$F_NOTE")
echo "== fstore: $f_rows rows, $F_SEC s, $F_BYTES bytes ($F_NOTE)"

# point-in-time read-back of the last bar of the first symbol: its close must match
# the CSV. A bar's ts is its open time; its close is known at ts + 1m.
last=$(awk -F, 'NR>1 && $1==s {l=$0} NR==2{s=$1; l=$0} END{print l}' "$CSV")
l_sym=$(cut -d, -f1 <<<"$last"); l_ts=$(cut -d, -f3 <<<"$last"); l_c=$(cut -d, -f7 <<<"$last")
if "$FSTORE" --dir "$FDIR" apply "$ROOT/examples/features.yaml" >/dev/null 2>&1; then
  got=$("$FSTORE" --dir "$FDIR" get "$l_sym:1m" technical:close_price --at "$((l_ts + 60))" 2>&1 || true)
  # compare as numbers: the CSV writes 7712.00, fstore prints 7712
  val=$(awk '$1=="technical:close_price"{print $2}' <<<"$got")
  if awk -v a="$val" -v b="$l_c" 'BEGIN{exit !(a != "" && a + 0 == b + 0)}'; then
    echo "== fstore get $l_sym:1m close at $((l_ts + 60)) = $val (matches CSV $l_c)"
  else die "fstore get: expected close $l_c, got: $got"; fi
fi
fi  # F_OK

# ---- (b) PostgreSQL 15 ---------------------------------------------------------
if [ -x "$PGBIN/initdb" ]; then
  mkdir -p "$PGSOCK"
  [ ${#AS_PG[@]} -gt 0 ] && chown postgres "$PGSOCK"
  if [ ${#AS_PG[@]} -gt 0 ]; then mkdir -p "$PGDATA" && chown postgres "$PGDATA"; fi
  "${AS_PG[@]}" "$PGBIN/initdb" -D "$PGDATA" -A trust -U bench --no-sync >/dev/null
  "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$WORK/pg.log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories='$PGSOCK' -p $PG_PORT -c synchronous_commit=on -c fsync=on" start >/dev/null
  PG_STARTED=1
  PSQL=("${AS_PG[@]}" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$PG_PORT" -U bench -d postgres)
  PGVER=$("${PSQL[@]}" -Atc 'show server_version' | cut -d' ' -f1)

  # (b1) as the brief asks: ts timestamptz. The CSV's ts is epoch seconds, which
  # timestamptz input does not take, so COPY goes into a temporary staging table
  # and INSERT ... SELECT to_timestamp(ts) fills the logged table; then the index.
  cat > "$WORK/pg_tz.sql" <<SQL
CREATE TABLE candles (symbol text, tf text, ts timestamptz,
  o double precision, h double precision, l double precision, c double precision, v double precision);
SELECT pg_backend_pid() AS bpid \gset
BEGIN;
CREATE TEMP TABLE stage (symbol text, tf text, ts bigint,
  o double precision, h double precision, l double precision, c double precision, v double precision) ON COMMIT DROP;
COPY stage FROM '$CSV' (FORMAT csv, HEADER true);
INSERT INTO candles SELECT symbol, tf, to_timestamp(ts), o, h, l, c, v FROM stage;
COMMIT;
CREATE INDEX candles_key ON candles (symbol, tf, ts);
\setenv BPID :bpid
\! grep VmHWM /proc/\$BPID/status > $WORK/pg_tz.rss
SQL
  # (b2) PostgreSQL's plain COPY path: ts kept as bigint (epoch seconds), COPY
  # straight into the logged table, then the same index.
  cat > "$WORK/pg_raw.sql" <<SQL
CREATE TABLE candles_raw (symbol text, tf text, ts bigint,
  o double precision, h double precision, l double precision, c double precision, v double precision);
SELECT pg_backend_pid() AS bpid \gset
COPY candles_raw FROM '$CSV' (FORMAT csv, HEADER true);
CREATE INDEX candles_raw_key ON candles_raw (symbol, tf, ts);
\setenv BPID :bpid
\! grep VmHWM /proc/\$BPID/status > $WORK/pg_raw.rss
SQL
  chmod 644 "$WORK"/pg_*.sql
  for v in tz raw; do
    tbl=candles; [ $v = raw ] && tbl=candles_raw
    "${PSQL[@]}" -c CHECKPOINT
    sync
    t=$(now)
    "${PSQL[@]}" -f "$WORK/pg_$v.sql"
    sec=$(since "$t")
    n=$("${PSQL[@]}" -Atc "SELECT count(*) FROM $tbl")
    [ "$n" -eq "$ROWS" ] || die "PostgreSQL $tbl holds $n rows, expected $ROWS"
    bytes=$("${PSQL[@]}" -Atc "SELECT pg_total_relation_size('$tbl')")
    rss=$(awk '{print $2}' "$WORK/pg_$v.rss" 2>/dev/null || echo "")
    if [ $v = tz ]; then
      R_SYS+=("postgresql $PGVER (timestamptz)"); R_NOTE+=("COPY to temp stage + INSERT..SELECT to_timestamp + index")
    else
      R_SYS+=("postgresql $PGVER (ts bigint)"); R_NOTE+=("COPY + index")
    fi
    R_SEC+=("$sec"); R_BYTES+=("$bytes"); R_RSS+=("$rss")
    echo "== PostgreSQL ($v): $n rows, $sec s, $bytes bytes (table+index)"
  done
  "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  PG_STARTED=0
else
  echo "== PostgreSQL 15 not installed: SKIPPED (run bench/ingest/setup.sh)" >&2
fi

# ---- (c) DuckDB via node ------------------------------------------------------
if (cd "$BENCH" && node -e 'require("@duckdb/node-api")' 2>/dev/null); then
  DDB="$WORK/duck.duckdb"
  sync
  t=$(now)
  (cd "$BENCH" && /usr/bin/time -v -o "$WORK/duck.time" node "$HERE/duckdb_ingest.js" "$DDB" "$CSV") > "$WORK/duck.out"
  D_SEC=$(since "$t")
  cat "$WORK/duck.out"
  d_rows=$(sed -n 's/.*rows=\([0-9]*\).*/\1/p' "$WORK/duck.out")
  [ "$d_rows" -eq "$ROWS" ] || die "DuckDB holds $d_rows rows, expected $ROWS"
  [ ! -e "$DDB.wal" ] || echo "== note: DuckDB WAL left after CHECKPOINT: $(stat -c %s "$DDB.wal") bytes (counted)"
  D_BYTES=$(stat -c %s "$DDB")
  [ ! -e "$DDB.wal" ] || D_BYTES=$((D_BYTES + $(stat -c %s "$DDB.wal")))
  DVER=$(cd "$BENCH" && node -p 'require("@duckdb/node-api/package.json").version')
  D_THREADS=$(sed -n 's/.*threads=\([0-9]*\).*/\1/p' "$WORK/duck.out")
  R_SYS+=("duckdb (node-api $DVER)"); R_SEC+=("$D_SEC"); R_BYTES+=("$D_BYTES"); R_RSS+=("$(rss_kb "$WORK/duck.time")")
  R_NOTE+=("CTAS read_csv + CHECKPOINT, $D_THREADS threads, incl. node start")
  echo "== DuckDB: $d_rows rows, $D_SEC s, $D_BYTES bytes"
else
  echo "== DuckDB (@duckdb/node-api) not installed or its native binary does not load: SKIPPED" >&2
fi

# ---- the table ----------------------------------------------------------------
echo
echo "| system | rows | seconds | rows/s | bytes on disk | bytes/row | peak RSS (MiB) | how |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
for i in "${!R_SYS[@]}"; do
  awk -v s="${R_SYS[$i]}" -v n="$ROWS" -v t="${R_SEC[$i]}" -v b="${R_BYTES[$i]}" -v r="${R_RSS[$i]}" -v h="${R_NOTE[$i]}" \
    'BEGIN{ printf "| %s | %d | %.2f | %s | %s | %s | %s | %s |\n", s, n, t, (b==""?"n/a":sprintf("%.0f", n/t)), (b==""?"n/a":b), (b==""?"n/a":sprintf("%.1f", b/n)), (r==""?"n/a":sprintf("%.0f", r/1024)), h }'
done
echo "| (CSV input) | $ROWS | | | $CSV_BYTES | $(awk -v b="$CSV_BYTES" -v n="$ROWS" 'BEGIN{printf "%.1f", b/n}') | | |"
echo
echo "Ratios fstore/peer (speed: peer seconds / fstore seconds, >1 = fstore faster; size: fstore bytes / peer bytes, <1 = fstore smaller):"
echo
echo "| peer | ingest speed fstore/peer | bytes fstore/peer |"
echo "|---|---:|---:|"
[ $F_OK -eq 1 ] || echo "| (none: fstore ingest failed) | n/a | n/a |"
for i in "${!R_SYS[@]}"; do
  [ "$i" -eq 0 ] && continue
  [ $F_OK -eq 1 ] || continue
  awk -v s="${R_SYS[$i]}" -v ft="${R_SEC[0]}" -v pt="${R_SEC[$i]}" -v fb="${R_BYTES[0]}" -v pb="${R_BYTES[$i]}" \
    'BEGIN{ printf "| %s | %.2fx | %.2f |\n", s, pt/ft, fb/pb }'
done
