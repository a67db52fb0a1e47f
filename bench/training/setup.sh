#!/usr/bin/env bash
# Idempotent install of what the training-set benchmark (bench/training/run.sh) needs:
#   /usr/bin/time          Debian package `time` (peak RSS through `time -v`)
#   PostgreSQL 15          Debian package postgresql-15 (a private cluster is made by run.sh)
#   pandas                 Debian package python3-pandas, run with /usr/bin/python3 (no PyPI)
#   DuckDB                 npm @duckdb/node-api into bench/node_modules (bench/package.json)
# Each is skipped when already present. A peer that cannot be installed is reported,
# not faked: run.sh then skips it and says so.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
BENCH="$(cd "$HERE/.." && pwd)"
PY=/usr/bin/python3
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

apt_updated=0
apt_install() { # PACKAGE...
  if [ $apt_updated -eq 0 ]; then $SUDO apt-get update -qq && apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@"
}

if [ -x /usr/bin/time ]; then
  echo "setup: /usr/bin/time present"
else
  echo "setup: installing time (apt-get)" >&2
  apt_install time || echo "setup: /usr/bin/time NOT available: run.sh cannot measure peak RSS" >&2
fi

if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
  echo "setup: PostgreSQL: $(/usr/lib/postgresql/15/bin/postgres --version)"
else
  echo "setup: installing postgresql-15 (apt-get)" >&2
  apt_install postgresql-15 && echo "setup: PostgreSQL: $(/usr/lib/postgresql/15/bin/postgres --version)" \
    || echo "setup: PostgreSQL 15 NOT available" >&2
fi

if [ -x "$PY" ] && "$PY" -c 'import pandas, numpy' 2>/dev/null; then :; else
  echo "setup: installing python3-pandas (apt-get)" >&2
  apt_install python3-pandas || true
fi
"$PY" -c 'import pandas, numpy' 2>/dev/null \
  && echo "setup: pandas $("$PY" -c 'import pandas, numpy; print(pandas.__version__, "numpy", numpy.__version__)') ($PY)" \
  || echo "setup: pandas NOT available (the generator and the agreement check need it too)" >&2

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "setup: node/npm not found; DuckDB will be skipped" >&2
elif (cd "$BENCH" && node -e 'require("@duckdb/node-api")' 2>/dev/null); then
  echo "setup: DuckDB: @duckdb/node-api $(cd "$BENCH" && node -p 'require("@duckdb/node-api/package.json").version')"
else
  echo "setup: installing bench/package.json's packages (npm) into $BENCH/node_modules" >&2
  (cd "$BENCH" && npm install --no-audit --no-fund --loglevel=error) || true
  (cd "$BENCH" && node -e 'require("@duckdb/node-api")' 2>/dev/null) \
    && echo "setup: DuckDB: @duckdb/node-api $(cd "$BENCH" && node -p 'require("@duckdb/node-api/package.json").version')" \
    || echo "setup: DuckDB NOT available (native binary could not be installed/loaded)" >&2
fi
exit 0
