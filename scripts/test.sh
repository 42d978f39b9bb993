#!/usr/bin/env bash
# Runs every test: the normal build (with two servers on one database, and a one-minute
# soak), then the ASan+UBSan build (with allocation-failure injection), then the profiler
# under TSan, then each fuzz target for a few seconds. Each suite is one command; its
# pass/fail counts are read from its last summary line (cmocka's "[  PASSED  ] N
# test(s)", or "N passed, N failed"). Ends with the totals.
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
    local log="$LOG_DIR/${name//[^A-Za-z0-9._-]/_}.log" start=$SECONDS status
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

# unit_suites DIR TAG [GLOB...]: the cmocka test binaries of one build whose names match
# the GLOBs (default: all, test_*). A GLOB that matches no binary is a failed suite, so a
# test renamed or gone cannot drop out of a list unnoticed.
unit_suites() {
    local dir=$1 tag=$2 glob t found
    shift 2
    [ $# -gt 0 ] || set -- 'test_*'
    for glob in "$@"; do
        found=0
        for t in "$dir"/tests/$glob; do
            [ -f "$t" ] && [ -x "$t" ] || continue
            found=1
            suite "$tag/$(basename "$t")" 300 "$t"
        done
        [ $found -eq 1 ] || suite "$tag/$glob" 10 \
            sh -c 'echo "no test binary matches $1"; exit 1' sh "$dir/tests/$glob"
    done
}

build
suite check-style 120 scripts/check-style.sh build
suite check-style/self-test 60 scripts/check-style.sh --self-test
unit_suites build unit
# The profiler's tests again with signals, the mechanism used where perf events are refused.
GARGALO_MECHANISM=signal unit_suites build unit-signals 'test_sampler*' test_symbols test_ticker \
    test_labels
# ... with wall-clock signals from a timer of the thread's own, where calibration picks it.
GARGALO_MECHANISM=signal GARGALO_SIGNAL_SOURCE=timer unit_suites build unit-own-timer \
    test_sampler test_sampler_effects test_sampler_accuracy
suite api/sqlite 600 python3 tests/api/run.py --bolsa build/bolsa --db sqlite
suite api/postgresql 600 python3 tests/api/run.py --bolsa build/bolsa --db postgresql
suite browser 300 node tests/browser/run.mjs --build build
suite profile 300 python3 tests/profile/run.py --bolsa build/bolsa
suite cli 300 python3 tests/cli/run.py --gargalo build/gargalo --progs build/progs
suite pprof 300 python3 tests/pprof/run.py --gargalo build/gargalo --progs build/progs
suite server 300 python3 tests/server/run.py --bolsa build/bolsa
suite multi/sqlite 300 python3 tests/multi/run.py --bolsa build/bolsa --db sqlite
suite multi/postgresql 300 python3 tests/multi/run.py --bolsa build/bolsa --db postgresql
suite sql/sqlite 300 python3 tests/sql/run.py --bolsa build/bolsa --db sqlite
suite sql/postgresql 300 python3 tests/sql/run.py --bolsa build/bolsa --db postgresql
# The soak's one-minute version; make soak runs it for ten.
suite soak/sqlite 180 python3 tests/soak/run.py --bolsa build/bolsa --db sqlite --seconds 30
suite soak/postgresql 180 python3 tests/soak/run.py --bolsa build/bolsa --db postgresql --seconds 30
suite record 300 python3 tests/record/run.py --gargalo build/gargalo --progs build/progs \
    --bolsa build/bolsa

build SANITIZE=address,undefined
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
unit_suites build/asan asan
suite asan/api-sqlite 600 python3 tests/api/run.py --bolsa build/asan/bolsa --db sqlite --quick
suite asan/api-postgresql 600 python3 tests/api/run.py --bolsa build/asan/bolsa --db postgresql --quick
suite asan/profile 300 python3 tests/profile/run.py --bolsa build/asan/bolsa
suite asan/cli 300 python3 tests/cli/run.py --gargalo build/asan/gargalo --progs build/asan/progs
suite asan/pprof 300 python3 tests/pprof/run.py --gargalo build/asan/gargalo --progs build/asan/progs
suite asan/server 300 python3 tests/server/run.py --bolsa build/asan/bolsa
suite asan/sql-sqlite 300 python3 tests/sql/run.py --bolsa build/asan/bolsa --db sqlite
suite asan/sql-postgresql 300 python3 tests/sql/run.py --bolsa build/asan/bolsa --db postgresql
suite asan/fault-gargalo 300 build/asan/fault/fault_gargalo
suite asan/fault-sqlite 600 python3 tests/fault/run.py --bolsa build/asan/fault/bolsa --db sqlite
suite asan/fault-postgresql 600 python3 tests/fault/run.py --bolsa build/asan/fault/bolsa --db postgresql
# gargalo record: the command is the ASan build, the programs it records are not. Its
# preloaded library is never built with a sanitizer, and cannot go into an ASan program
# (ASan's runtime must be the first library a program loads).
suite asan/record 300 python3 tests/record/run.py --gargalo build/asan/gargalo --progs build/progs \
    --bolsa build/bolsa

build SANITIZE=thread
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# Every unit test that starts sampling sessions or the ticker thread. Two of their tests
# cannot pass under TSan and are reported skipped there:
# - test_unknown_address maps memory at a fixed address, which TSan's mmap interceptor
#   answers by ending the process ("mmap at bad address");
# - test_hundreds_of_sessions: its threads have 256 KiB stacks, and the first gargalo_stop
#   in a process reading libtsan's line tables through libdw overflows one (it passed only
#   after another test of the same process had read them);
# - test_forked_child_profiles: TSan ends a child that starts threads after a fork of a
#   process that had threads.
export ISOLATE_SKIP=test_unknown_address,test_hundreds_of_sessions,test_forked_child_profiles
unit_suites build/tsan tsan 'test_sampler*' test_ticker test_symbols test_labels test_process
GARGALO_MECHANISM=signal unit_suites build/tsan tsan-signals 'test_sampler*' test_ticker test_symbols \
    test_labels
unset ISOLATE_SKIP
# The store's pool and its health check are lock-free too. (Not the SQLite busy test: TSan
# holds signals back until the thread synchronises, so its waits are hardly interrupted.)
unit_suites build/tsan tsan test_bolsa_store_pool
# The middleware's concurrent profiled requests, with the whole server under TSan.
suite tsan/profile 300 python3 tests/profile/run.py --bolsa build/tsan/bolsa

# Ten seconds of each fuzz target, after the inputs that once broke one; make fuzz runs
# each for a minute.
build_fuzzers() {
    echo "== build fuzzers"
    make --no-print-directory -j"$JOBS" WERROR=1 FUZZ=1 fuzzers >"$LOG_DIR/build-fuzz.log" 2>&1 ||
        { tail -n 30 "$LOG_DIR/build-fuzz.log"; echo "0 passed, 1 failed"; exit 1; }
}
if [ -z "${TEST_ONLY:-}" ] || [[ fuzz =~ $TEST_ONLY ]]; then build_fuzzers; fi
suite fuzz 300 tests/fuzz/run.sh build/fuzz 10

echo
if [ ${#failed_suites[@]} -gt 0 ]; then echo "failed suites: ${failed_suites[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failed_suites[@]} -eq 0 ]
