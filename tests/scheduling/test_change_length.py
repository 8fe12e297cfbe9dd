"""Dragging a session's end: ``change_length`` keeps a move's guarantees.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata (the demo clinic Roshni: weekdays
09:00-18:00, 45-minute speech sessions, 2 h minimum notice). A longer session must
still be free of the therapist's other sessions and inside their hours; staff may act
inside the notice; every change is audited, and the guardian and the therapist are told
the session's length changed (not that it moved).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import (
    Appointment,
    AuditLog,
    BookingSource,
    MessageKind,
    NotificationKind,
    Role,
    Service,
    StaffNotification,
    Therapist,
)
from services.audit import Actor
from services.errors import InvalidInput, OutsideHours, SlotTaken, TooLateToReschedule
from services.messaging.rendering import compose
from services.scheduling.appointments import book_appointment, change_length
from tests.conftest import NOW, staff_logins
from tests.outbox import ist, outbox, seed

STAFF = Actor.staff(1)


@pytest.fixture
def clinic(session):
    return seed(session)


@pytest.fixture
def patient(clinic, make_patient):
    return make_patient(clinic)


def book(session, clinic, patient, start, *, therapist_id=None) -> Appointment:
    service_id = session.scalar(
        select(Service.id).where(
            Service.clinic_id == clinic.id, Service.name == "Speech Therapy Session"
        )
    )
    return book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service_id,
        therapist_id=therapist_id,
        start=start,
        now=NOW,
        actor=STAFF,
        source=BookingSource.ADMIN,
    )


def resize(session, clinic, appointment, new_end, *, actor=STAFF) -> Appointment:
    return change_length(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_end=new_end,
        now=NOW,
        actor=actor,
    )


def audits(session, appointment) -> list[AuditLog]:
    return list(
        session.scalars(
            select(AuditLog)
            .where(
                AuditLog.action == "appointment.change_length",
                AuditLog.entity_id == str(appointment.id),
            )
            .order_by(AuditLog.id)
        )
    )


def notices(session, appointment) -> list[str]:
    rows = outbox(session, appointment_id=appointment.id, kind=MessageKind.NOTICE)
    return [row.template_key for row in rows]


def test_staff_lengthen_and_shorten_a_session_audited_and_the_guardian_told(
    session, clinic, patient
):
    appointment = book(session, clinic, patient, ist(25, 11))
    assert appointment.end_at == ist(25, 11, 45)

    resize(session, clinic, appointment, ist(25, 12, 30))

    session.expire_all()
    row = session.get(Appointment, appointment.id)
    assert (row.start_at, row.end_at) == (ist(25, 11), ist(25, 12, 30))
    [audit] = audits(session, row)
    assert (audit.actor_type.value, audit.actor_id) == ("staff", 1)
    assert audit.before["end_at"] != audit.after["end_at"]
    assert notices(session, row) == ["notice_booked", "notice_length_changed"]

    resize(session, clinic, row, ist(25, 11, 30))
    session.expire_all()
    assert session.get(Appointment, appointment.id).end_at == ist(25, 11, 30)
    assert len(audits(session, row)) == 2


def test_a_longer_session_that_would_clash_is_refused_and_nothing_changes(
    session, clinic, patient, make_patient
):
    first = book(session, clinic, patient, ist(25, 11))
    book(session, clinic, make_patient(clinic), ist(25, 12), therapist_id=first.therapist_id)

    with pytest.raises(SlotTaken):
        resize(session, clinic, first, ist(25, 12, 15))

    session.expire_all()
    assert session.get(Appointment, first.id).end_at == ist(25, 11, 45)
    assert audits(session, first) == []
    assert notices(session, first) == ["notice_booked"]


def test_a_session_longer_than_the_therapist_s_day_is_refused(session, clinic, patient):
    late = book(session, clinic, patient, ist(25, 17))

    with pytest.raises(OutsideHours):
        resize(session, clinic, late, ist(25, 18, 30))  # the clinic closes at 18:00

    session.expire_all()
    assert session.get(Appointment, late.id).end_at == ist(25, 17, 45)
    assert audits(session, late) == []


def test_staff_may_resize_inside_the_notice_patients_may_not(session, clinic, patient):
    soon = book(session, clinic, patient, ist(23, 10))  # an hour from now

    resize(session, clinic, soon, ist(23, 11))
    assert soon.end_at == ist(23, 11)

    with pytest.raises(TooLateToReschedule):
        resize(session, clinic, soon, ist(23, 10, 45), actor=Actor.contact(patient.contact_id))
    with pytest.raises(InvalidInput):
        resize(session, clinic, soon, ist(23, 10))  # ends as it starts
    session.expire_all()
    assert session.get(Appointment, soon.id).end_at == ist(23, 11)


def test_the_therapist_is_told_of_the_new_length(session, clinic, patient):
    users = staff_logins(session, clinic.id, password="correct-horse-battery", domain="r.test")
    appointment = book(session, clinic, patient, ist(25, 11))
    therapist = session.get(Therapist, appointment.therapist_id)
    therapist.staff_user_id = users[Role.THERAPIST].id
    session.commit()

    resize(session, clinic, appointment, ist(25, 12), actor=Actor.staff(users[Role.ADMIN].id))

    kinds = session.scalars(
        select(StaffNotification.kind).where(
            StaffNotification.staff_user_id == users[Role.THERAPIST].id,
            StaffNotification.appointment_id == appointment.id,
        )
    ).all()
    assert kinds == [NotificationKind.RESIZED]


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        (
            "en",
            "Roshni Clinic changed the length of {patient}'s Speech Therapy Session "
            "on Wed 25 Nov, 11:00 am with {therapist} ({number}): it now ends at 12:30 pm.",
        ),
        (
            "hi",
            "Roshni Clinic ने {patient} के Speech Therapy Session (बुध, 25 नव॰, "
            "11:00 am, {therapist} के साथ, {number}) की अवधि बदल दी है: अब यह 12:30 pm पर "
            "ख़त्म होगा।",
        ),
    ],
)
def test_the_guardian_reads_that_the_length_changed_not_that_it_moved(
    session, clinic, patient, language, sentence
):
    patient.contact.language = language
    appointment = book(session, clinic, patient, ist(25, 11))

    resize(session, clinic, appointment, ist(25, 12, 30))

    [told] = [
        m
        for m in outbox(session, appointment_id=appointment.id)
        if m.template_key == "notice_length_changed"
    ]
    text, _values = compose(told, clinic, patient.contact, appointment, now=NOW)
    therapist = session.get(Therapist, appointment.therapist_id).name
    expected = sentence.format(patient=patient.name, therapist=therapist, number=appointment.number)
    assert text.startswith(expected), text
    assert "moved" not in text
