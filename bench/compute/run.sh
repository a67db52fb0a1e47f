#!/usr/bin/env bash
# Compute benchmark: the `technical` view of examples/features.yaml (the default
# indicator set: 21 indicator features and 2 expressions) over generated 1-minute
# candles, fstore against pandas and TA-Lib, on the same data in one run, from the
# stored candles to the stored features. Prints a table of times and ratios and
# checks that the three agree.
#
#   bench/compute/setup.sh                        # once: install the peers
#   make bench && bench/compute/run.sh            # 100 symbols x 100,000 bars = 10M candles
#   SYMBOLS=10 BARS=100000 bench/compute/run.sh   # 1M candles, a quick run
#
# Environment:
#   SYMBOLS        symbols (default 100; BENCH_SYMBOLS also works)
#   BARS           1-minute bars per symbol (default 100000; BENCH_ROWS_PER_SYMBOL also works)
#   SEED           generator seed (default 42)
#   JOBS           fstore --jobs values to run, space-separated (default "1 2")
#   LIVE_UPDATES   updates per repetition of bench_live (default 1000000; 0 skips it)
#   WORK           scratch directory (default: a new mktemp dir under /tmp, removed
#                  at the end unless KEEP=1)
#   FSTORE         the fstore binary (default build/release/bin/fstore)
#
# The data: bench/ingest/gen_candles.py (seeded random walks, prices with 2
# decimals), with its first symbol renamed BTCUSDT so that market_correlation
# (30-bar correlation with BTCUSDT, same timeframe) has its reference.
#
# What each system does, timed as wall clock around its command (process start-up
# included), all reading files the page cache holds (each was just written):
#   fstore   `fstore compute technical --jobs N` on a data directory holding the
#            ingested candles (`init`, `apply examples/features.yaml`, `ingest`, timed
#            and reported apart): opens the store, reads every candle series,
#            computes, commits the 10M feature rows (fsync'd) and saves the states.
#            Each --jobs value runs on its own copy of the ingested directory.
#   pandas   pandas_compute.py: read_pickle of the candles (written beforehand by
#            prep_candles.py, so the CSV parser is not in it), groupby symbol +
#            rolling/ewm per group, to_pickle of the features (fsync'd). One thread.
#   TA-Lib   talib_compute.js: node + talib-web (TA-Lib's C code as WebAssembly),
#            raw float64 columns in (written beforehand), TA-Lib's functions per
#            symbol, raw float64 columns out (fsync'd). One thread.
# Then check_agreement.py compares fstore's stored values of a few symbols with
# TA-Lib's and pandas' (tolerances and definitions in that file and in
# pandas_compute.py), and bench_live times the live path in process.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BENCH="$ROOT/bench"
SYMBOLS="${SYMBOLS:-${BENCH_SYMBOLS:-100}}"
BARS="${BARS:-${BENCH_ROWS_PER_SYMBOL:-100000}}"
SEED="${SEED:-42}"
JOBS="${JOBS:-1 2}"
LIVE_UPDATES="${LIVE_UPDATES:-1000000}"
FSTORE="${FSTORE:-$ROOT/build/release/bin/fstore}"
LIVE_BIN="$ROOT/build/release/bench/bench_live"
PY=/usr/bin/python3   # Debian's python3-pandas lives here (not in a pyenv/venv python)
REF=BTCUSDT
ROWS=$((SYMBOLS * BARS))

