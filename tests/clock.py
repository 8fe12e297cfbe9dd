"""The suite's clock: frozen where a test pins dates, movable for a whole run.

Tests that pin dates (``NOW`` in conftest) must not meet the real clock halfway, e.g. a
row's ``created_at`` stamped today while the code under test is told it is 23 Nov 2026.
Such tests take the ``frozen_clock`` fixture, which moves this process's clock (every
``datetime.now``, ``date.today`` and ``time.time``) to ``NOW`` and lets it tick.

To prove that no test depends on the day it runs, ``make test-clock`` runs the suite
with ``ROSHNI_TEST_CLOCK_SHIFT_DAYS=365`` and ``-365``: the whole pytest process then
lives a year ahead or a year back. Subprocesses a test starts (workers, the CLI) start
through ``python_command``, which moves their clock by the same days, so every process
of the run agrees on the date.
"""

from __future__ import annotations

import os
import runpy
import sys
from datetime import UTC, datetime, timedelta

import time_machine

SHIFT_ENV = "ROSHNI_TEST_CLOCK_SHIFT_DAYS"


def shift_days() -> int:
    raw = os.environ.get(SHIFT_ENV, "").strip()
    return int(raw) if raw else 0


def start_shift() -> time_machine.travel | None:
    """Move this process's clock by ``ROSHNI_TEST_CLOCK_SHIFT_DAYS`` days (if set)."""
    days = shift_days()
    if not days:
        return None
    traveller = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
    traveller.start()
    return traveller


def python_command(module: str, *args: str) -> list[str]:
    """``python -m module args…``, under the run's clock shift when there is one."""
    if shift_days():
        return [sys.executable, "-m", "tests.clock", module, *args]
    return [sys.executable, "-m", module, *args]


if __name__ == "__main__":
    # python -m tests.clock MODULE ARGS…: run MODULE as __main__ with the shifted clock.
    start_shift()
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
