"""When the clinic is open: the union of its active therapists' working hours, less
clinic-wide closures, in the clinic's zone.

The clinic records no separate opening hours: it is open while someone works there.
This is what "a colleague will reply when we open" can honestly promise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clinic_time
from core.clock import require_aware
from models import Clinic, Therapist
from services.scheduling.availability import MINUTES_PER_DAY, load_rules

LOOK_AHEAD_DAYS = 14  # beyond this, "we'll reply when we open" says no day


@dataclass(frozen=True)
class Opening:
    """Whether the clinic is open at a moment and, when it is not, when it next opens."""

    open_now: bool
    opens_at: datetime | None = None  # aware, in the clinic's zone; None: open, or unknown


def clinic_opening(session: Session, clinic: Clinic, now: datetime) -> Opening:
    """Open at ``now``, or the next opening within two weeks (None when none is known)."""
    require_aware(now, "now")
    zone = clinic_time.zone_of(clinic.timezone)
    local = now.astimezone(zone)
    therapist_ids = list(
        session.scalars(
            select(Therapist.id).where(Therapist.clinic_id == clinic.id, Therapist.active)
        )
    )
    if not therapist_ids:
        return Opening(open_now=False)
    first_day = local.date()
    last_day = first_day + timedelta(days=LOOK_AHEAD_DAYS)
    rules = load_rules(session, clinic.id, therapist_ids, first_day, last_day, None)
    minute_now = local.hour * 60 + local.minute
    day = first_day
    while day <= last_day:
        windows = sorted(
            (start, end) for tid in therapist_ids for _, start, end in rules.windows(tid, day)
        )
        for start, end in windows:
            if day == first_day and start <= minute_now < end:
                return Opening(open_now=True)
            if day > first_day or start > minute_now:
                if start >= MINUTES_PER_DAY:
                    continue
                opens = clinic_time.at(day, time(start // 60, start % 60), zone)
                return Opening(open_now=False, opens_at=opens)
        day += timedelta(days=1)
    return Opening(open_now=False)
