#!/usr/bin/env bash
# Training-set benchmark: fstore training-set vs DuckDB ASOF JOIN vs pandas merge_asof
# vs PostgreSQL LEFT JOIN LATERAL, on the same data in one run; every output is
# checked value for value against fstore's (the run fails unless 0 cells differ).
#
#   bench/training/setup.sh             # once: /usr/bin/time, PostgreSQL 15, pandas, DuckDB
#   bench/training/run.sh               # 3 sources x 100 entities x 100,000 rows, 1M labels
#   BENCH_ROWS=10000 BENCH_LABELS=100000 bench/training/run.sh    # a smaller run
#
# Environment:
#   BENCH_ENTITIES    entities (default 100)
#   BENCH_ROWS        rows per entity and source (default 100000: 10M rows a source)
#   BENCH_LABELS      label rows (default 1000000)
#   BENCH_SEED        generator seed (default 42)
#   BENCH_PG_SAMPLE   PostgreSQL first runs this many labels (default 50000); if that
#                     extrapolates to more than BENCH_PG_MAX_S seconds (default 600) for
#                     all labels, the sample's figure is reported, extrapolated and
#                     labelled as such; otherwise all labels are run
#   BENCH_WORK        scratch directory (default: a new mktemp dir under /tmp, removed at
#                     the end unless BENCH_KEEP=1)
#   BENCH_PG_PORT     private PostgreSQL port (default 54330; unix socket only)
#   FSTORE            the fstore binary (default build/release/bin/fstore)
#
# What is timed (wall clock, date +%s.%N, around one command; loads are reported
# but are not the join):
#   fstore      `fstore training-set --labels labels.csv --features ... --out out.csv`:
#               the whole command (process start, opening the store, reading the label
#               CSV, the joins, writing + fsync of the CSV, recording the run);
#               default --jobs (one per core), then --jobs 1, then 1 label (the fixed cost)
#   DuckDB      node duckdb_join.js: process start, opening the database file (loaded
#               before by duckdb_load.js), the three ASOF LEFT JOINs, ORDER BY lid, COPY
#               to CSV
#   pandas      in-process (pandas_join.py): sort + 3 merge_asof + label order + to_csv;
#               the data was read into memory before (not timed)
#   PostgreSQL  psql -f pg_join.sql: connect, the LATERAL query, ORDER BY lid, COPY to CSV
# Peak RSS: /usr/bin/time -v of the fstore, node and python processes (pandas' includes
# the data it holds in memory); PostgreSQL: VmHWM of the backend (counts the shared
# buffers it touched).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BENCH="$ROOT/bench"
ENTITIES="${BENCH_ENTITIES:-100}"
ROWS="${BENCH_ROWS:-100000}"
LABELS="${BENCH_LABELS:-1000000}"
SEED="${BENCH_SEED:-42}"
PG_SAMPLE="${BENCH_PG_SAMPLE:-50000}"
PG_MAX_S="${BENCH_PG_MAX_S:-600}"
PG_PORT="${BENCH_PG_PORT:-54330}"
FSTORE="${FSTORE:-$ROOT/build/release/bin/fstore}"
PGBIN=/usr/lib/postgresql/15/bin
PY=/usr/bin/python3
SRC_ROWS=$((ENTITIES * ROWS))
FEATURES="slow:v1,hourly:v2,fast:v3"

