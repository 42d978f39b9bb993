#!/usr/bin/env bash
# The rules the compiler does not enforce. Six checks, each printing its problems as
# `file:line: message` (or `file: message`), then `ok` or `FAIL` and its name:
#   format           tracked .c/.h under src/ include/ tests/ bench/ are clang-format clean
#   function-length  no function in src/ is longer than 40 lines (scripts/function-length.py)
#   bolsa-includes   src/bolsa/ and tests/unit/test_bolsa_*.c include no private gargalo header
#   exports          libgargalo.so exports only gargalo_* names
#   links            libgargalo.so does not link what only bolsa calls (libpq, SQLite, MHD)
#   preload-exports  libgargalo-record.so, which gargalo record preloads, exports nothing
# The last line counts them: `check-style: N passed, N failed (N problems)`.
#
#   scripts/check-style.sh [BUILD_DIR]   BUILD_DIR holds the libraries (default: build)
#   scripts/check-style.sh --self-test   each check against fixtures it must reject
#   CLANG_FORMAT=clang-format-14 scripts/check-style.sh   the clang-format to use
set -uo pipefail
cd "$(dirname "$0")/.."

MAX_FUNCTION_LINES=40
BOLSA_ONLY_LIBS='libpq|libsqlite3|libmicrohttpd'

if [ -z "${CLANG_FORMAT:-}" ]; then
    CLANG_FORMAT=clang-format
    command -v clang-format-14 >/dev/null && CLANG_FORMAT=clang-format-14
fi

# ---- the checks: each prints one line per problem, and nothing when all is well ----

