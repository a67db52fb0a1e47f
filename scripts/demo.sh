#!/usr/bin/env bash
# `make demo`: the main job on the embedded default, in ./demo-data.
# For now: create a data directory, apply examples/features.yaml, list and
# describe what was registered. Later steps (ingest, compute, training set,
# serve) join as they land.
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
printf '\nDemo data directory: %s (remove it with: rm -rf %s)\n' "$dir" "$dir"