die() { echo "run.sh: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}'; }
rss_kb() { awk -F': *' '/Maximum resident set size/{print $2}' "$1"; }
mib() { awk -v k="$1" 'BEGIN{ if (k == "") print "n/a"; else printf "%.0f", k/1024 }'; }
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" "$2"; }   # key=value from a one-line report

[ -x "$FSTORE" ] || die "fstore binary not found at $FSTORE (run make)"
[ -x /usr/bin/time ] || die "/usr/bin/time missing (run bench/training/setup.sh)"
"$PY" -c 'import pandas' 2>/dev/null || die "$PY has no pandas (run bench/training/setup.sh)"

if [ -n "${BENCH_WORK:-}" ]; then WORK="$BENCH_WORK"; mkdir -p "$WORK"; else WORK="$(mktemp -d /tmp/fstore-bench-training.XXXXXX)"; fi
chmod 755 "$WORK"
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

cp "$FSTORE" "$WORK/fstore-bin"; FSTORE_SRC="$FSTORE"; FSTORE="$WORK/fstore-bin"
echo "== fstore training-set benchmark: 3 sources x $ENTITIES entities x $ROWS rows ($SRC_ROWS rows a source), $LABELS labels; work dir $WORK"
echo "== command: $0 (BENCH_ENTITIES=$ENTITIES BENCH_ROWS=$ROWS BENCH_LABELS=$LABELS BENCH_SEED=$SEED BENCH_PG_SAMPLE=$PG_SAMPLE)"
echo "== fstore binary: $FSTORE_SRC, $("$FSTORE" version), sha256 $(sha256sum "$FSTORE" | cut -c1-12), built $(date -u -r "$FSTORE_SRC" +%Y-%m-%dT%H:%M:%SZ); tree: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null)$(cd "$ROOT" && [ -n "$(git status --porcelain --untracked-files=no -- src include Makefile 2>/dev/null)" ] && echo ' + uncommitted changes in src/')"
echo "== machine: $(nproc) cores, $(free -h | awk '/^Mem:/{print $2}') RAM; load average: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%M:%SZ)"

# ---- the data ----------------------------------------------------------------------
DATA="$WORK/data"
t=$(now)
"$PY" "$HERE/gen.py" --entities "$ENTITIES" --rows "$ROWS" --labels "$LABELS" --seed "$SEED" "$DATA"
chmod 755 "$DATA"; chmod 644 "$DATA"/*.csv
for f in f1 f2 f3; do
  n=$(($(wc -l < "$DATA/$f.csv") - 1)); [ "$n" -eq "$SRC_ROWS" ] || die "$f.csv has $n rows, expected $SRC_ROWS"
done
n=$(($(wc -l < "$DATA/labels.csv") - 1)); [ "$n" -eq "$LABELS" ] || die "labels.csv has $n rows"
echo "== data generated in $(since "$t") s: $(du -sh "$DATA" | cut -f1) of CSV ($(stat -c %s "$DATA/f1.csv") bytes f1.csv, $(stat -c %s "$DATA/labels.csv") labels.csv)"
head -2 "$DATA/labels.csv" > "$WORK/one_label.csv"   # for fstore's fixed cost
cat "$DATA"/*.csv > /dev/null   # warm the page cache for everyone alike

declare -a R_SYS R_SEC R_RSS R_NOTE
OUTS=()

# ---- (a) fstore ----------------------------------------------------------------------
FDIR="$WORK/fstore"
"$FSTORE" --dir "$FDIR" init >/dev/null
"$FSTORE" --dir "$FDIR" apply "$HERE/features.yaml" >/dev/null
ING_NOTE=""
for f in f1 f2 f3; do
  sync
  t=$(now)
  /usr/bin/time -v -o "$WORK/fstore_ingest_$f.time" "$FSTORE" --dir "$FDIR" ingest "$f" "$DATA/$f.csv" > "$WORK/fstore_ingest_$f.out"
  sec=$(since "$t")
  echo "== fstore ingest $f: $(cat "$WORK/fstore_ingest_$f.out"); $sec s, peak RSS $(mib "$(rss_kb "$WORK/fstore_ingest_$f.time")") MiB"
  ING_NOTE+="$f $sec s / $(mib "$(rss_kb "$WORK/fstore_ingest_$f.time")") MiB; "
done
f_rows=$("$FSTORE" --dir "$FDIR" --json log | awk -F': *' '/"rows"/{gsub(/[ ,]/,"",$2); s+=$2} END{print s+0}')
[ "$f_rows" -eq $((3 * SRC_ROWS)) ] || die "fstore holds $f_rows rows (log), expected $((3 * SRC_ROWS))"
echo "== fstore data directory: $(du -sb "$FDIR" | cut -f1) bytes"

ts_run() { # NAME OUT LABELS [extra args]
  local name="$1" out="$2" lab="$3"; shift 3
  sync
  local t0; t0=$(now)
  /usr/bin/time -v -o "$WORK/$name.time" "$FSTORE" --dir "$FDIR" training-set --labels "$lab" \
    --features "$FEATURES" --out "$out" "$@" > "$WORK/$name.out"
  TS_SEC=$(since "$t0")
  TS_RSS=$(rss_kb "$WORK/$name.time")
  echo "== $name: $(cat "$WORK/$name.out"); $TS_SEC s, peak RSS $(mib "$TS_RSS") MiB, $(awk -F': *' '/Percent of CPU/{print $2}' "$WORK/$name.time") CPU"
}
ts_run fstore_one_label "$WORK/fstore_one.csv" "$WORK/one_label.csv"
ONE_SEC=$TS_SEC; ONE_RSS=$TS_RSS
ts_run fstore_jobs_default "$WORK/fstore.csv" "$DATA/labels.csv"
F_SEC=$TS_SEC; F_RSS=$TS_RSS
ts_run fstore_jobs_1 "$WORK/fstore_j1.csv" "$DATA/labels.csv" --jobs 1
F1_SEC=$TS_SEC; F1_RSS=$TS_RSS
cmp -s "$WORK/fstore.csv" "$WORK/fstore_j1.csv" || die "fstore --jobs 1 wrote a different file than the default"
R_SYS+=("fstore training-set (--jobs $(nproc), default)"); R_SEC+=("$F_SEC"); R_RSS+=("$F_RSS")
R_NOTE+=("whole command: open store, read labels CSV, 3 joins, write + fsync CSV, record run")
R_SYS+=("fstore training-set --jobs 1"); R_SEC+=("$F1_SEC"); R_RSS+=("$F1_RSS"); R_NOTE+=("same, one thread; byte-identical output")
R_SYS+=("(fstore training-set, 1 label)"); R_SEC+=("$ONE_SEC"); R_RSS+=("$ONE_RSS")
R_NOTE+=("the fixed cost: opening the store and the index of each of its chunk files, recording the run")
# The sources' compression policy (compress_after: 1d in features.yaml), as a
# TimescaleDB compression policy would run after a load: the streamed ingest of an
# entity-ordered CSV leaves one file per part and day (~1,400 a table); `fstore
# compact` merges each day's files into one. Timed and reported as a load step.
NFILES_BEFORE=$(find "$FDIR/chunks" -name '*.chunk' | wc -l)
sync
t=$(now)
/usr/bin/time -v -o "$WORK/fstore_compact.time" "$FSTORE" --dir "$FDIR" compact > "$WORK/fstore_compact.out"
COMPACT_SEC=$(since "$t")
NFILES_AFTER=$(find "$FDIR/chunks" -name '*.chunk' | wc -l)
echo "== fstore compact (compress_after, a load step, not the join): $COMPACT_SEC s, peak RSS $(mib "$(rss_kb "$WORK/fstore_compact.time")") MiB; chunk files $NFILES_BEFORE -> $NFILES_AFTER"
ts_run fstore_compacted_one_label "$WORK/fstore_c_one.csv" "$WORK/one_label.csv"
C_ONE_SEC=$TS_SEC; C_ONE_RSS=$TS_RSS
ts_run fstore_compacted "$WORK/fstore_c.csv" "$DATA/labels.csv"
C_SEC=$TS_SEC; C_RSS=$TS_RSS
cmp -s "$WORK/fstore.csv" "$WORK/fstore_c.csv" || die "fstore wrote a different file after compact"
R_SYS+=("fstore training-set after \`fstore compact\` (--jobs $(nproc))"); R_SEC+=("$C_SEC"); R_RSS+=("$C_RSS")
R_NOTE+=("the same command once the compression policy merged each day's files ($NFILES_BEFORE -> $NFILES_AFTER files; compact took $COMPACT_SEC s); byte-identical output")
R_SYS+=("(fstore training-set after compact, 1 label)"); R_SEC+=("$C_ONE_SEC"); R_RSS+=("$C_ONE_RSS")
R_NOTE+=("the fixed cost on the compacted store")
N_FSTORE=${#R_SYS[@]}

# ---- (b) DuckDB --------------------------------------------------------------------------
if (cd "$BENCH" && node -e 'require("@duckdb/node-api")' 2>/dev/null); then
  DDB="$WORK/duck.duckdb"
  t=$(now)
  (cd "$BENCH" && node "$HERE/duckdb_load.js" "$DDB" "$DATA") > "$WORK/duck_load.out"
  echo "== DuckDB load (not timed as the join): $(cat "$WORK/duck_load.out"); $(since "$t") s wall; file $(stat -c %s "$DDB") bytes"
  [ "$(kv rows_f1 "$WORK/duck_load.out")" -eq "$SRC_ROWS" ] || die "DuckDB f1 row count"
  [ "$(kv labels "$WORK/duck_load.out")" -eq "$LABELS" ] || die "DuckDB label count"
  sync
  t=$(now)
  (cd "$BENCH" && /usr/bin/time -v -o "$WORK/duck_join.time" node "$HERE/duckdb_join.js" "$DDB" "$WORK/duckdb.csv") > "$WORK/duck_join.out"
  D_SEC=$(since "$t")
  echo "== DuckDB join: $(cat "$WORK/duck_join.out"); $D_SEC s wall, peak RSS $(mib "$(rss_kb "$WORK/duck_join.time")") MiB, $(awk -F': *' '/Percent of CPU/{print $2}' "$WORK/duck_join.time") CPU"
  DVER=$(cd "$BENCH" && node -p 'require("@duckdb/node-api/package.json").version')
  R_SYS+=("duckdb $(kv version "$WORK/duck_join.out") (node-api $DVER)"); R_SEC+=("$D_SEC"); R_RSS+=("$(rss_kb "$WORK/duck_join.time")")
  R_NOTE+=("3 ASOF LEFT JOIN + CASE for TTL, ORDER BY lid, COPY TO csv; $(kv threads "$WORK/duck_join.out") threads; incl. node start + open ($(kv open_s "$WORK/duck_join.out") s); in-process $(kv join_s "$WORK/duck_join.out") s")
  OUTS+=("duckdb=$WORK/duckdb.csv")
else
  echo "== DuckDB (@duckdb/node-api) not installed or its native binary does not load: SKIPPED" >&2
fi

# ---- (c) pandas ----------------------------------------------------------------------------
t=$(now)
/usr/bin/time -v -o "$WORK/pandas.time" "$PY" "$HERE/pandas_join.py" "$DATA" "$WORK/pandas.csv" category > "$WORK/pandas.out"
echo "== pandas: $(cat "$WORK/pandas.out"); process $(since "$t") s wall, peak RSS $(mib "$(rss_kb "$WORK/pandas.time")") MiB"
P_SEC=$(kv join_s "$WORK/pandas.out")
PVER=$(kv pandas "$WORK/pandas.out")
R_SYS+=("pandas $PVER merge_asof"); R_SEC+=("$P_SEC"); R_RSS+=("$(rss_kb "$WORK/pandas.time")")
R_NOTE+=("in-process: sort $(kv sort_s "$WORK/pandas.out") + 3 merge_asof and label order $(kv merge_s "$WORK/pandas.out") + to_csv $(kv write_s "$WORK/pandas.out") s; symbol categorical; one thread; data in memory before (load $(kv load_s "$WORK/pandas.out") s, RSS after load $(mib "$(kv rss_after_load_kb "$WORK/pandas.out")") MiB)")
OUTS+=("pandas=$WORK/pandas.csv")

# ---- (d) PostgreSQL 15 ------------------------------------------------------------------------
if [ -x "$PGBIN/initdb" ]; then
  [ "$(id -u)" -eq 0 ] && chown postgres "$WORK"
  mkdir -p "$PGSOCK" "$PGDATA"
  [ ${#AS_PG[@]} -gt 0 ] && chown postgres "$PGSOCK" "$PGDATA"
  "${AS_PG[@]}" "$PGBIN/initdb" -D "$PGDATA" -A trust -U bench --no-sync >/dev/null
  "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$WORK/pg.log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories='$PGSOCK' -p $PG_PORT" start >/dev/null
  PG_STARTED=1
  PSQL=("${AS_PG[@]}" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$PG_PORT" -U bench -d postgres)
  PGVER=$("${PSQL[@]}" -Atc 'show server_version' | cut -d' ' -f1)
  t=$(now)
  "${PSQL[@]}" -v dir="$DATA" -f "$HERE/pg_load.sql"
  echo "== PostgreSQL load (not timed as the join): $(since "$t") s (COPY + INSERT..SELECT to_timestamp + 3 indexes + VACUUM ANALYZE); $("${PSQL[@]}" -Atc "SELECT pg_size_pretty(sum(pg_total_relation_size(c))) FROM unnest(ARRAY['f1','f2','f3']::regclass[]) c")"
  n=$("${PSQL[@]}" -Atc "SELECT count(*) FROM f1"); [ "$n" -eq "$SRC_ROWS" ] || die "PostgreSQL f1 holds $n rows"
  "${PSQL[@]}" -c CHECKPOINT
  pg_join() { # N OUT RSSFILE
    sync
    local t0; t0=$(now)
    "${PSQL[@]}" -v out="$2" -v nlabels="$1" -v rss="$3" -f "$HERE/pg_join.sql"
    PG_SEC=$(since "$t0")
  }
  PG_NOTE="LEFT JOIN LATERAL (.. ORDER BY ts DESC LIMIT 1) x3 on index (symbol, ts), ORDER BY lid, COPY TO csv; peak RSS = backend VmHWM"
  PG_FULL=1
  if [ "$PG_SAMPLE" -gt 0 ] && [ "$PG_SAMPLE" -lt "$LABELS" ]; then
    pg_join "$PG_SAMPLE" "$WORK/postgresql_sample.csv" "$WORK/pg_sample.rss"
    EST=$(awk -v s="$PG_SEC" -v k="$PG_SAMPLE" -v n="$LABELS" 'BEGIN{printf "%.1f", s*n/k}')
    echo "== PostgreSQL sample: the first $PG_SAMPLE labels in $PG_SEC s; all $LABELS would take about $EST s"
    if awk -v e="$EST" -v m="$PG_MAX_S" 'BEGIN{exit !(e > m)}'; then
      PG_FULL=0
      R_SYS+=("postgresql $PGVER **sample of $PG_SAMPLE labels, extrapolated**"); R_SEC+=("$EST")
      R_RSS+=("$(awk '{print $2}' "$WORK/pg_sample.rss")")
      R_NOTE+=("EXTRAPOLATED from $PG_SEC s for the first $PG_SAMPLE labels x $LABELS/$PG_SAMPLE; $PG_NOTE")
      OUTS+=("postgresql=$WORK/postgresql_sample.csv")
    fi
  fi
  if [ $PG_FULL -eq 1 ]; then
    pg_join "$LABELS" "$WORK/postgresql.csv" "$WORK/pg.rss"
    echo "== PostgreSQL: all $LABELS labels in $PG_SEC s, backend VmHWM $(awk '{print $2}' "$WORK/pg.rss") kB"
    R_SYS+=("postgresql $PGVER"); R_SEC+=("$PG_SEC"); R_RSS+=("$(awk '{print $2}' "$WORK/pg.rss")")
    R_NOTE+=("all labels (run after a ${PG_SAMPLE}-label sample); $PG_NOTE")
    OUTS+=("postgresql=$WORK/postgresql.csv")
  fi
  "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  PG_STARTED=0
else
  echo "== PostgreSQL 15 not installed: SKIPPED (run bench/training/setup.sh)" >&2
fi

# ---- agreement ------------------------------------------------------------------------------
echo
echo "== agreement (every output against fstore's, value for value):"
AGREE=0
"$PY" "$HERE/check_agreement.py" "$DATA/labels.csv" "$WORK/fstore.csv" "${OUTS[@]}" | tee "$WORK/agreement.out" || AGREE=1
echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the table ----------------------------------------------------------------------------------
echo
echo "| system | seconds | peer s / fstore s | peer s / fstore s after compact | peak RSS (MiB) | what is timed |"
echo "|---|---:|---:|---:|---:|---|"
for i in "${!R_SYS[@]}"; do
  awk -v s="${R_SYS[$i]}" -v t="${R_SEC[$i]}" -v f="$F_SEC" -v c="$C_SEC" -v r="${R_RSS[$i]}" -v h="${R_NOTE[$i]}" -v i="$i" -v nf="$N_FSTORE" \
    'BEGIN{ printf "| %s | %.2f | %s | %s | %s | %s |\n", s, t, (i < nf ? "" : sprintf("%.2fx", t/f)), (i < nf ? "" : sprintf("%.2fx", t/c)), (r==""?"n/a":sprintf("%.0f", r/1024)), h }'
done
echo
echo "fstore loads (not in the table): ingest ${ING_NOTE% }"
echo "fstore with the fixed cost taken out (training-set time minus the 1-label run): $(awk -v a="$F_SEC" -v b="$ONE_SEC" 'BEGIN{printf "%.2f", a-b}') s (--jobs default), $(awk -v a="$F1_SEC" -v b="$ONE_SEC" 'BEGIN{printf "%.2f", a-b}') s (--jobs 1)"
[ $AGREE -eq 0 ] || die "the outputs disagree (see above)"
echo "agreement: all outputs equal value for value"
