"""What an online session's messages say: the confirmation carries the link and no
address; a reminder far ahead says the session is online and that the link follows; the
link goes only in a reminder close to the start (2 hours or less), and a clinic whose
reminders are all far ahead gets one more, 15 minutes before, for online sessions.

The London demo clinic: Speech and Language Therapy is given in person or online, Jitsi
rooms. NOW is Monday 23 Nov 2026, 03:30 in London; times are clinic-local.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Appointment, BookingSource, Channel, MessageKind, Service
from services import audit
from services.audit import Actor
from services.clinics import catalog
from services.messaging.delivery import deliver
from services.messaging.rendering import shown_texts
from services.scheduling.appointments import book_appointment, reschedule_appointment
from tests.conftest import NOW, SYSTEM
from tests.outbox import SUNRISE, london, open_window, outbox, reminders, seed

STAFF = Actor.staff(1)
TUE_10 = london(24, 10)


@pytest.fixture
def clinic(session):
    return seed(session, SUNRISE)


@pytest.fixture
def patient(clinic, make_patient):
    return make_patient(clinic, phone="+447911123456")


def book(session, clinic, patient, start, *, online=True, actor=STAFF) -> Appointment:
    service_id = session.scalar(
        select(Service.id).where(
            Service.clinic_id == clinic.id, Service.name == "Speech and Language Therapy"
        )
    )
    return book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service_id,
        start=start,
        now=NOW,
        actor=actor,
        source=BookingSource.ADMIN,
        online=online,
    )


def texts(session, clinic, rows) -> list[str]:
    shown = shown_texts(session, clinic, rows)
    return [shown[row.id] for row in rows]


def test_the_staff_booking_notice_carries_the_link_and_no_address(session, clinic, patient):
    appointment = book(session, clinic, patient, TUE_10)
    (notice,) = texts(session, clinic, outbox(session, kind=MessageKind.NOTICE))
    assert notice.startswith("✅ Sunrise Therapy Centre booked Speech and Language Therapy")
    assert notice.endswith(
        f"💻 Online session (video call). Join here at the time: {appointment.video_url}"
    )
    assert "High Street" not in notice


def test_the_day_before_reminder_says_online_and_only_the_close_one_has_the_link(
    session, clinic, patient
):
    appointment = book(session, clinic, patient, TUE_10)
    rows = reminders(session)
    assert [r.due_at for r in rows] == [london(23, 10), london(24, 8)]  # 24 h and 2 h
    day_before, close = texts(session, clinic, rows)
    assert appointment.video_url not in day_before
    assert "💻 This is an online session (video call). We'll send the link shortly" in day_before
    assert f"Join here at the time: {appointment.video_url}" in close
    # the link sits above the reminder's choices
    assert close.endswith(f"{appointment.video_url}\n1. I'll be there\n2. Reschedule\n3. Cancel")


def test_the_close_reminder_goes_out_with_the_link(session, clinic, patient, sender, twilio):
    appointment = book(session, clinic, patient, TUE_10)
    close = reminders(session)[1]
    open_window(session, patient, close.due_at - timedelta(hours=1))
    deliver(session, close.id, now=close.due_at, sender=sender)
    assert appointment.video_url in twilio.sent[-1]["Body"]


def test_a_hindi_reminder_says_it_in_hindi(session, clinic, patient):
    patient.contact.language = "hi"
    session.commit()
    appointment = book(session, clinic, patient, TUE_10)
    day_before, close = texts(session, clinic, reminders(session))
    assert "यह ऑनलाइन सेशन (वीडियो कॉल) है। लिंक हम शुरू होने से थोड़ा पहले भेजेंगे।" in day_before
    assert f"समय पर यहाँ जुड़ें: {appointment.video_url}" in close


def _offsets(session, clinic, hours: list[int]) -> None:
    policy = clinic.policy
    before = audit.snapshot(policy)
    policy.reminder_offsets_hours = hours
    catalog.save_record(session, policy, clinic_id=clinic.id, actor=SYSTEM, before=before)


def test_with_only_far_reminders_an_online_session_gets_one_15_minutes_before(
    session, clinic, patient
):
    _offsets(session, clinic, [24])
    appointment = book(session, clinic, patient, TUE_10)
    rows = reminders(session)
    assert [r.due_at for r in rows] == [london(23, 10), london(24, 9, 45)]
    assert appointment.video_url in texts(session, clinic, rows)[1]


def test_an_in_person_session_gets_no_extra_reminder_and_no_online_line(session, clinic, patient):
    _offsets(session, clinic, [24])
    appointment = book(session, clinic, patient, TUE_10, online=False)
    assert appointment.video_url is None
    rows = reminders(session)
    assert [r.due_at for r in rows] == [london(23, 10)]
    (text,) = texts(session, clinic, rows)
    assert "online" not in text


def test_a_moved_online_session_keeps_its_link_and_the_notice_carries_it(session, clinic, patient):
    appointment = book(session, clinic, patient, TUE_10)
    link = appointment.video_url
    reschedule_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_start=london(25, 10),
        now=NOW,
        actor=STAFF,
    )
    session.expire_all()
    assert session.get(Appointment, appointment.id).video_url == link
    moved = outbox(session, template_key="notice_moved")
    assert link in texts(session, clinic, moved)[0]
    assert all(r.channel is Channel.WHATSAPP for r in moved)
