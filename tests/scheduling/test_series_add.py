"""Taking a clash's alternative into the course (services.scheduling.series.add_to_series):
the course's patient, service and therapist, joined to the course, audited; another
clinic's course is not found. Dates are pinned around ``NOW`` (Monday 23 Nov 2026)."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from models import AuditLog, BookingSource, ExceptionKind
from services.clinics.catalog import add_exception
from services.errors import NotFound, SlotTaken
from services.scheduling.series import Pattern, add_to_series, book_series
from tests.conftest import NOW
from tests.scheduling.booking_support import (  # noqa: F401  (fixtures)
    STAFF,
    book,
    clinic,
    ist,
    patient,
    reloaded,
    service,
    therapist,
)

# ruff: noqa: F811  (the fixtures imported from booking_support)

NEXT_MON = date(2026, 11, 30)


@pytest.fixture
def clashing_course(session, clinic, patient, service, therapist):
    """Four Mondays at 5; the therapist is away on the second."""
    add_exception(
        session,
        clinic_id=clinic.id,
        kind=ExceptionKind.CLOSED,
        therapist_id=therapist.id,
        start_date=NEXT_MON + timedelta(weeks=1),
        end_date=NEXT_MON + timedelta(weeks=1),
        actor=STAFF,
    )
    return book_series(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        therapist_id=therapist.id,
        pattern=Pattern(weekdays=(0,), local_time=time(17), first_date=NEXT_MON, sessions=4),
        now=NOW,
        actor=STAFF,
        source=BookingSource.ADMIN,
    )


def test_an_alternative_joins_the_course(session, clinic, patient, therapist, clashing_course):
    (clash,) = clashing_course.clashes
    alternative = clash.alternatives[0]

    added = add_to_series(
        session,
        clinic_id=clinic.id,
        series_id=clashing_course.series.id,
        start=alternative.start,
        now=NOW,
        actor=STAFF,
    )

    added = reloaded(session, added)
    assert added.series_id == clashing_course.series.id
    assert (added.patient_id, added.therapist_id) == (patient.id, therapist.id)
    assert added.start_at == alternative.start
    actions = session.scalars(
        select(AuditLog.action)
        .where(
            AuditLog.entity_id == str(added.id),
            AuditLog.action.in_(("appointment.book", "series.add")),
        )
        .order_by(AuditLog.id)
    ).all()
    assert actions == ["appointment.book", "series.add"]


def test_a_taken_alternative_books_nothing(session, clinic, service, make_patient, clashing_course):
    (clash,) = clashing_course.clashes
    start = clash.alternatives[0].start
    book(session, clinic, make_patient(clinic, name="Kabir"), service, start)

    with pytest.raises(SlotTaken):
        add_to_series(
            session,
            clinic_id=clinic.id,
            series_id=clashing_course.series.id,
            start=start,
            now=NOW,
            actor=STAFF,
        )
    assert (
        session.scalars(select(AuditLog.action).where(AuditLog.action == "series.add")).all() == []
    )


def test_another_clinics_course_is_not_found(session, make_clinic, clashing_course):
    other = make_clinic(name="Other", slug="other")
    with pytest.raises(NotFound):
        add_to_series(
            session,
            clinic_id=other.id,
            series_id=clashing_course.series.id,
            start=ist(NEXT_MON + timedelta(days=1), 17),
            now=NOW,
            actor=STAFF,
        )
