"""The patient history page for ``bench.admin``: two patients of the big clinic, one with
200 sessions (each with a signed record, a progress note on every fourth, two goals
measured along the way) and one with three, copied in with ``COPY`` like the rest.

Their sessions are at 06:00 and 07:00 in the clinic's zone, before the therapists' working hours
where the benchmark's own sessions are, so that none overlaps. The page is
``/admin/patient/clinical/<id>`` as the big clinic's admin sees it; its statement count
for the two patients must be the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bench.bulk import copy_rows, next_id
from core.db import Database
from models import (
    Appointment,
    AppointmentStatus,
    BookingSource,
    Contact,
    Goal,
    GoalMeasure,
    GoalStatus,
    GoalTerm,
    Location,
    Patient,
    ProgressNote,
    RecordStatus,
    Relation,
    Service,
    SessionRecord,
    StaffUser,
    Therapist,
)

LONG_HISTORY = 200
SHORT_HISTORY = 3
NOTE_EVERY = 4


@dataclass
class HistoryPatients:
    short_id: int
    long_id: int
    sessions: tuple[int, int] = (SHORT_HISTORY, LONG_HISTORY)


def build_history_patients(
    database: Database, clinic_id: int, admin_email: str, now: datetime, zone: str
) -> HistoryPatients:
    """The two patients and their clinical histories, in the big clinic."""
    with database.session_scope() as session:
        admin_id = session.scalar(select(StaffUser.id).where(StaffUser.email == admin_email))
        location_id = session.scalar(
            select(Location.id).where(Location.clinic_id == clinic_id).order_by(Location.id)
        )
        therapists = session.execute(
            select(Therapist.id, Service.id, Service.duration_minutes)
            .join(Service, Service.specialization == Therapist.specialization)
            .where(Therapist.clinic_id == clinic_id, Service.clinic_id == clinic_id)
            .order_by(Therapist.id)
            .limit(2)
        ).all()
    ids = {
        model: next_id(database, model)
        for model in (Contact, Patient, Appointment, SessionRecord, ProgressNote, Goal, GoalMeasure)
    }
    contact_id, short_id, long_id = ids[Contact], ids[Patient], ids[Patient] + 1
    copy_rows(
        database,
        Contact,
        [
            {
                "id": contact_id,
                "clinic_id": clinic_id,
                "phone": "+919199999999",
                "name": "History Guardian",
                "language": "en",
                "consent_at": now - timedelta(days=500),
                "consent_version": "1",
            }
        ],
        now,
    )
    copy_rows(
        database,
        Patient,
        [
            {
                "id": pid,
                "clinic_id": clinic_id,
                "contact_id": contact_id,
                "name": name,
                "relation": Relation.CHILD,
                "active": True,
            }
            for pid, name in ((short_id, "Short History"), (long_id, "Long History"))
        ],
        now,
    )
    rows: dict[Any, list[dict[str, Any]]] = {
        m: [] for m in (Appointment, SessionRecord, ProgressNote, Goal, GoalMeasure)
    }
    local = ZoneInfo(zone)
    today = now.astimezone(local).date()
    for patient_id, count, hour in ((short_id, SHORT_HISTORY, 6), (long_id, LONG_HISTORY, 7)):
        goal_ids = [ids[Goal], ids[Goal] + 1]
        ids[Goal] += 2
        for n, goal_id in enumerate(goal_ids):
            rows[Goal].append(
                {
                    "id": goal_id,
                    "clinic_id": clinic_id,
                    "patient_id": patient_id,
                    "set_by_id": admin_id,
                    "term": GoalTerm.LONG if n == 0 else GoalTerm.SHORT,
                    "behaviour": f"Bench goal {n + 1}",
                    "measure": "% correct of 10 tries",
                    "baseline": 10.0,
                    "target": 90.0,
                    "status": GoalStatus.ACTIVE,
                    "created_at": now - timedelta(days=count * 2 + 10),
                }
            )
        for k in range(count):
            day = today - timedelta(days=1 + 2 * (count - 1 - k))  # oldest first, to yesterday
            therapist_id, service_id, minutes = therapists[k % len(therapists)]
            start = datetime.combine(day, time(hour), tzinfo=local).astimezone(UTC)
            end = start + timedelta(minutes=minutes)
            appt_id, record_id = ids[Appointment], ids[SessionRecord]
            ids[Appointment] += 1
            ids[SessionRecord] += 1
            number = f"HIST-{patient_id}-{k:05d}"
            rows[Appointment].append(
                {
                    "id": appt_id,
                    "clinic_id": clinic_id,
                    "number": number,
                    "patient_id": patient_id,
                    "therapist_id": therapist_id,
                    "service_id": service_id,
                    "location_id": location_id,
                    "start_at": start,
                    "end_at": end,
                    "status": AppointmentStatus.COMPLETED,
                    "price_minor": 0,
                    "payment_status": "not_required",
                    "source": BookingSource.ADMIN,
                    "overlap_key": number,
                    "created_by": "bench",
                    "completed_at": end,
                }
            )
            rows[SessionRecord].append(
                {
                    "id": record_id,
                    "clinic_id": clinic_id,
                    "appointment_id": appt_id,
                    "patient_id": patient_id,
                    "author_id": admin_id,
                    "subjective": "Mother says practice went well this week.",
                    "objective": f"{k % 10}/10 target words correct in sentences.",
                    "assessment": "Steady progress on the target sound in words and phrases.",
                    "plan": "Continue; add blends next session.",
                    "status": RecordStatus.SIGNED,
                    "signed_at": end,
                    "signed_by_id": admin_id,
                    "created_at": end,
                    "updated_at": end,
                }
            )
            if k % NOTE_EVERY == 0:
                rows[ProgressNote].append(
                    {
                        "id": ids[ProgressNote],
                        "clinic_id": clinic_id,
                        "appointment_id": appt_id,
                        "patient_id": patient_id,
                        "author_id": admin_id,
                        "body": "Guardian called: home practice done daily.",
                        "created_at": end + timedelta(hours=2),
                        "updated_at": end + timedelta(hours=2),
                    }
                )
                ids[ProgressNote] += 1
            for n, goal_id in enumerate(goal_ids):
                if n and k % 2:
                    continue  # the step is measured every other session
                rows[GoalMeasure].append(
                    {
                        "id": ids[GoalMeasure],
                        "clinic_id": clinic_id,
                        "goal_id": goal_id,
                        "record_id": record_id,
                        "value": min(90.0, 10.0 + k * 0.4),
                        "measured_at": start,
                        "created_at": end,
                    }
                )
                ids[GoalMeasure] += 1
    for model in (Appointment, SessionRecord, ProgressNote, Goal, GoalMeasure):
        copy_rows(database, model, rows[model], now)
    return HistoryPatients(short_id, long_id)


def history_urls(patients: HistoryPatients) -> list[tuple[str, str]]:
    """(label, url) for the two patients' clinical pages."""
    short, long = patients.sessions
    return [
        (f"{short} sessions", f"/admin/patient/clinical/{patients.short_id}"),
        (f"{long} sessions", f"/admin/patient/clinical/{patients.long_id}"),
    ]
