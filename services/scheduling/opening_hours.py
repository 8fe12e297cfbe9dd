"""When the clinic is open: the union of its active therapists' working hours, less
clinic-wide closures, in the clinic's zone.

The clinic records no separate opening hours: it is open while someone works there.
This is what "a colleague will reply when we open" can honestly promise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clinic_time
from core.clock import require_aware
from models import Clinic, Therapist
from services.scheduling.availability import MINUTES_PER_DAY, load_rules

LOOK_AHEAD_DAYS = 14  # beyond this, "we'll reply when we open" says no day

Windows = list[tuple[int, int]]  # (start minute, end minute) after local midnight


@dataclass(frozen=True)
class Opening:
    """Whether the clinic is open at a moment and, when it is not, when it next opens."""

    open_now: bool
    opens_at: datetime | None = None  # aware, in the clinic's zone; None: open, or unknown


def open_windows(
    session: Session, clinic: Clinic, first_day: date, last_day: date
) -> dict[date, Windows]:
    """When the clinic is open on each date of the range: weekly hours, extra hours and
    closures applied exactly as the booking rules apply them, overlaps merged."""
    therapist_ids = list(
        session.scalars(
            select(Therapist.id).where(Therapist.clinic_id == clinic.id, Therapist.active)
        )
    )
    found: dict[date, Windows] = {}
    rules = (
        load_rules(session, clinic.id, therapist_ids, first_day, last_day, None)
        if therapist_ids
        else None
    )
    day = first_day
    while day <= last_day:
        spans = (
            [(s, e) for t in therapist_ids for _, s, e in rules.windows(t, day)] if rules else []
        )
        found[day] = _merge(spans)
        day += timedelta(days=1)
    return found


def clinic_opening(session: Session, clinic: Clinic, now: datetime) -> Opening:
    """Open at ``now``, or the next opening within two weeks (None when none is known)."""
    require_aware(now, "now")
    zone = clinic_time.zone_of(clinic.timezone)
    local = now.astimezone(zone)
    today = local.date()
    minute_now = local.hour * 60 + local.minute
    windows = open_windows(session, clinic, today, today + timedelta(days=LOOK_AHEAD_DAYS))
    for day, spans in windows.items():  # in date order
        for start, end in spans:
            if day == today and start <= minute_now < end:
                return Opening(open_now=True)
            if (day > today or start > minute_now) and start < MINUTES_PER_DAY:
                opens = clinic_time.at(day, time(start // 60, start % 60), zone)
                return Opening(open_now=False, opens_at=opens)
    return Opening(open_now=False)


def _merge(windows: Windows) -> Windows:
    merged: Windows = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
