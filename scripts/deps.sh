#!/usr/bin/env bash
# Installs what bolsa and gargalo need on Debian 12, and only what is missing.
#   scripts/deps.sh run    packages to build and run the service
#   scripts/deps.sh test   also the test tools: PostgreSQL, Chromium, npm packages
#   scripts/deps.sh bench  also the load generators
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_PKGS="build-essential pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev
  libpq-dev libunwind-dev libdw-dev libelf-dev libc6-dbg zlib1g-dev curl"
# clang and its runtime libraries (libFuzzer, sanitizers): the fuzz targets, tests/fuzz.
TEST_PKGS="libcmocka-dev postgresql python3 clang-format-14 chromium fonts-liberation nodejs npm
  golang-go clang libclang-rt-dev"
BENCH_PKGS="wrk hyperfine"

want="$RUN_PKGS"
case "${1:-run}" in
  run) ;;
  test) want="$want $TEST_PKGS" ;;
  bench) want="$want $TEST_PKGS $BENCH_PKGS" ;;
  *) echo "usage: $0 run|test|bench" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
  # nodejs may come from another repository that already bundles npm.
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done

if [ -n "$missing" ]; then
  echo "deps: installing$missing"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ "${1:-run}" != run ] && [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "deps: installing npm packages for the browser tests"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
