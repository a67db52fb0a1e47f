#!/usr/bin/env bash
# Fuzzes the feature server: each target for SECONDS (default 300) on its
# committed corpus (fuzz/corpus/TARGET), new inputs going to a scratch
# directory, then merged (minimized) back into the committed corpus. A
# finding stops the target and leaves crash-*/leak-*/timeout-* files in
# build/fuzz/findings; keep each as a regression test in fuzz/regressions/
# once fixed (run.sh replays that directory first).
# usage: fuzz/run.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}; shift || true
targets=("$@"); [ ${#targets[@]} -eq 0 ] && targets=(fuzz_request fuzz_http)
fuzz/build.sh
mkdir -p build/fuzz/findings
status=0
for t in "${targets[@]}"; do
  corpus=fuzz/corpus/${t#fuzz_}
  scratch=build/fuzz/scratch-$t
  rm -rf "$scratch"; mkdir -p "$scratch" "$corpus"
  if [ -d fuzz/regressions ] && ls fuzz/regressions/* >/dev/null 2>&1; then
    echo "== $t: replaying fuzz/regressions"
    build/fuzz/$t -runs=0 fuzz/regressions/* >/dev/null 2>&1 || { echo "$t: a regression input fails again"; status=1; }
  fi
  echo "== $t: fuzzing for ${secs}s"
  build/fuzz/$t -max_total_time="$secs" -max_len=8192 -timeout=20 -rss_limit_mb=4096 \
    -dict=fuzz/http.dict -print_final_stats=1 -artifact_prefix=build/fuzz/findings/ \
    "$scratch" "$corpus" 2>&1 | tee build/fuzz/$t.log | grep -E "^#[0-9]+ +(INITED|DONE)|stat::|ERROR|SUMMARY" || true
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  build/fuzz/$t -merge=1 "$corpus" "$scratch" >/dev/null 2>&1 || true
  echo "== $t: corpus $(ls "$corpus" | wc -l) inputs"
done
exit $status
