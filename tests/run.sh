#!/usr/bin/env bash
# Runs the whole suite: C unit tests, CLI tests, PyTorch and npm oracle tests.
# Every test program prints a closing line "N passed, N failed"; a program that
# crashes or prints none counts as one failure. Ends with the totals.
# TA_TEST_FILTER=substring runs only the programs whose path contains it.
# A release run also runs the unit tests built with MODE=asan (asan/...).
set -u
cd "$(dirname "$0")/.."
MODE=${MODE:-release}
export TA_ROOT=$PWD
export TA_BUILD=$PWD/build/$MODE
export TA_BIN=$TA_BUILD/taskalign
export TA_PYTHON=/usr/bin/python3
export TA_TMP=$(mktemp -d /tmp/ta_tests.XXXXXX)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
filter=${TA_TEST_FILTER:-}
total_pass=0 total_fail=0
failed_progs=()

run_prog() { # name, timeout, command...
    local name=$1 limit=$2; shift 2
    if [ -n "$filter" ] && [[ "$name" != *"$filter"* ]]; then return; fi
    local log=$TA_TMP/$(echo "$name" | tr '/' '_').log
    local t0=$(date +%s)
    timeout "$limit" "$@" > "$log" 2>&1
    local rc=$?
    local line
    line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 | sed -E 's/^[A-Za-z]+: //')
    local p=0 f=0
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
        f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    fi
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    local dt=$(( $(date +%s) - t0 ))
    if [ "$f" -ne 0 ]; then
        failed_progs+=("$name")
        echo "FAIL $name ($p passed, $f failed, rc $rc, ${dt}s)"
        grep -E 'FAIL|not ok|Error|error|Traceback|Sanitizer|runtime error' "$log" | head -n 30 | sed 's/^/    /'
        echo "    (full log: $log)"
    else
        echo "ok   $name ($p passed, ${dt}s)"
    fi
}

for t in "$TA_BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_prog "unit/$(basename "$t")" 900 "$t"
done
# the unit tests again under AddressSanitizer + UBSan, so a memory error fails CI
# (a release run only, ~1 min on 2 cores; TA_SANITIZE=0 skips it)
need_asan=0
for c in tests/unit/test_*.c; do
    n="asan/$(basename "$c" .c)"
    if [ -z "$filter" ] || [[ "$n" == *"$filter"* ]]; then need_asan=1; fi
done
if [ "$MODE" = release ] && [ "${TA_SANITIZE:-1}" = 1 ] && [ $need_asan = 1 ]; then
    if make --no-print-directory -s MODE=asan unit > "$TA_TMP/asan_build.log" 2>&1; then
        for t in build/asan/tests/test_*; do
            [ -x "$t" ] || continue
            run_prog "asan/$(basename "$t")" 900 "$t"
        done
    else
        total_fail=$((total_fail + 1)); failed_progs+=("asan/build")
        echo "FAIL asan/build (make MODE=asan unit)"; tail -n 20 "$TA_TMP/asan_build.log" | sed 's/^/    /'
    fi
fi
for t in tests/cli/*.sh; do
    [ -f "$t" ] || continue
    run_prog "cli/$(basename "$t")" 900 bash "$t"
done
for t in tests/oracle/test_*.py; do
    [ -f "$t" ] || continue
    run_prog "oracle/$(basename "$t")" 1200 "$TA_PYTHON" "$t"
done
for t in tests/oracle/test_*.mjs; do
    [ -f "$t" ] || continue
    run_prog "oracle/$(basename "$t")" 1200 node "$t"
done

echo
if [ ${#failed_progs[@]} -gt 0 ]; then echo "failing programs: ${failed_progs[*]}"; fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
