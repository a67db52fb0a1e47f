#!/usr/bin/env bash
# The fstore command's registry subcommands: exit codes (0 ok, 1 usage,
# 2 failure), messages naming file:line:column, --json, --help everywhere,
# and the example registry applying cleanly and idempotently.
set -e
. "$(dirname "$0")/lib.sh"
D="$TMP/data"
cd "$(dirname "$0")/../.."

check "help lists commands" run 0 "$FSTORE" --help
check "help text" contains "$OUT" "apply"
check "no command is a usage error" run 1 "$FSTORE"
check "unknown command suggests" run 1 "$FSTORE" aply
check "unknown command message" contains "$ERR" "unknown command 'aply' (did you mean 'apply'?)"
for cmd in init apply ls describe version; do
  check "$cmd --help" run 0 "$FSTORE" "$cmd" --help
  check "$cmd --help shows usage" contains "$OUT" "usage: fstore $cmd"
done
check "version" run 0 "$FSTORE" version
check "version text" contains "$OUT" "fstore 0.1.0"
check "version --json" run 0 "$FSTORE" version --json
check "version json" contains "$OUT" '"version": "0.1.0"'

check "open before init fails" run 2 "$FSTORE" --dir "$D" ls
check "not a data directory message" contains "$ERR" "is not an fstore data directory (run 'fstore init'"
check "init" run 0 "$FSTORE" --dir "$D" init
check "init again is fine" run 0 "$FSTORE" init --dir "$D"
check "FSTORE_DIR is honoured" run 0 env FSTORE_DIR="$D" "$FSTORE" ls
check "built-ins listed" contains "$OUT" "candles"

check "missing operand" run 1 "$FSTORE" --dir "$D" apply
check "missing operand message" contains "$ERR" "missing arguments"
check "unknown option" run 1 "$FSTORE" --dir "$D" ls --colour
check "unknown option message" contains "$ERR" "unknown option '--colour'"
check "bad kind" run 1 "$FSTORE" --dir "$D" ls --kind widget
check "missing file" run 2 "$FSTORE" --dir "$D" apply "$TMP/none.yaml"
check "missing file message" contains "$ERR" "none.yaml"

check "apply example" run 0 "$FSTORE" --dir "$D" apply examples/features.yaml
check "apply prints a diff" contains "$OUT" "+ view     technical (v1)"
check "apply prints counts" contains "$OUT" "0 removed"
cp "$D/catalog.json" "$TMP/catalog.before"
check "second apply" run 0 "$FSTORE" --dir "$D" apply examples/features.yaml
check "second apply says nothing to change" contains "$OUT" "Nothing to change"
check "second apply writes nothing" cmp -s "$D/catalog.json" "$TMP/catalog.before"

# A file with several mistakes: every one reported with its place, nothing changed.
cat > "$TMP/bad.yaml" <<'YAML'
views:
  - name: tech
    entity: market
    source: candles
    ttl: 2 hours
    features:
      - name: rsi
        indicator: rsii
      - name: x
        expr: c + * 2
      - name: y
        from: nope
YAML
check "bad file fails" run 2 "$FSTORE" --dir "$D" apply "$TMP/bad.yaml"
check "bad duration at 5:10" contains "$ERR" "bad.yaml:5:10: view 'tech': 'ttl'"
check "bad indicator at 8:20" contains "$ERR" "bad.yaml:8:20: view 'tech', feature 'rsi': unknown indicator 'rsii' (did you mean 'rsi'?)"
check "bad expression at 10:19" contains "$ERR" "bad.yaml:10:19: view 'tech', feature 'x': expression column 5"
check "bad column at 12:15" contains "$ERR" "bad.yaml:12:15: view 'tech', feature 'y': source 'candles' has no column 'nope'"
check "error count" contains "$ERR" "4 errors in $TMP/bad.yaml; nothing was applied"
check "catalog untouched by bad file" cmp -s "$D/catalog.json" "$TMP/catalog.before"
check "bad file --json" run 2 "$FSTORE" --dir "$D" --json apply "$TMP/bad.yaml"
check "json errors list" contains "$OUT" '"errors": ['
check "yaml syntax error" run 2 "$FSTORE" --dir "$D" apply <(printf 'views: [\n')
check "syntax error message" contains "$ERR" "YAML syntax error"

check "ls --kind view" run 0 "$FSTORE" --dir "$D" ls --kind view
check "ls shows technical" contains "$OUT" "technical"
check "ls --category technical" run 0 "$FSTORE" --dir "$D" ls --category technical
check "ls category rows" contains "$OUT" "technical:rsi_14"
check "ls --json" run 0 "$FSTORE" --dir "$D" ls --json --kind service
check "ls json rows" contains "$OUT" '"kind": "service"'
check "describe feature" run 0 "$FSTORE" --dir "$D" describe technical:rsi_14
check "describe shows lineage" contains "$OUT" "depends_on:"
check "describe shows indicator" contains "$OUT" "indicator: rsi"
check "describe unknown" run 2 "$FSTORE" --dir "$D" describe nope
check "describe unknown message" contains "$ERR" "no definition named 'nope'"
check "describe --json" run 0 "$FSTORE" --dir "$D" describe --json source/candles
check "describe json" contains "$OUT" '"builtin": true'

# Dry run: shows the change, writes nothing.
sed 's/period: 14/period: 21/' examples/features.yaml > "$TMP/v2.yaml"
check "dry run" run 0 "$FSTORE" --dir "$D" apply --dry-run "$TMP/v2.yaml"
check "dry run shows change" contains "$OUT" "~ feature"
check "dry run writes nothing" cmp -s "$D/catalog.json" "$TMP/catalog.before"
check "apply change" run 0 "$FSTORE" --dir "$D" apply "$TMP/v2.yaml"
check "change bumps version" contains "$OUT" "technical:rsi_14 (v2)"
finish
