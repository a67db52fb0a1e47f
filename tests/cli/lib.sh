# Helpers for shell tests of the fstore command. Each check prints
# "ok   NAME" or "FAIL NAME" (counted by tests/run.sh).
# FSTORE_BIN is set by tests/run.sh; TMP is a fresh directory per test file.
set -u
FSTORE=${FSTORE_BIN:?FSTORE_BIN not set}
TMP=$(mktemp -d /tmp/fstore-cli-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
_failures=0

ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; shift; for l in "$@"; do echo "  $l"; done; _failures=$((_failures + 1)); }

# run EXPECTED_STATUS CMD...: runs, keeps stdout/stderr in $OUT/$ERR, checks the status.
run() {
  local want=$1; shift
  set +e
  "$@" >"$TMP/out" 2>"$TMP/err"
  STATUS=$?
  set -e
  OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
  [ "$STATUS" -eq "$want" ] || { echo "  '$*' exited $STATUS, wanted $want"; echo "  stdout: $OUT" | head -5; echo "  stderr: $ERR" | head -5; return 1; }
}

# check NAME CONDITION-COMMAND...
check() { local name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }
contains() { case "$1" in *"$2"*) return 0;; *) echo "  '$2' not in: $(echo "$1" | head -20)"; return 1;; esac; }
finish() { [ "$_failures" -eq 0 ]; }
