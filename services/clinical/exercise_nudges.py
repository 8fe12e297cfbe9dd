"""Nudges for home exercises: placeholder until the nudge work lands (same session)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models import ExerciseAssignment


def schedule_nudges(session: Session, assignment: ExerciseAssignment, *, now: datetime) -> int:
    """Queue the assignment's nudges from now to its end; returns how many were queued."""
    return 0


def cancel_nudges(session: Session, assignment: ExerciseAssignment, *, now: datetime) -> int:
    """Cancel the assignment's nudges not yet sent; returns how many were cancelled."""
    return 0
