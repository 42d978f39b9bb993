#!/usr/bin/env bash
# Runs every test: the normal build, then the ASan+UBSan build, then the profiler under
# TSan. Each suite is one command; its pass/fail counts are read from its last summary
# line (cmocka's "[  PASSED  ] N test(s)", or "N passed, N failed"). Ends with the totals.
#   scripts/test.sh               everything
#   TEST_ONLY=regex scripts/test.sh   only the suites whose name matches
set -uo pipefail
cd "$(dirname "$0")/.."

JOBS=$(nproc 2>/dev/null || echo 2)
LOG_DIR=build/test-logs
mkdir -p "$LOG_DIR"
passed=0 failed=0 failed_suites=()

# count_results LOG STATUS: adds the suite's counts to the totals; sets suite_failed.
count_results() {
    local log=$1 status=$2 p f line
    p=$(grep -Eo '\[  PASSED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
    f=$(grep -Eo '\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
    line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        p=$((p + $(sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed.*/\2/' <<<"$line")))
        f=$((f + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
    fi
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$status" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then p=1; fi
    passed=$((passed + p))
    failed=$((failed + f))
    suite_failed=$f
}

# suite NAME TIMEOUT_S COMMAND...: runs one suite with a time limit, logging its output.
suite() {
    local name=$1 limit=$2; shift 2
    if [ -n "${TEST_ONLY:-}" ] && ! [[ $name =~ $TEST_ONLY ]]; then return 0; fi
    local log="$LOG_DIR/${name//\//_}.log" start=$SECONDS status
    timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
    status=$?
    count_results "$log" "$status"
    if [ "$status" -ne 0 ] || [ "$suite_failed" -ne 0 ]; then
        failed_suites+=("$name")
        echo "FAIL  $name ($((SECONDS - start)) s, exit $status); last lines of $log:"
        tail -n 30 "$log" | sed 's/^/    /'
    else
        echo "ok    $name ($((SECONDS - start)) s)"
    fi
}

build() {
    echo "== build $*"
    make --no-print-directory -j"$JOBS" WERROR=1 "$@" all >"$LOG_DIR/build.log" 2>&1 ||
        { cat "$LOG_DIR/build.log"; echo "0 passed, 1 failed"; exit 1; }
}

# unit_suites DIR: every cmocka test binary of one build.
unit_suites() {
    local dir=$1 tag=$2 filter=${3:-.}
    for t in "$dir"/tests/test_*; do
        [ -x "$t" ] || continue
        [[ $(basename "$t") =~ $filter ]] || continue
        suite "$tag/$(basename "$t")" 300 "$t"
    done
}

build
unit_suites build unit
suite api/sqlite 600 python3 tests/api/run.py --bolsa build/bolsa --db sqlite
suite api/postgresql 600 python3 tests/api/run.py --bolsa build/bolsa --db postgresql
suite browser 300 node tests/browser/run.mjs --build build
suite profile 300 python3 tests/profile/run.py --bolsa build/bolsa

build SANITIZE=address,undefined
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
unit_suites build/asan asan
suite asan/api-sqlite 600 python3 tests/api/run.py --bolsa build/asan/bolsa --db sqlite --quick
suite asan/api-postgresql 600 python3 tests/api/run.py --bolsa build/asan/bolsa --db postgresql --quick
suite asan/profile 300 python3 tests/profile/run.py --bolsa build/asan/bolsa

build SANITIZE=thread
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# The store's pool and its health check are lock-free too. (Not the SQLite busy test: TSan
# holds signals back until the thread synchronises, so its waits are hardly interrupted.)
unit_suites build/tsan tsan 'test_(sampler|ticker|profile|gargalo|stress|bolsa_store_pool)'
# The middleware's concurrent profiled requests, with the whole server under TSan.
suite tsan/profile 300 python3 tests/profile/run.py --bolsa build/tsan/bolsa

echo
if [ ${#failed_suites[@]} -gt 0 ]; then echo "failed suites: ${failed_suites[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failed_suites[@]} -eq 0 ]