die() { echo "run.sh: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}'; }
rss_mib() { awk -F': *' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$1"; }

[ -x "$FSTORE" ] || die "fstore binary not found at $FSTORE (run make)"
[ "$SYMBOLS" -ge 1 ] && [ "$BARS" -ge 100 ] || die "need SYMBOLS >= 1 and BARS >= 100"

if [ -n "${WORK:-}" ]; then mkdir -p "$WORK"; KEEP=1; else WORK="$(mktemp -d /tmp/fstore-bench-compute.XXXXXX)"; fi
cleanup() { if [ "${KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

# private copies of the binaries, so a rebuild during the run cannot change them
cp "$FSTORE" "$WORK/fstore-bin"; FSTORE_SRC="$FSTORE"; FSTORE="$WORK/fstore-bin"
if [ -x "$LIVE_BIN" ]; then cp "$LIVE_BIN" "$WORK/bench_live"; LIVE_BIN="$WORK/bench_live"; fi
echo "== fstore compute benchmark: view technical of examples/features.yaml; $SYMBOLS symbols x $BARS bars = $ROWS candles; work dir $WORK"
echo "== fstore binary: $FSTORE_SRC, $("$FSTORE" version), sha256 $(sha256sum "$FSTORE" | cut -c1-12), built $(date -u -r "$FSTORE_SRC" +%Y-%m-%dT%H:%M:%SZ); tree: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null)$(cd "$ROOT" && [ -n "$(git status --porcelain --untracked-files=no -- src include Makefile 2>/dev/null)" ] && echo ' + uncommitted changes in src/include')"
echo "== machine: $(nproc) cores ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(free -h | awk '/^Mem:/{print $2}') RAM; load average: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%M:%SZ)"

# ---- the data ------------------------------------------------------------------
CSV="$WORK/candles.csv"
t=$(now)
python3 "$BENCH/ingest/gen_candles.py" --symbols "$SYMBOLS" --bars "$BARS" --seed "$SEED" - \
  | sed 's/^SYM0000USDT,/BTCUSDT,/' > "$CSV"
echo "== data: $CSV, $(stat -c %s "$CSV") bytes, generated in $(since "$t") s (first symbol renamed $REF)"

HAVE_PD=0; HAVE_TA=0
"$PY" -c 'import pandas' 2>/dev/null && HAVE_PD=1 || echo "== pandas not installed for $PY: SKIPPED (run bench/compute/setup.sh)" >&2
(cd "$BENCH" && node -e 'require("talib-web")' 2>/dev/null) && HAVE_TA=1 || echo "== talib-web not installed: SKIPPED (run bench/compute/setup.sh)" >&2
if [ $HAVE_PD -eq 1 ]; then
  # the peers' stored candles (untimed): a pickle for pandas, raw columns for node
  "$PY" "$HERE/prep_candles.py" "$CSV" "$WORK/candles" | sed 's/^/== /'
fi

# ---- (a) fstore ------------------------------------------------------------------
BASE="$WORK/fstore-base"
"$FSTORE" --dir "$BASE" init >/dev/null
"$FSTORE" --dir "$BASE" apply "$ROOT/examples/features.yaml" >/dev/null
t=$(now)
/usr/bin/time -v -o "$WORK/ingest.time" "$FSTORE" --dir "$BASE" ingest candles "$CSV" > "$WORK/ingest.out"
INGEST_SEC=$(since "$t")
echo "== fstore ingest (not compute; reported apart): $(tail -1 "$WORK/ingest.out"), $INGEST_SEC s, peak RSS $(rss_mib "$WORK/ingest.time") MiB, $(du -sb "$BASE" | cut -f1) bytes on disk"
rm -f "$CSV"   # not needed any more: keep the page cache for the runs

R_SYS=(); R_SEC=(); R_NOTE=(); R_RSS=()
FS_SEC_BEST=""; FS_DIRS=()
for j in $JOBS; do
  D="$WORK/fstore-j$j"
  rm -rf "$D"; cp -a "$BASE" "$D"; sync
  t=$(now)
  /usr/bin/time -v -o "$WORK/fs-j$j.time" "$FSTORE" --dir "$D" compute technical --jobs "$j" > "$WORK/fs-j$j.out"
  sec=$(since "$t")
  out="$(cat "$WORK/fs-j$j.out")"
  rows=$(sed -n 's/^Job [0-9]*: \([0-9]*\) rows.*/\1/p' <<<"$out")
  jsec=$(sed -n 's/.*(\([0-9.]*\) s)$/\1/p' <<<"$out")
  [ "$rows" = "$ROWS" ] || die "fstore compute --jobs $j wrote '$rows' rows, expected $ROWS: $out"
  echo "== fstore compute --jobs $j: $out; wall $sec s"
  R_SYS+=("fstore compute --jobs $j"); R_SEC+=("$sec"); R_RSS+=("$(rss_mib "$WORK/fs-j$j.time")")
  R_NOTE+=("open store $(awk -v a="$sec" -v b="$jsec" 'BEGIN{printf "%.2f", a-b}') s + job $jsec s (read candles, compute, commit features, save states)")
  FS_DIRS+=("$D")
  if [ -z "$FS_SEC_BEST" ] || awk -v a="$sec" -v b="$FS_SEC_BEST" 'BEGIN{exit !(a<b)}'; then FS_SEC_BEST=$sec; fi
done

# incremental: one new candle per symbol, then compute again (the CLI's live path)
LASTD="${FS_DIRS[${#FS_DIRS[@]}-1]}"
NEXT_TS=$((1704067200 + 60 * BARS))   # the bar after the last one (gen_candles.py's default start)
{
  echo "symbol,tf,ts,o,h,l,c,v"
  for s in $(seq 0 $((SYMBOLS - 1))); do printf 'SYM%04dUSDT,1m,%d,100.00,101.00,99.00,100.50,1000.00\n' "$s" "$NEXT_TS"; done \
    | sed 's/^SYM0000USDT,/BTCUSDT,/'
} > "$WORK/next.csv"
"$FSTORE" --dir "$LASTD" ingest candles "$WORK/next.csv" >/dev/null
t=$(now)
inc_out="$("$FSTORE" --dir "$LASTD" compute technical)"
INC_SEC=$(since "$t")
inc_rows=$(sed -n 's/^Job [0-9]*: \([0-9]*\) rows.*/\1/p' <<<"$inc_out")
[ "$inc_rows" = "$SYMBOLS" ] || die "incremental compute wrote '$inc_rows' rows, expected $SYMBOLS: $inc_out"
echo "== fstore incremental compute after one new candle per symbol: $inc_out; wall $INC_SEC s"

# ---- (b) pandas ---------------------------------------------------------------------
PD_SEC=""
if [ $HAVE_PD -eq 1 ]; then
  sync
  t=$(now)
  /usr/bin/time -v -o "$WORK/pd.time" "$PY" "$HERE/pandas_compute.py" "$WORK/candles.pkl" "$WORK/pandas_features.pkl" "$REF" > "$WORK/pd.out"
  PD_SEC=$(since "$t")
  cat "$WORK/pd.out" | sed 's/^/== /'
  pd_rows=$(sed -n 's/.*rows=\([0-9]*\).*/\1/p' "$WORK/pd.out")
  [ "$pd_rows" = "$ROWS" ] || die "pandas wrote $pd_rows rows, expected $ROWS"
  pd_ver=$(sed -n 's/.* pandas=\([^ ]*\).*/\1/p' "$WORK/pd.out")
  R_SYS+=("pandas $pd_ver"); R_SEC+=("$PD_SEC"); R_RSS+=("$(rss_mib "$WORK/pd.time")")
  R_NOTE+=("$(awk '{for(i=1;i<=NF;i++){split($i,a,"="); if(a[1]=="read"||a[1]=="compute"||a[1]=="write") printf "%s %s s, ", a[1], a[2]}}' "$WORK/pd.out")python start + import the rest; read_pickle, groupby + rolling/ewm, to_pickle")
fi

# ---- (c) TA-Lib (talib-web) -------------------------------------------------------------
TA_SEC=""
if [ $HAVE_TA -eq 1 ] && [ $HAVE_PD -eq 1 ]; then
  sync
  t=$(now)
  (cd "$BENCH" && /usr/bin/time -v -o "$WORK/ta.time" node "$HERE/talib_compute.js" "$WORK/candles" "$WORK/talib_features.f64" "$REF") > "$WORK/ta.out"
  TA_SEC=$(since "$t")
  cat "$WORK/ta.out" | sed 's/^/== /'
  ta_ver=$(cd "$BENCH" && node -p 'require("talib-web/package.json").version')
  R_SYS+=("TA-Lib (talib-web $ta_ver, wasm)"); R_SEC+=("$TA_SEC"); R_RSS+=("$(rss_mib "$WORK/ta.time")")
  R_NOTE+=("$(awk '{for(i=1;i<=NF;i++){split($i,a,"="); if(a[1]=="init"||a[1]=="read"||a[1]=="compute"||a[1]=="write") printf "%s %s s, ", a[1], a[2]}}' "$WORK/ta.out")node start the rest; raw float64 in/out")
fi

# ---- agreement ------------------------------------------------------------------------
CHECK_SYMS="$REF"
[ "$SYMBOLS" -gt 1 ] && CHECK_SYMS="$CHECK_SYMS $(printf 'SYM%04dUSDT' $((SYMBOLS / 2)))"
[ "$SYMBOLS" -gt 2 ] && CHECK_SYMS="$CHECK_SYMS $(printf 'SYM%04dUSDT' $((SYMBOLS - 1)))"
CHECK_RC=0
mkdir -p "$WORK/fsjson"
# (each `fstore history` opens the store, which replays the computed rows' WAL:
#  the --jobs runs are compared on the first check symbol only)
for s in $CHECK_SYMS; do
  "$FSTORE" --dir "${FS_DIRS[0]}" --json history technical "$s:1m" --to "$((NEXT_TS + 60))" > "$WORK/fsjson/$s.json"
done
s=${CHECK_SYMS%% *}
for d in "${FS_DIRS[@]:1}"; do
  "$FSTORE" --dir "$d" --json history technical "$s:1m" --to "$((NEXT_TS + 60))" > "$WORK/fsjson/$s.$(basename "$d").json"
  if ! "$PY" -c 'import json, sys
# the same values; seq differs (with --jobs 2 each worker commits its entities apart)
a, b = (json.load(open(f)) for f in sys.argv[1:3])
strip = lambda d: [r[:1] + r[2:] for r in d["rows"]]
sys.exit(0 if a["columns"] == b["columns"] and len(a["rows"]) > 0 and strip(a) == strip(b) else 1)' "$WORK/fsjson/$s.json" "$WORK/fsjson/$s.$(basename "$d").json"; then
    echo "== check: fstore's stored values of $s differ between ${FS_DIRS[0]} and $d"; CHECK_RC=1
  fi
done
[ ${#FS_DIRS[@]} -gt 1 ] && [ $CHECK_RC -eq 0 ] && echo "== check: the --jobs runs (${JOBS}) stored the same values (seq aside) for ${CHECK_SYMS%% *}"
if [ $HAVE_TA -eq 1 ] && [ $HAVE_PD -eq 1 ]; then
  echo
  "$PY" "$HERE/check_agreement.py" "$WORK/candles" "$WORK/talib_features.f64" "$WORK/pandas_features.pkl" "$WORK/fsjson" $CHECK_SYMS || CHECK_RC=1
fi

# ---- live update, in process ----------------------------------------------------------
LIVE=""
if [ "$LIVE_UPDATES" -gt 0 ]; then
  if [ -x "$LIVE_BIN" ]; then
    echo
    echo "== build/release/bench/bench_live $LIVE_UPDATES 7 5000 (sha256 $(sha256sum "$LIVE_BIN" | cut -c1-12))"
    (cd "$ROOT" && "$LIVE_BIN" "$LIVE_UPDATES" 7 5000) | tee "$WORK/live.out" | grep -E '^(view|after|per-call|check|RESULT)'
    LIVE=$(sed -n 's/.*live_ns_per_update_median=\([0-9.]*\).*/\1/p' "$WORK/live.out")
    LIVE_BATCH=$(sed -n 's/.*batch_rows_per_s_median=\([0-9]*\).*/\1/p' "$WORK/live.out")
  else
    echo "== $LIVE_BIN not built (make bench): live update not measured" >&2
  fi
fi

# ---- the table ----------------------------------------------------------------------------
echo
echo "| system | candles | seconds (wall) | candles/s | peak RSS (MiB) | how |"
echo "|---|---:|---:|---:|---:|---|"
for i in "${!R_SYS[@]}"; do
  awk -v s="${R_SYS[$i]}" -v n="$ROWS" -v t="${R_SEC[$i]}" -v r="${R_RSS[$i]}" -v h="${R_NOTE[$i]}" \
    'BEGIN{ printf "| %s | %d | %.2f | %.0f | %s | %s |\n", s, n, t, n/t, r, h }'
done
echo "| (fstore ingest, not compute) | $ROWS | $INGEST_SEC | $(awk -v n="$ROWS" -v t="$INGEST_SEC" 'BEGIN{printf "%.0f", n/t}') | $(rss_mib "$WORK/ingest.time") | CSV into the store, reported apart |"
echo "| (fstore incremental compute, 1 new candle x $SYMBOLS symbols) | $SYMBOLS | $INC_SEC | | | the CLI's live path: open, read each series, resume states, commit |"
echo
echo "Ratios (peer seconds / fstore seconds, > 1 = fstore faster), end to end:"
echo
echo "| fstore | vs pandas | vs TA-Lib |"
echo "|---|---:|---:|"
for i in "${!R_SYS[@]}"; do
  case "${R_SYS[$i]}" in fstore*) ;; *) continue ;; esac
  awk -v s="${R_SYS[$i]}" -v f="${R_SEC[$i]}" -v p="$PD_SEC" -v t="$TA_SEC" \
    'BEGIN{ printf "| %s | %s | %s |\n", s, (p==""?"n/a":sprintf("%.2fx", p/f)), (t==""?"n/a":sprintf("%.2fx", t/f)) }'
done
echo
[ -n "$PD_SEC" ] && awk -v p="$PD_SEC" -v f="$FS_SEC_BEST" -v n="$ROWS" 'BEGIN{ printf "target >= 5x pandas end to end: %.2fx with the faster fstore run: %s%s\n", p/f, (p/f >= 5 ? "met" : "NOT met"), (n == 10000000 ? "" : sprintf(" (at %d candles; the target is for 10M)", n)) }'
[ -n "$LIVE" ] && awk -v l="$LIVE" -v b="$LIVE_BATCH" -v u="$LIVE_UPDATES" 'BEGIN{ printf "target live update of the whole set < 2 us: %.0f ns (median of 7 x %d one-candle updates; batch %.2f M rows/s): %s\n", l, u, b/1e6, (l < 2000 ? "met" : "NOT met") }'
[ $CHECK_RC -eq 0 ] || die "agreement check failed (above)"
