#!/usr/bin/env bash
# Runs every test of one build variant: the C test binaries in BUILD/tests and
# the shell tests in tests/cli/*.sh (which drive BUILD/bin/fstore). Each test
# prints "ok   NAME" or "FAIL NAME"; this script counts them, shows the output
# of failing ones, and ends with "N passed, N failed".
# usage: tests/run.sh BUILD_DIR
set -u
build=${1:?usage: tests/run.sh BUILD_DIR}
cd "$(dirname "$0")/.."
export FSTORE_BIN="$PWD/$build/bin/fstore"
passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_one() { # NAME CMD...
  local name=$1; shift
  if "$@" >"$log" 2>&1; then status=0; else status=$?; fi
  local ok fail
  ok=$(grep -c '^ok ' "$log" || true)
  fail=$(grep -c '^FAIL ' "$log" || true)
  if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
    fail=1 # crashed or a sanitizer aborted it: count the binary as one failure
    echo "FAIL $name (exit status $status)"
  fi
  passed=$((passed + ok)); failed=$((failed + fail))
  if [ "$fail" -ne 0 ]; then
    echo "--- $name ---"; cat "$log"; echo "---"
  else
    echo "ok   $name ($ok tests)"
  fi
}

for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  run_one "$(basename "$t")" "$t"
done
for t in tests/cli/test_*.sh; do
  [ -f "$t" ] || continue
  run_one "$(basename "$t")" bash "$t"
done
echo "$build: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
