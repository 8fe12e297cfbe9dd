#!/usr/bin/env bash
# `make test-clock`: the suite (without the browser) a year ahead and a year back, side by
# side, each with its own Redis databases and temporary folder (PostgreSQL databases are
# throwaway per run already); each run's output is printed whole once both have ended.
# Usage: tests/clock_runs.sh PYTEST [pytest arguments...]
set -uo pipefail
pytest_bin="$1"
shift
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

run() {  # name, days, test Redis db, faults Redis db
    local name="$1" days="$2" db="$3" faults_db="$4"
    shift 4
    ROSHNI_TEST_CLOCK_SHIFT_DAYS="$days" \
    ROSHNI_TEST_REDIS="redis://127.0.0.1:6379/$db" \
    ROSHNI_FAULTS_REDIS="redis://127.0.0.1:6379/$faults_db" \
        "$pytest_bin" -m "not browser" -q -p no:cacheprovider \
        --basetemp="$logs/$name-tmp" "$@" >"$logs/$name.log" 2>&1
}

run ahead 365 9 8 "$@" &
ahead=$!
run back -365 14 15 "$@" &
back=$!
wait "$ahead"
ahead_rc=$?
wait "$back"
back_rc=$?

echo "== the clock a year ahead (ROSHNI_TEST_CLOCK_SHIFT_DAYS=365): exit $ahead_rc"
cat "$logs/ahead.log"
echo "== the clock a year back (ROSHNI_TEST_CLOCK_SHIFT_DAYS=-365): exit $back_rc"
cat "$logs/back.log"
[ "$ahead_rc" -eq 0 ] && [ "$back_rc" -eq 0 ]
