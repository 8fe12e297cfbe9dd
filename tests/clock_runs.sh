#!/usr/bin/env bash
# `make test-clock`: the suite (without the browser) a year ahead and a year back, side by
# side, each with its own Redis databases, temporary folder and pytest cache (PostgreSQL
# databases are throwaway per run already); each run's output is printed whole once both
# have ended. Side by side, the two runs share two CPUs, so a test that waits on a timeout
# can lose a race it never loses alone: a run's failures are run once more, alone, with the
# clock moved the same way, and only a test that fails again fails the build. Both tries
# are printed.
# Usage: tests/clock_runs.sh PYTEST [pytest arguments...]
set -uo pipefail
pytest_bin="$1"
shift
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

run() {  # name, days, test Redis db, faults Redis db, pytest arguments...
    local name="$1" days="$2" db="$3" faults_db="$4"
    shift 4
    ROSHNI_TEST_CLOCK_SHIFT_DAYS="$days" \
    ROSHNI_TEST_REDIS="redis://127.0.0.1:6379/$db" \
    ROSHNI_FAULTS_REDIS="redis://127.0.0.1:6379/$faults_db" \
        "$pytest_bin" -m "not browser" -q -o cache_dir="$logs/$name-cache" \
        --basetemp="$logs/$name-tmp" "$@"
}

run ahead 365 9 8 "$@" >"$logs/ahead.log" 2>&1 &
ahead=$!
run back -365 14 15 "$@" >"$logs/back.log" 2>&1 &
back=$!
wait "$ahead"
ahead_rc=$?
wait "$back"
back_rc=$?

echo "== the clock a year ahead (ROSHNI_TEST_CLOCK_SHIFT_DAYS=365): exit $ahead_rc"
cat "$logs/ahead.log"
echo "== the clock a year back (ROSHNI_TEST_CLOCK_SHIFT_DAYS=-365): exit $back_rc"
cat "$logs/back.log"

# Exit 1 is "some tests failed"; anything else (an interrupted or unusable run) stands.
if [ "$ahead_rc" -eq 1 ]; then
    echo "== the year-ahead run's failures, once more, alone"
    run ahead 365 9 8 "$@" --last-failed
    ahead_rc=$?
fi
if [ "$back_rc" -eq 1 ]; then
    echo "== the year-back run's failures, once more, alone"
    run back -365 14 15 "$@" --last-failed
    back_rc=$?
fi
[ "$ahead_rc" -eq 0 ] && [ "$back_rc" -eq 0 ]
