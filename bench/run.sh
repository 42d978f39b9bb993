#!/usr/bin/env bash
# Runs every benchmark against the release build (make bench builds it first) and prints
# the report; the harness itself is bench/run.py. See bench/README.md.
#   bench/run.sh            full run, about 15 minutes on 2 cores
#   bench/run.sh --quick    each case once with small sizes: a smoke test, under 2 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/run.py "$@"
