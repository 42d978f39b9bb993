#!/usr/bin/env bash
# run.sh: every allocation-failure check on one build (make fault runs it on build/asan):
# the library's operations (fault_gargalo), then the service on SQLite and on PostgreSQL
# (run.py). Ends with "fault: N passed, M failed".
#   tests/fault/run.sh BUILD_DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
B=${1:?usage: $0 BUILD_DIR}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0 failed=0 log=$(mktemp)
trap 'rm -f "$log"' EXIT

# tally: adds the "N passed, M failed" of the last run's output (in $log) to the totals.
tally() {
    local line
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
    passed=$((passed + $(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")))
    failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
}

timeout 600 "$B/fault/fault_gargalo" 2>&1 | tee "$log"
tally
for db in sqlite postgresql; do
    timeout 900 python3 tests/fault/run.py --bolsa "$B/fault/bolsa" --db "$db" 2>&1 | tee "$log"
    tally
done
echo "fault: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