# check_format FILE...: clang-format's verdict on each file, with the repository's style.
check_format() {
    if ! command -v "$CLANG_FORMAT" >/dev/null; then
        echo "$CLANG_FORMAT: not found (scripts/deps.sh test installs clang-format-14)"
        return
    fi
    [ -f .clang-format ] || { echo ".clang-format: missing"; return; }
    [ $# -gt 0 ] || { echo "no C files found to check"; return; }
    local out
    out=$("$CLANG_FORMAT" --dry-run --Werror --style=file "$@" 2>&1) && return
    # One line per violation (file:line:col: error: ...), without the echoed source.
    grep -E '^[^ ]+:[0-9]+:[0-9]+: (error|warning): ' <<<"$out" ||
        sed 's/^/clang-format: /' <<<"$out"
}

# check_function_length PATH...: functions over the limit in the .c files under PATHs.
check_function_length() {
    python3 scripts/function-length.py --max "$MAX_FUNCTION_LINES" "$@"
    local status=$?
    # 1 means it listed offenders; anything else means it could not do its job.
    if [ "$status" -gt 1 ]; then echo "scripts/function-length.py: failed (exit $status)"; fi
}

# check_includes GARGALO_DIR FILE...: the FILEs' #includes of a private header of
# GARGALO_DIR (a header name found there, unless bolsa or shared has one of that name) or
# of any path through a gargalo/ directory.
check_includes() {
    local gdir=$1 file line text name base
    shift
    local private
    private=$(find "$gdir" -name '*.h' -printf '%f\n')
    [ -n "$private" ] || { echo "$gdir: no private headers found"; return; }
    local allowed="bolsa may include only gargalo.h and headers of src/bolsa and src/shared"
    grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"][^>"]+[>"]' "$@" |
        while IFS=: read -r file line text; do
            name=$(sed -E 's/.*[<"]([^>"]+)[>"].*/\1/' <<<"$text")
            base=${name##*/}
            if grep -qxF "$base" <<<"$private" && [ ! -e "src/bolsa/$base" ] &&
                [ ! -e "src/shared/$base" ]; then
                echo "$file:$line: includes \"$name\", a private header of libgargalo; $allowed"
            elif [[ $name == *gargalo/* ]]; then
                echo "$file:$line: includes \"$name\" through a gargalo/ directory; $allowed"
            fi
        done
}

# check_exports LIB: dynamic symbols LIB defines whose names do not start with gargalo_.
check_exports() {
    local so=$1 syms
    [ -f "$so" ] || { echo "$so: not found (build the library first)"; return; }
    syms=$(nm -D --defined-only "$so" 2>&1) || { echo "$so: nm failed: $syms"; return; }
    [ -n "$syms" ] || { echo "$so: exports nothing at all"; return; }
    awk -v so="$so" 'NF >= 3 && $3 !~ /^gargalo_/ {
        print so ": exports " $3 " (only gargalo_* names may be exported)" }' <<<"$syms"
}

# check_no_exports LIB: every dynamic symbol LIB defines; a preloaded library must define
# none, or it would stand in for the program's own.
check_no_exports() {
    local so=$1 syms
    [ -f "$so" ] || { echo "$so: not found (build it first)"; return; }
    syms=$(nm -D --defined-only "$so" 2>&1) || { echo "$so: nm failed: $syms"; return; }
    awk -v so="$so" 'NF >= 3 { print so ": exports " $3 " (a preloaded library exports nothing)" }' \
        <<<"$syms"
}

# check_links LIB: libraries LIB needs (DT_NEEDED) that only bolsa should link.
check_links() {
    local so=$1 dyn
    [ -f "$so" ] || { echo "$so: not found (build the library first)"; return; }
    dyn=$(readelf -d "$so" 2>&1) || { echo "$so: readelf failed: $dyn"; return; }
    sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p' <<<"$dyn" | grep -E "^($BOLSA_ONLY_LIBS)\." |
        while read -r lib; do
            echo "$so: links $lib, which only bolsa calls"
        done
}

# ---- running them ----

passed=0 failed=0 problems=0

# run NAME COMMAND...: runs one check; it fails when it prints anything.
run() {
    local name=$1 out n
    shift
    out=$("$@")
    if [ -z "$out" ]; then
        echo "ok    $name"
        passed=$((passed + 1))
    else
        n=$(grep -c '' <<<"$out")
        echo "$out"
        echo "FAIL  $name ($n problem$([ "$n" -eq 1 ] || echo s))"
        failed=$((failed + 1))
        problems=$((problems + n))
    fi
}

# tracked_sources DIR...: the .c and .h files of DIRs that git tracks (all of them outside
# a git checkout), one a line.
tracked_sources() {
    local f
    { git ls-files -- "$@" 2>/dev/null || find "$@" -type f; } | grep -E '\.[ch]$' |
        while read -r f; do [ -f "$f" ] && echo "$f"; done
}

# expect NAME WANTED_STATUS WANTED_OUTPUT COMMAND...: one self-test case.
expect() {
    local name=$1 want_status=$2 want=$3 out status
    shift 3
    out=$("$@")
    status=$?
    if [ "$status" -eq "$want_status" ] && [ "$out" = "$want" ]; then
        echo "ok    $name"
        passed=$((passed + 1))
    else
        echo "FAIL  $name: exit $status (wanted $want_status), output:"
        sed 's/^/    /' <<<"$out"
        echo "  wanted:"
        sed 's/^/    /' <<<"$want"
        failed=$((failed + 1))
    fi
}

# Each check, shown the fixtures of tests/style/ and small broken inputs made here, must
# report exactly what is wrong with them, and nothing about what is right.
self_test() {
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT

    expect "function-length: functions of up to $MAX_FUNCTION_LINES lines pass" 0 "" \
        check_function_length tests/style/short.c
    expect "function-length: longer ones are reported, directories searched" 0 \
        "$(cat tests/style/long.expected)" check_function_length tests/style
    expect "function-length: the checker exits 1 when it reports" 1 "" \
        sh -c 'python3 scripts/function-length.py tests/style >/dev/null'

    cp .clang-format "$tmp/"
    printf 'int  badly_spaced;\nint f(void) {\n    return 1;\n}\n' >"$tmp/bad.c"
    printf 'int well_spaced;\n' >"$tmp/good.c"
    expect "format: violations reported by file:line" 0 \
        "$tmp/bad.c:1:4: error: code should be clang-formatted [-Wclang-format-violations]
$tmp/bad.c:2:12: error: code should be clang-formatted [-Wclang-format-violations]" \
        check_format "$tmp/good.c" "$tmp/bad.c"

    expect "bolsa-includes: private headers reported, gargalo.h and bolsa's own not" 0 \
        "$(sed "s|^|tests/style/bolsa_includes.c:|" tests/style/bolsa_includes.expected)" \
        check_includes src/gargalo tests/style/bolsa_includes.c

    printf 'int gargalo_fine(void) { return 0; }\nint leaked(void) { return 1; }\n' \
        >"$tmp/lib.c"
    if cc -shared -fPIC -o "$tmp/libgargalo.so" "$tmp/lib.c" -Wl,--no-as-needed -lsqlite3 \
        2>"$tmp/cc.log"; then
        expect "exports: a name without gargalo_ reported" 0 \
            "$tmp/libgargalo.so: exports leaked (only gargalo_* names may be exported)" \
            check_exports "$tmp/libgargalo.so"
        expect "links: libsqlite3 reported" 0 \
            "$tmp/libgargalo.so: links libsqlite3.so.0, which only bolsa calls" \
            check_links "$tmp/libgargalo.so"
        expect "preload-exports: every name reported" 0 \
            "$tmp/libgargalo.so: exports gargalo_fine (a preloaded library exports nothing)
$tmp/libgargalo.so: exports leaked (a preloaded library exports nothing)" \
            check_no_exports "$tmp/libgargalo.so"
    else
        echo "FAIL  exports, links, preload-exports: could not build a test library:"
        sed 's/^/    /' "$tmp/cc.log"
        failed=$((failed + 3))
    fi
    echo "check-style-self-test: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

if [ "${1:-}" = "--self-test" ]; then
    self_test
    exit
fi

B=${1:-build}
mapfile -t sources < <(tracked_sources src include tests bench)
mapfile -t bolsa_files < <(find src/bolsa tests/unit -path 'src/bolsa/*.[ch]' -o \
    -path 'tests/unit/test_bolsa_*.c' | sort)

run "format (${#sources[@]} files)" check_format "${sources[@]}"
run "function-length (src/, max $MAX_FUNCTION_LINES lines)" check_function_length src
run "bolsa-includes (${#bolsa_files[@]} files)" check_includes src/gargalo "${bolsa_files[@]}"
run "exports ($B/libgargalo.so)" check_exports "$B/libgargalo.so"
run "links ($B/libgargalo.so)" check_links "$B/libgargalo.so"
run "preload-exports ($B/libgargalo-record.so)" check_no_exports "$B/libgargalo-record.so"

echo "check-style: $passed passed, $failed failed ($problems problems)"
[ "$failed" -eq 0 ]
