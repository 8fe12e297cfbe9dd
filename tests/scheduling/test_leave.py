"""The sessions a therapist's leave falls on (services.scheduling.leave): active sessions of
that therapist inside the dates (and hours, when the leave gives some); a clinic holiday
reaches every therapist. NOW is Monday 23 Nov 2026, 09:00 in Kolkata."""

from __future__ import annotations

from datetime import time

import pytest

from models import ExceptionKind
from services.clinics.catalog import add_exception
from services.errors import NotFound
from services.scheduling.appointments import cancel_appointment
from services.scheduling.leave import affected_by_leave
from tests.conftest import NOW
from tests.scheduling.booking_support import (  # noqa: F401  (fixtures)
    STAFF,
    THU,
    TUE,
    WED,
    book,
    clinic,
    ist,
    patient,
    service,
    therapist,
)

# ruff: noqa: F811  (the fixtures imported from booking_support)


def leave(session, clinic, therapist, first, last, **hours):
    return add_exception(
        session,
        clinic_id=clinic.id,
        kind=ExceptionKind.CLOSED,
        therapist_id=therapist.id if therapist is not None else None,
        start_date=first,
        end_date=last,
        actor=STAFF,
        **hours,
    )


@pytest.fixture
def colleague(clinic, make_therapist, service):
    return make_therapist(clinic, name="Dr. Ravi Menon")


def test_leave_lists_that_therapists_active_sessions_inside_its_dates(
    session, clinic, therapist, colleague, service, patient
):
    before = book(session, clinic, patient, service, ist(TUE, 10), therapist=therapist)
    first = book(session, clinic, patient, service, ist(WED, 10), therapist=therapist)
    last = book(session, clinic, patient, service, ist(THU, 17), therapist=therapist)
    book(session, clinic, patient, service, ist(WED, 11), therapist=colleague)
    gone = book(session, clinic, patient, service, ist(WED, 15), therapist=therapist)
    cancel_appointment(session, clinic_id=clinic.id, appointment_id=gone.id, now=NOW, actor=STAFF)
    away = leave(session, clinic, therapist, WED, THU)

    affected = affected_by_leave(session, clinic.id, away.id)

    assert [a.id for a in affected] == [first.id, last.id]
    assert before.id not in {a.id for a in affected}


def test_leave_for_some_hours_lists_only_the_sessions_in_them(
    session, clinic, therapist, service, patient
):
    morning = book(session, clinic, patient, service, ist(WED, 10), therapist=therapist)
    book(session, clinic, patient, service, ist(WED, 15), therapist=therapist)
    away = leave(session, clinic, therapist, WED, WED, start=time(9), end=time(13))

    assert [a.id for a in affected_by_leave(session, clinic.id, away.id)] == [morning.id]


def test_a_clinic_holiday_reaches_every_therapist(
    session, clinic, therapist, colleague, service, patient
):
    mine = book(session, clinic, patient, service, ist(WED, 10), therapist=therapist)
    theirs = book(session, clinic, patient, service, ist(WED, 11), therapist=colleague)
    holiday = leave(session, clinic, None, WED, WED)

    assert {a.id for a in affected_by_leave(session, clinic.id, holiday.id)} == {
        mine.id,
        theirs.id,
    }


def test_another_clinics_leave_is_not_found(session, clinic, therapist, make_clinic):
    away = leave(session, clinic, therapist, WED, WED)
    other = make_clinic(name="Other", slug="other")
    with pytest.raises(NotFound):
        affected_by_leave(session, other.id, away.id)
