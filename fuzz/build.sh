#!/usr/bin/env bash
# Builds the libFuzzer targets with clang: libfstore instrumented for
# coverage (-fsanitize=fuzzer-no-link) with AddressSanitizer and UBSan, into
# build/fuzz (apart from the release and sanitizer builds). Not part of
# `make test`: run fuzz/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang
  else
    echo "fuzz/build.sh: clang is needed (apt-get install clang)" >&2; exit 1
  fi
fi
scripts/install-deps.sh
make -s -j"$(nproc)" CC=clang SAN=1 BUILD=build/fuzz \
  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link -Wno-error=unused-but-set-variable" build/fuzz/lib/libfstore.a
for t in fuzz_request fuzz_http; do
  clang -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -Iinclude -Isrc fuzz/$t.c build/fuzz/lib/libfstore.a -lyaml -ljansson -lmicrohttpd -lpthread -lm \
    -o build/fuzz/$t
done
echo "built build/fuzz/fuzz_request and build/fuzz/fuzz_http"
