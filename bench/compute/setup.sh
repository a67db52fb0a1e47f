#!/usr/bin/env bash
# Idempotent install of the compute benchmark's peers.
#   pandas: the Debian package python3-pandas (apt-get, as root), run with the
#           system interpreter /usr/bin/python3 (not a pyenv/venv python that
#           would not see Debian's packages). No PyPI.
#   TA-Lib: npm talib-web (TA-Lib's C code compiled to WebAssembly) into
#           bench/node_modules from bench/package.json.
# A peer that cannot be installed is reported, not faked: run.sh skips it and says so.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
BENCH="$(cd "$HERE/.." && pwd)"
PY=/usr/bin/python3

pd_ok=0
if [ -x "$PY" ] && "$PY" -c 'import pandas, numpy' 2>/dev/null; then
  pd_ok=1
else
  echo "setup: installing python3-pandas (apt-get)" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pandas \
    && "$PY" -c 'import pandas, numpy' 2>/dev/null && pd_ok=1
fi
[ $pd_ok -eq 1 ] && echo "setup: pandas $("$PY" -c 'import pandas, numpy; print(pandas.__version__, "numpy", numpy.__version__)') ($PY)" \
                 || echo "setup: pandas NOT available" >&2

ta_ok=0
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "setup: node/npm not found; TA-Lib (talib-web) will be skipped" >&2
else
  if (cd "$BENCH" && node -e 'require("talib-web")' 2>/dev/null); then
    ta_ok=1
  else
    want="$(cd "$BENCH" && node -p 'require("./package.json").dependencies["talib-web"]')"
    echo "setup: installing talib-web $want into $BENCH/node_modules (npm)" >&2
    (cd "$BENCH" && npm install --no-audit --no-fund --loglevel=error) || true
    (cd "$BENCH" && node -e 'require("talib-web")' 2>/dev/null) && ta_ok=1
  fi
fi
[ $ta_ok -eq 1 ] && echo "setup: TA-Lib: talib-web $(cd "$BENCH" && node -p 'require("talib-web/package.json").version') (WebAssembly)" \
                 || echo "setup: TA-Lib (talib-web) NOT available" >&2
exit 0
