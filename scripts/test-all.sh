#!/usr/bin/env bash
# `make test`: builds and runs the whole suite, then builds and runs it again
# under AddressSanitizer + UndefinedBehaviorSanitizer (leak checking on). The
# last line is the total in the 'N passed, N failed' form CI reads.
set -u
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
total_p=0 total_f=0 status=0
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

for variant in release san; do
  san=0; [ "$variant" = san ] && san=1
  echo "== building ($variant)"
  if ! make -s -j"$jobs" SAN=$san tests >/dev/null; then
    make -j1 SAN=$san tests 2>&1 | tail -30
    echo "build ($variant) failed"
    total_f=$((total_f + 1)); status=1
    continue
  fi
  echo "== running tests ($variant)"
  out=$(tests/run.sh "build/$variant" 2>&1); rc=$?
  echo "$out"
  line=$(echo "$out" | tail -n 1)
  p=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
  f=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
  total_p=$((total_p + ${p:-0})); total_f=$((total_f + ${f:-1}))
  [ $rc -eq 0 ] || status=1
done
echo "total: $total_p passed, $total_f failed"
exit $status
