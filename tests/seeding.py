"""Seeding helpers shared by the tests and the benches (bench/*.py): plain functions on a
Session that go through the service verbs, so they need no pytest fixture."""

from __future__ import annotations

from datetime import time

from sqlalchemy.orm import Session

from models import Therapist
from services.audit import Actor
from services.clinics import catalog


def add_therapist(
    session: Session,
    *,
    clinic_id: int,
    location_id: int,
    name: str,
    specialization: str,
    hours: dict[int, tuple[time, time]],
    actor: Actor | None = None,
) -> Therapist:
    """A therapist working ``hours`` ({weekday: (start, end)}) at ``location_id``."""
    actor = actor or Actor.system()
    therapist = catalog.create_therapist(
        session, clinic_id=clinic_id, name=name, specialization=specialization, actor=actor
    )
    for weekday, (start, end) in hours.items():
        catalog.add_weekly_hours(
            session,
            clinic_id=clinic_id,
            therapist_id=therapist.id,
            location_id=location_id,
            weekday=weekday,
            start=start,
            end=end,
            actor=actor,
        )
    return therapist
