#!/usr/bin/env bash
# run.sh: runs the libFuzzer targets built by `make FUZZ=1 fuzzers`, each for a bounded
# time, after replaying the inputs that once broke it (tests/fuzz/regressions/TARGET/).
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]    e.g. tests/fuzz/run.sh build/fuzz 60
#
# Seeds come from the tests (seeds.py); what the fuzzer finds on top of them is kept in
# BUILD_DIR/fuzz-corpus/TARGET, so later runs start from there. An input that fails is
# saved in BUILD_DIR/fuzz-crashes/TARGET/; once fixed, copy it into regressions/TARGET/.
# Prints one line per target (runs, corpus size) and ends with "fuzz: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

B=${1:?usage: $0 BUILD_DIR SECONDS [TARGET...]}
SECONDS_EACH=${2:?usage: $0 BUILD_DIR SECONDS [TARGET...]}
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in "$B"/fuzzers/*; do targets+=("$(basename "$f")"); done
fi
passed=0 failed=0

# Saved sessions are the largest inputs worth trying; everything else stays small.
max_len() { if [ "$1" = session ]; then echo 65536; else echo 4096; fi; }

# regress TARGET: each saved input once; the fuzzer exits non-zero if any still fails.
regress() {
    local t=$1 dir=tests/fuzz/regressions/$1
    [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] || return 0
    if "$B/fuzzers/$t" "$dir"/* >"$B/fuzz-logs/$t.regress.log" 2>&1; then
        echo "ok    $t: $(ls "$dir" | wc -l) saved inputs replayed"
        passed=$((passed + 1))
    else
        echo "FAIL  $t: a saved input fails again; see $B/fuzz-logs/$t.regress.log"
        tail -n 20 "$B/fuzz-logs/$t.regress.log" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
}

# fuzz TARGET: SECONDS_EACH of fuzzing from the corpus and the seeds.
fuzz() {
    local t=$1 log=$B/fuzz-logs/$1.log
    mkdir -p "$B/fuzz-corpus/$t" "$B/fuzz-crashes/$t"
    "$B/fuzzers/$t" -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=2048 \
        -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$B/fuzz-crashes/$t/" \
        "$B/fuzz-corpus/$t" "$B/fuzz-seeds/$t" >"$log" 2>&1
    local status=$?
    local runs corpus
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    corpus=$(ls "$B/fuzz-corpus/$t" | wc -l)
    if [ "$status" -eq 0 ]; then
        echo "ok    $t: ${runs:-?} runs in ${SECONDS_EACH} s, corpus of $corpus inputs"
        passed=$((passed + 1))
    else
        echo "FAIL  $t (exit $status) after ${runs:-?} runs; input in $B/fuzz-crashes/$t/:"
        grep -E 'fuzz check failed|ERROR:|runtime error|SUMMARY' "$log" | head -n 5 | sed 's/^/    /'
        failed=$((failed + 1))
    fi
}

mkdir -p "$B/fuzz-logs"
rm -rf "$B/fuzz-seeds"
if ! python3 tests/fuzz/seeds.py --render-profile "$B/progs/render_profile" --out "$B/fuzz-seeds"; then
    echo "fuzz: 0 passed, 1 failed (could not write the seeds)"
    exit 1
fi
for t in "${targets[@]}"; do
    [ -x "$B/fuzzers/$t" ] || { echo "FAIL  $t: no $B/fuzzers/$t"; failed=$((failed + 1)); continue; }
    regress "$t"
    fuzz "$t"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
