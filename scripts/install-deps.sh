#!/usr/bin/env bash
# Installs the Debian packages fstore's build and tests need, idempotently:
# packages already present are left alone, so `make demo` / `make test` can
# call this on every run at the cost of one dpkg query.
set -euo pipefail

# python3-pandas: the training-set cross-check against pandas.merge_asof.
PKGS=(gcc make pkg-config libyaml-dev libjansson-dev python3-pandas libmicrohttpd-dev curl)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
