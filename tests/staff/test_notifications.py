"""A therapist is told of new, moved and cancelled sessions of their patients and of
reschedule requests: always in the panel, by WhatsApp where the clinic turns it on and
they opted in with a phone.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata; times are clinic-local (tests/outbox.py).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import (
    AuditLog,
    Channel,
    Contact,
    MessageKind,
    NotificationKind,
    OutboundMessage,
    Role,
    StaffNotification,
    StaffUser,
    Therapist,
)
from services.audit import Actor
from services.errors import InvalidInput, InvalidPhone
from services.messaging.rendering import compose
from services.scheduling.appointments import cancel_appointment, reschedule_appointment
from services.scheduling.reschedule_requests import request_reschedule
from services.staff import notifications
from services.staff.notifications import mark_all_read, notifications_for, set_whatsapp_choice
from tests.conftest import NOW, SYSTEM, staff_logins
from tests.outbox import SUNRISE, book, ist, seed

PASSWORD = "correct-horse-battery"
TUE_10 = ist(24, 10)
THU_16 = ist(26, 16)
PHONE = "+919812345678"


@pytest.fixture
def clinic(session):
    return seed(session)


@pytest.fixture
def staff(session, clinic):
    """One login per role; the therapist login is Dr. Priya Nair's (the speech therapist)."""
    users = staff_logins(session, clinic.id, password=PASSWORD, domain="roshni.test")
    priya = session.scalar(
        select(Therapist).where(
            Therapist.clinic_id == clinic.id, Therapist.name == "Dr. Priya Nair"
        )
    )
    priya.staff_user_id = users[Role.THERAPIST].id
    session.commit()
    return users


@pytest.fixture
def patient(clinic, make_patient):
    return make_patient(clinic, name="Aarav Sharma")


def told(session, user: StaffUser) -> list[tuple[NotificationKind, int]]:
    rows = session.scalars(
        select(StaffNotification)
        .where(StaffNotification.staff_user_id == user.id)
        .order_by(StaffNotification.id)
    ).all()
    return [(row.kind, row.appointment_id) for row in rows]


def staff_whatsapps(session) -> list[OutboundMessage]:
    return list(
        session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.template_key.like("staff_notice_%"))
            .order_by(OutboundMessage.id)
        )
    )


def test_a_booking_by_the_desk_tells_the_therapist_in_the_panel(session, clinic, staff, patient):
    operator = Actor.staff(staff[Role.OPERATOR].id)
    appointment = book(session, clinic, patient, TUE_10, actor=operator)
    assert told(session, staff[Role.THERAPIST]) == [(NotificationKind.BOOKED, appointment.id)]
    assert told(session, staff[Role.OPERATOR]) == []
    assert staff_whatsapps(session) == []  # the clinic has not turned WhatsApp on


def test_a_booking_from_the_chat_tells_the_therapist(session, clinic, staff, patient):
    appointment = book(session, clinic, patient, TUE_10, actor=Actor.contact(patient.contact_id))
    assert told(session, staff[Role.THERAPIST]) == [(NotificationKind.BOOKED, appointment.id)]


def test_the_therapists_own_actions_tell_nobody(session, clinic, staff, patient):
    me = Actor.staff(staff[Role.THERAPIST].id)
    appointment = book(session, clinic, patient, TUE_10, actor=me)
    reschedule_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_start=THU_16,
        now=NOW,
        actor=me,
    )
    cancel_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=NOW, actor=me
    )
    assert session.scalars(select(StaffNotification)).all() == []


def test_moves_and_cancellations_are_told(session, clinic, staff, patient):
    admin = Actor.staff(staff[Role.ADMIN].id)
    appointment = book(session, clinic, patient, TUE_10, actor=SYSTEM)
    reschedule_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_start=THU_16,
        now=NOW,
        actor=admin,
    )
    cancel_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=NOW, actor=admin
    )
    assert told(session, staff[Role.THERAPIST]) == [
        (NotificationKind.BOOKED, appointment.id),
        (NotificationKind.MOVED, appointment.id),
        (NotificationKind.CANCELLED, appointment.id),
    ]


def test_a_request_awaiting_a_decision_is_told(session, clinic, staff, patient):
    appointment = book(session, clinic, patient, TUE_10, actor=SYSTEM)
    request_reschedule(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        proposed_start=None,
        note="Can we move it?",
        now=NOW,
        actor=Actor.contact(patient.contact_id),
    )
    session.commit()
    assert told(session, staff[Role.THERAPIST])[-1] == (NotificationKind.REQUEST, appointment.id)


def test_another_clinics_staff_are_never_told(session, clinic, staff, patient, make_patient):
    sunrise = seed(session, SUNRISE)
    theirs = staff_logins(session, sunrise.id, password=PASSWORD, domain="sunrise.test")
    emma = session.scalar(select(Therapist).where(Therapist.name == "Emma Clarke"))
    emma.staff_user_id = theirs[Role.THERAPIST].id
    session.commit()
    book(session, clinic, patient, TUE_10, actor=SYSTEM)
    for user in theirs.values():
        assert told(session, user) == []
        assert notifications_for(session, sunrise.id, user.id) == []
    # Nor is a login of another clinic linked (wrongly) to this clinic's therapist.
    priya = session.scalar(select(Therapist).where(Therapist.name == "Dr. Priya Nair"))
    priya.staff_user_id = theirs[Role.ADMIN].id
    session.commit()
    book(session, clinic, make_patient(clinic, name="Diya"), THU_16, actor=SYSTEM)
    assert told(session, theirs[Role.ADMIN]) == []


