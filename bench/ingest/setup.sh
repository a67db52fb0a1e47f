#!/usr/bin/env bash
# Idempotent install of the ingest benchmark's peers.
#   PostgreSQL 15 (Debian package postgresql-15) and DuckDB (npm @duckdb/node-api,
#   into bench/node_modules from bench/package.json).
# A peer that cannot be installed is reported, not faked: run.sh skips it and says so.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
BENCH="$(cd "$HERE/.." && pwd)"

pg_ok=0
if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
  pg_ok=1
else
  echo "setup: installing postgresql-15 (apt-get)" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-15 \
    && pg_ok=1
fi
[ $pg_ok -eq 1 ] && echo "setup: PostgreSQL: $(/usr/lib/postgresql/15/bin/postgres --version)" \
                 || echo "setup: PostgreSQL 15 NOT available" >&2

duck_ok=0
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "setup: node/npm not found; DuckDB will be skipped" >&2
else
  if (cd "$BENCH" && node -e 'require("@duckdb/node-api")' 2>/dev/null); then
    duck_ok=1
  else
    want="$(cd "$BENCH" && node -p 'require("./package.json").dependencies["@duckdb/node-api"]')"
    if have="$(npm view @duckdb/node-api version 2>/dev/null)"; then
      echo "setup: npm registry reachable (@duckdb/node-api latest $have); installing $want into $BENCH/node_modules" >&2
      (cd "$BENCH" && npm install --no-audit --no-fund --loglevel=error) || true
      (cd "$BENCH" && node -e 'require("@duckdb/node-api")' 2>/dev/null) && duck_ok=1
    else
      echo "setup: 'npm view @duckdb/node-api version' failed; DuckDB will be skipped" >&2
    fi
  fi
fi
if [ $duck_ok -eq 1 ]; then
  echo "setup: DuckDB: $(cd "$BENCH" && node -e 'const d=require("@duckdb/node-api");(async()=>{const i=await d.DuckDBInstance.create(":memory:");const c=await i.connect();const r=await c.runAndReadAll("select version()");console.log(r.getRows()[0][0])})()')"
else
  echo "setup: DuckDB NOT available (native binary could not be installed/loaded)" >&2
fi
exit 0