@pytest.mark.parametrize(
    ("setting", "opted_in", "phone"),
    [(False, True, PHONE), (True, False, PHONE), (True, False, None), (True, True, PHONE)],
)
def test_whatsapp_only_with_the_setting_the_opt_in_and_a_phone(
    session, clinic, staff, patient, setting, opted_in, phone
):
    therapist_user = staff[Role.THERAPIST]
    if phone or opted_in:
        set_whatsapp_choice(
            session,
            user_id=therapist_user.id,
            phone=phone,
            notify_whatsapp=opted_in,
            actor=Actor.staff(therapist_user.id),
        )
    clinic.policy.tell_therapists_by_whatsapp = setting
    session.commit()
    book(session, clinic, patient, TUE_10, actor=SYSTEM)
    sent = staff_whatsapps(session)
    if not (setting and opted_in and phone):
        assert sent == []
        return
    (message,) = sent
    assert message.channel is Channel.WHATSAPP
    assert message.kind is MessageKind.NOTICE
    assert message.template_key == "staff_notice_booked"
    assert message.appointment_id is None  # not in the patient's message log
    contact = session.get(Contact, message.contact_id)
    assert contact.phone == PHONE and contact.clinic_id == clinic.id
    assert set(message.variables) == {"first_name", "when"}
    text, _ = compose(message, clinic, contact, None, now=NOW)
    assert "Aarav" in text and "Tue 24 Nov, 10:00 am" in text and "Roshni Clinic" in text
    for clinical in ("Sharma", "Speech", "Therapy", "Priya", "Asha"):
        assert clinical not in text


def test_the_whatsapp_goes_to_the_contact_the_phone_already_is(session, clinic, staff, patient):
    """A therapist who already wrote to the clinic is that contact: one row per number."""
    therapist_user = staff[Role.THERAPIST]
    guardian = session.get(Contact, patient.contact_id)
    set_whatsapp_choice(
        session,
        user_id=therapist_user.id,
        phone=guardian.phone,
        notify_whatsapp=True,
        actor=Actor.staff(therapist_user.id),
    )
    clinic.policy.tell_therapists_by_whatsapp = True
    session.commit()
    book(session, clinic, patient, TUE_10, actor=SYSTEM)
    (message,) = staff_whatsapps(session)
    assert message.contact_id == guardian.id


def test_my_whatsapp_choice_is_validated_and_audited(session, clinic, staff):
    user = staff[Role.THERAPIST]
    me = Actor.staff(user.id)
    with pytest.raises(InvalidInput):
        set_whatsapp_choice(session, user_id=user.id, phone="", notify_whatsapp=True, actor=me)
    with pytest.raises(InvalidPhone):
        set_whatsapp_choice(
            session, user_id=user.id, phone="12345", notify_whatsapp=False, actor=me
        )
    set_whatsapp_choice(
        session, user_id=user.id, phone="098123 45678", notify_whatsapp=True, actor=me
    )
    session.refresh(user)
    assert (user.phone, user.notify_whatsapp) == (PHONE, True)
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "staff.notifications")).one()
    assert audit.actor_id == user.id and audit.after["notify_whatsapp"] is True


def test_mark_all_read_marks_only_my_own(session, clinic, staff, patient, make_patient):
    therapist_user, operator = staff[Role.THERAPIST], staff[Role.OPERATOR]
    rahul = session.scalar(select(Therapist).where(Therapist.name == "Rahul Mehta"))
    rahul.staff_user_id = operator.id  # the operator is a therapist too
    session.commit()
    book(session, clinic, patient, TUE_10, actor=SYSTEM)
    book(
        session,
        clinic,
        make_patient(clinic, name="Diya"),
        TUE_10,
        actor=SYSTEM,
        service="Occupational Therapy Session",
    )
    assert len(told(session, operator)) == 1
    marked = mark_all_read(
        session,
        clinic_id=clinic.id,
        staff_user_id=therapist_user.id,
        now=NOW,
        actor=Actor.staff(therapist_user.id),
    )
    assert marked == 1
    unread = {
        row.staff_user_id
        for row in session.scalars(
            select(StaffNotification).where(StaffNotification.read_at.is_(None))
        )
    }
    assert unread == {operator.id}
    count = session.scalar(select(notifications.unread_count(clinic.id, operator.id)))
    assert count == 1
    assert session.scalar(select(notifications.unread_count(clinic.id, therapist_user.id))) == 0


def test_the_list_is_unread_first(session, clinic, staff, patient):
    user = staff[Role.THERAPIST]
    first = book(session, clinic, patient, TUE_10, actor=SYSTEM)
    mark_all_read(session, clinic_id=clinic.id, staff_user_id=user.id, now=NOW, actor=SYSTEM)
    cancel_appointment(session, clinic_id=clinic.id, appointment_id=first.id, now=NOW, actor=SYSTEM)
    rows = notifications_for(session, clinic.id, user.id)
    assert [(r.kind, r.read_at is None) for r in rows] == [
        (NotificationKind.CANCELLED, True),
        (NotificationKind.BOOKED, False),
    ]
