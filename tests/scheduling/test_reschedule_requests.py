"""Reschedule requests: a patient inside the window (in the chat) or a therapist for
their own session (in the panel) asks; the front desk approves or rejects.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata; the demo clinic's reschedule window
is 48 hours. Times are clinic-local (tests/outbox.py).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import (
    Appointment,
    AuditLog,
    MessageKind,
    OutboundStatus,
    RequesterType,
    RescheduleRequest,
    RescheduleStatus,
    Role,
    Therapist,
)
from services.audit import Actor
from services.errors import InvalidTransition, NotFound, SlotTaken
from services.messaging.delivery import deliver
from services.scheduling.appointments import cancel_appointment, reschedule_appointment
from services.scheduling.reschedule_requests import (
    RequestPending,
    RequestRefused,
    approve_request,
    reject_request,
    request_reschedule,
    withdraw_request,
)
from services.staff.accounts import create_staff_user
from tests.chat import Chat
from tests.conftest import NOW, SYSTEM, staff_logins
from tests.outbox import SUNRISE, book, ist, open_window, outbox, reminders, seed

QUEUED, CANCELLED, SENT = OutboundStatus.QUEUED, OutboundStatus.CANCELLED, OutboundStatus.SENT
PENDING, APPROVED = RescheduleStatus.PENDING, RescheduleStatus.APPROVED
REJECTED, WITHDRAWN = RescheduleStatus.REJECTED, RescheduleStatus.WITHDRAWN
TUE_10 = ist(24, 10)  # 25 hours ahead: inside the 48-hour window
THU_16 = ist(26, 16)
PASSWORD = "correct-horse-battery"


@pytest.fixture
def clinic(session):
    return seed(session)


@pytest.fixture
def patient(clinic, make_patient):
    return make_patient(clinic)


@pytest.fixture
def staff(session, clinic):
    """One login per role; the therapist login is Dr. Priya Nair's."""
    users = staff_logins(session, clinic.id, password=PASSWORD, domain="roshni.test")
    therapist(session, clinic, "Dr. Priya Nair").staff_user_id = users[Role.THERAPIST].id
    session.commit()
    return users


def therapist(session, clinic, name: str) -> Therapist:
    return session.scalar(
        select(Therapist).where(Therapist.clinic_id == clinic.id, Therapist.name == name)
    )


def actor(user) -> Actor:
    return Actor.staff(user.id)


def ask(session, clinic, appointment, *, by: Actor, start=None, now=NOW, note=None):
    return request_reschedule(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        proposed_start=start,
        note=note,
        now=now,
        actor=by,
    )


def patient_asks(session, clinic, patient, appointment, start=None):
    return ask(session, clinic, appointment, by=Actor.contact(patient.contact_id), start=start)


def asked_to_move(session, clinic, patient, start=THU_16):
    """The patient's session on Tuesday at 10 (inside the window) and their request to move it
    to ``start`` (Thursday at 4 pm; None: any time)."""
    appointment = book(session, clinic, patient, TUE_10)
    return appointment, patient_asks(session, clinic, patient, appointment, start)


def approve(session, clinic, request, *, by: Actor, new_start=None, now=NOW):
    return approve_request(
        session, clinic_id=clinic.id, request_id=request.id, new_start=new_start, now=now, actor=by
    )


def reject(session, clinic, request, note: str, *, by: Actor, now=NOW):
    return reject_request(
        session, clinic_id=clinic.id, request_id=request.id, note=note, now=now, actor=by
    )


def withdraw(session, clinic, request, *, by: Actor, now=NOW):
    return withdraw_request(session, clinic_id=clinic.id, request_id=request.id, now=now, actor=by)


def audit_actions(session, entity_id: int | None = None) -> list[str]:
    session.commit()
    query = (
        select(AuditLog.action)
        .where(AuditLog.entity_type == "RescheduleRequest")
        .order_by(AuditLog.id)
    )
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == str(entity_id))
    return list(session.scalars(query))


def fresh(session, obj):
    """``obj`` as the database has it now (a new transaction sees other sessions' commits)."""
    session.commit()
    session.refresh(obj)
    return obj


# --- the chat ------------------------------------------------------------------------------------


@pytest.fixture
def chat(session, clinic):
    return Chat(session, clinic, now=NOW)


def book_tuesday_in_chat(chat: Chat) -> Appointment:
    chat.script("hi", "1", "Asha Verma", "Aarav, 12/03/2019")  # consent for a child, the child
    # booking follows registering: speech, Tue 24 9:00 (a typed time), confirm
    assert "✅ Booked!" in chat.script("1", "tomorrow 9am", "1")
    appointment = chat.session.scalar(select(Appointment))
    assert appointment.start_at == ist(24, 9)
    return appointment


def test_a_patient_asking_inside_the_window_in_chat_files_a_request(chat, session):
    appointment = book_tuesday_in_chat(chat)
    question = chat.say("reschedule")
    assert question.startswith(
        "That's within 48 hours, so the clinic needs to approve a change. "
        "Which time would suit you?"
    )
    # The session's usual time on the next days with room (not its own day).
    assert "1. Mon 23 Nov, 11:15 am\n2. Wed 25 Nov, 9:00 am\n3. Thu 26 Nov, 9:00 am" in question
    assert "4. Any time that suits the clinic\n5. Keep the current time" in question
    assert "like *Thu 5pm*" in question
    sent = chat.say("2")
    assert sent.startswith(
        "I've asked the clinic to move APT-2026-000001 to Wed 25 Nov, 9:00 am; "
        "you'll hear back here."
    )
    assert "1. Book a session" in sent  # never a dead end
    request = session.scalar(select(RescheduleRequest))
    assert request.status is PENDING
    assert request.requester_type is RequesterType.PATIENT
    assert request.requested_by == f"contact:{appointment.patient.contact_id}"
    assert request.proposed_start == ist(25, 9)
    assert request.original_start == ist(24, 9)
    assert fresh(session, appointment).start_at == ist(24, 9)  # nothing moves yet
    assert audit_actions(session) == ["reschedule_request.create"]
    row = session.scalar(select(AuditLog).where(AuditLog.action == "reschedule_request.create"))
    assert (row.actor_type.value, row.actor_id) == ("contact", appointment.patient.contact_id)


def test_a_free_text_time_that_is_taken_offers_the_nearest_free_ones(
    chat, session, clinic, make_patient
):
    book_tuesday_in_chat(chat)
    other = make_patient(clinic, name="Meera")
    book(session, clinic, other, ist(25, 17))
    chat.say("reschedule")
    offer = chat.say("wednesday 5pm")
    assert offer.startswith("Wed 25 Nov, 5:00 pm is not free. The nearest free times:")
    assert "1. Wed 25 Nov, 3:45 pm\n2. Wed 25 Nov, 4:00 pm\n3. Wed 25 Nov, 4:15 pm" in offer
    assert "Any time that suits the clinic" in offer
    assert session.scalar(select(func.count()).select_from(RescheduleRequest)) == 0
    assert "to Wed 25 Nov, 4:15 pm" in chat.say("3")
    assert session.scalar(select(RescheduleRequest)).proposed_start == ist(25, 16, 15)


def test_any_time_keep_and_a_second_ask_in_chat(chat, session):
    book_tuesday_in_chat(chat)
    chat.say("reschedule")
    assert chat.say("5").startswith("OK, your session stays booked.")
    assert session.scalar(select(func.count()).select_from(RescheduleRequest)) == 0

    chat.say("reschedule")
    sent = chat.say("whenever")
    assert sent.startswith("I've asked the clinic to find another time for APT-2026-000001")
    request = session.scalar(select(RescheduleRequest))
    assert request.proposed_start is None and request.note == "whenever"

    again = chat.say("reschedule")
    assert again.startswith("You've already asked to move APT-2026-000001")
    assert session.scalar(select(func.count()).select_from(RescheduleRequest)) == 1


def test_a_patient_outside_the_window_is_told_to_move_it_themself(session, clinic, patient):
    appointment = book(session, clinic, patient, ist(27, 10))
    with pytest.raises(RequestRefused, match="move it yourself"):
        patient_asks(session, clinic, patient, appointment, ist(26, 16))


def test_a_patient_cannot_ask_about_someone_elses_session(session, clinic, patient, make_patient):
    appointment = book(session, clinic, patient, TUE_10)
    stranger = make_patient(clinic, name="Meera")
    with pytest.raises(NotFound):
        patient_asks(session, clinic, stranger, appointment, ist(26, 16))


# --- deciding ------------------------------------------------------------------------------------


def test_approving_moves_the_session_and_its_reminders_and_tells_the_patient_once(
    session, clinic, patient, staff
):
    appointment, request = asked_to_move(session, clinic, patient)
    approved = approve(
        session, clinic, request, now=NOW + timedelta(hours=1), by=actor(staff[Role.OPERATOR])
    )
    assert approved.status is APPROVED
    assert approved.new_start == ist(26, 16)
    assert approved.decided_by == f"staff:{staff[Role.OPERATOR].id}"
    assert approved.decided_at == NOW + timedelta(hours=1)
    assert fresh(session, appointment).start_at == ist(26, 16)
    assert [(r.status, r.due_at) for r in reminders(session)] == [
        (CANCELLED, ist(23, 10)),
        (CANCELLED, ist(24, 8)),
        (QUEUED, ist(25, 16)),
        (QUEUED, ist(26, 14)),
    ]
    notices = outbox(session, kind=MessageKind.NOTICE)
    assert [n.template_key for n in notices] == ["notice_moved"]  # once, not twice
    assert audit_actions(session, request.id) == [
        "reschedule_request.create",
        "reschedule_request.approve",
    ]
    moved = session.scalar(select(AuditLog).where(AuditLog.action == "appointment.reschedule"))
    assert moved.actor_id == staff[Role.OPERATOR].id


def test_approving_any_time_needs_a_time_and_the_clinic_may_choose_another(
    session, clinic, patient, staff
):
    appointment, request = asked_to_move(session, clinic, patient, None)
    admin = actor(staff[Role.ADMIN])
    with pytest.raises(Exception, match="choose the new time"):
        approve(session, clinic, request, by=admin)
    approve(session, clinic, request, new_start=ist(27, 11), by=admin)
    assert fresh(session, appointment).start_at == ist(27, 11)
    assert fresh(session, request).new_start == ist(27, 11)


def test_approving_into_a_taken_slot_is_refused_with_alternatives_and_stays_pending(
    session, clinic, patient, make_patient, staff
):
    appointment, request = asked_to_move(session, clinic, patient)
    book(session, clinic, make_patient(clinic, name="Meera"), ist(26, 16))  # taken meanwhile
    notices_before = len(outbox(session, kind=MessageKind.NOTICE))
    with pytest.raises(SlotTaken) as refused:
        approve(session, clinic, request, by=actor(staff[Role.OPERATOR]))
    assert refused.value.alternatives  # the panel shows them
    assert all(s.start != ist(26, 16) for s in refused.value.alternatives)
    assert fresh(session, request).status is PENDING
    assert request.decided_at is None
    assert fresh(session, appointment).start_at == TUE_10
    assert len(outbox(session, kind=MessageKind.NOTICE)) == notices_before
    assert audit_actions(session, request.id) == ["reschedule_request.create"]


def test_rejecting_with_a_note_tells_the_patient_the_note(
    session, clinic, patient, staff, sender, twilio
):
    appointment, request = asked_to_move(session, clinic, patient)
    with pytest.raises(Exception, match="note"):
        reject(session, clinic, request, "  ", by=actor(staff[Role.ADMIN]))
    reject(
        session,
        clinic,
        request,
        "Dr. Nair is fully booked on Thursday.",
        by=actor(staff[Role.ADMIN]),
    )
    assert fresh(session, request).status is REJECTED
    assert request.decision_note == "Dr. Nair is fully booked on Thursday."
    assert fresh(session, appointment).start_at == TUE_10  # unchanged
    (notice,) = outbox(session, kind=MessageKind.NOTICE)
    assert notice.template_key == "notice_reschedule_declined"
    open_window(session, patient, NOW)
    assert deliver(session, notice.id, now=NOW, sender=sender) is SENT
    body = twilio.sent[0]["Body"]
    assert body.startswith("Roshni Clinic could not move Aarav's Speech Therapy Session")
    assert "Dr. Nair is fully booked on Thursday." in body
    assert audit_actions(session, request.id)[-1] == "reschedule_request.reject"


def test_only_the_front_desk_decides(session, clinic, patient, staff):
    _, request = asked_to_move(session, clinic, patient)
    for role in (Role.THERAPIST, Role.ACCOUNTANT):
        with pytest.raises(RequestRefused):
            approve(session, clinic, request, by=actor(staff[role]))
    with pytest.raises(RequestRefused):
        approve(session, clinic, request, by=Actor.contact(patient.contact_id))
    assert fresh(session, request).status is PENDING


def test_a_withdrawn_request_cannot_be_approved(session, clinic, patient, staff):
    appointment, request = asked_to_move(session, clinic, patient)
    withdraw(session, clinic, request, by=Actor.contact(patient.contact_id))
    assert fresh(session, request).status is WITHDRAWN
    with pytest.raises(InvalidTransition, match="already withdrawn"):
        approve(session, clinic, request, by=actor(staff[Role.ADMIN]))
    assert fresh(session, appointment).start_at == TUE_10


def test_cancelling_the_session_withdraws_its_pending_request(session, clinic, patient, staff):
    appointment, request = asked_to_move(session, clinic, patient)

    cancel_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        now=NOW,
        actor=actor(staff[Role.ADMIN]),
        reason="family emergency",
    )

    withdrawn = fresh(session, request)
    assert (withdrawn.status, withdrawn.decision_note) == (WITHDRAWN, "the session was cancelled")


# --- one pending request per appointment ---------------------------------------------------------


def test_one_pending_request_per_appointment(session, clinic, patient, staff):
    appointment, first = asked_to_move(session, clinic, patient)
    with pytest.raises(RequestPending):
        patient_asks(session, clinic, patient, appointment, ist(27, 16))
    reject(session, clinic, first, "Not that day, sorry.", by=actor(staff[Role.OPERATOR]))
    second = patient_asks(session, clinic, patient, appointment, ist(27, 16))  # asking again
    assert second.status is PENDING
    assert session.scalar(select(func.count()).select_from(RescheduleRequest)) == 2


def test_the_database_refuses_a_second_pending_request(session, clinic, patient):
    appointment, request = asked_to_move(session, clinic, patient)
    session.add(
        RescheduleRequest(
            clinic_id=clinic.id,
            appointment_id=appointment.id,
            requested_by=request.requested_by,
            requester_type=RequesterType.PATIENT,
            original_start=TUE_10,
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


# --- therapists ----------------------------------------------------------------------------------


def test_a_therapist_asks_for_their_own_sessions_at_least_48_hours_ahead(
    session, clinic, patient, staff
):
    own = actor(staff[Role.THERAPIST])
    soon = book(session, clinic, patient, TUE_10)  # 25 hours ahead
    with pytest.raises(RequestRefused, match="48 hours"):
        ask(session, clinic, soon, by=own, start=ist(27, 10))
    later = book(session, clinic, patient, ist(25, 9))  # exactly 48 hours ahead
    request = ask(session, clinic, later, by=own, start=ist(27, 10), note="Conference")
    assert request.requester_type is RequesterType.THERAPIST
    assert request.requested_by == f"staff:{staff[Role.THERAPIST].id}"
    assert request.note == "Conference"
    assert audit_actions(session, request.id) == ["reschedule_request.create"]


def test_a_therapist_cannot_ask_about_another_therapists_session(session, clinic, patient, staff):
    rahul = book(session, clinic, patient, ist(27, 10), service="Occupational Therapy Session")
    assert rahul.therapist.name == "Rahul Mehta"
    with pytest.raises(RequestRefused, match="only your own"):
        ask(session, clinic, rahul, by=actor(staff[Role.THERAPIST]), start=ist(27, 11))
    with pytest.raises(RequestRefused):  # the front desk moves sessions directly
        ask(session, clinic, rahul, by=actor(staff[Role.OPERATOR]), start=ist(27, 11))


def test_approving_a_therapists_request_tells_the_patient_and_shows_the_decision(
    session, clinic, patient, staff
):
    appointment = book(session, clinic, patient, ist(27, 10))
    request = ask(session, clinic, appointment, by=actor(staff[Role.THERAPIST]), start=None)
    approve(session, clinic, request, new_start=ist(30, 10), by=actor(staff[Role.ADMIN]))
    assert [n.template_key for n in outbox(session, kind=MessageKind.NOTICE)] == ["notice_moved"]
    request = fresh(session, request)
    assert (request.status, request.new_start) == (APPROVED, ist(30, 10))


def test_a_request_for_a_session_moved_meanwhile_still_moves_it_once(
    session, clinic, patient, staff
):
    appointment, request = asked_to_move(session, clinic, patient)
    reschedule_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_start=ist(25, 11),
        now=NOW,
        actor=actor(staff[Role.OPERATOR]),
    )
    approve(session, clinic, request, by=actor(staff[Role.OPERATOR]))
    assert fresh(session, appointment).start_at == ist(26, 16)
    assert fresh(session, request).original_start == TUE_10


# --- the panel -----------------------------------------------------------------------------------


@pytest.fixture
def app(app, monkeypatch):
    monkeypatch.setattr("admin.views.requests.utcnow", lambda: NOW)
    return app


def csrf_token(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page.text
    )
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def post_form(client, url: str, **fields):
    """Post ``fields`` to ``url`` with the CSRF token of the form there."""
    return client.post(url, data={"csrf_token": csrf_token(client, url), **fields})


def logged_in(app, user):
    client = app.test_client()
    response = post_form(client, "/login", email=user.email, password=PASSWORD)
    assert response.status_code == 302, response.text
    return client


def test_the_front_desk_approves_in_the_panel_with_a_time_in_clinic_time(
    app, session, clinic, patient, staff
):
    appointment, request = asked_to_move(session, clinic, patient)
    client = logged_in(app, staff[Role.OPERATOR])
    listing = client.get("/admin/requests/")
    assert listing.status_code == 200
    assert "APT-2026-000001" in listing.text and "Thu 26 Nov, 4:00 pm" in listing.text
    url = f"/admin/requests/approve/{request.id}"
    page = client.get(url)
    assert 'value="2026-11-26T16:00"' in page.text  # the proposal, in clinic time
    response = post_form(
        client, url, start="2026-11-27T11:00", therapist=str(appointment.therapist_id), note=""
    )
    assert response.status_code == 302
    assert fresh(session, appointment).start_at == ist(27, 11)
    assert fresh(session, request).status is APPROVED
    assert "No requests waiting for a decision" in client.get("/admin/requests/").text
    assert "moved to Fri 27 Nov, 11:00 am" in client.get("/admin/requests/?show=all").text


def test_the_panel_shows_alternatives_when_the_time_was_taken(
    app, session, clinic, patient, make_patient, staff
):
    appointment, request = asked_to_move(session, clinic, patient)
    book(session, clinic, make_patient(clinic, name="Meera"), ist(26, 16))
    client = logged_in(app, staff[Role.ADMIN])
    url = f"/admin/requests/approve/{request.id}"
    response = post_form(
        client, url, start="2026-11-26T16:00", therapist=str(appointment.therapist_id)
    )
    assert response.status_code == 200
    assert "just taken" in response.text and "still pending" in response.text
    assert "Free nearby: Thu 26 Nov" in response.text
    assert fresh(session, request).status is PENDING


def test_rejecting_in_the_panel_needs_a_note_and_its_csrf_token(
    app, session, clinic, patient, staff
):
    _, request = asked_to_move(session, clinic, patient)
    client = logged_in(app, staff[Role.OPERATOR])
    url = f"/admin/requests/reject/{request.id}"
    assert client.post(url, data={"note": "No"}).status_code in (200, 400)
    assert fresh(session, request).status is PENDING
    response = post_form(client, url, note="Fully booked")
    assert response.status_code == 302, response.text
    assert fresh(session, request).status is REJECTED
    assert fresh(session, request).decision_note == "Fully booked"


def test_a_therapist_requests_a_change_in_the_panel_and_sees_the_decision(
    app, session, clinic, patient, staff
):
    soon = book(session, clinic, patient, TUE_10)
    later = book(session, clinic, patient, ist(27, 10))
    client = logged_in(app, staff[Role.THERAPIST])
    page = client.get("/admin/requests/ask/")
    assert page.status_code == 200
    assert later.number in page.text and soon.number not in page.text  # 48 hours ahead only
    response = post_form(
        client,
        "/admin/requests/ask/",
        appointment=str(later.id),
        start="2026-11-30T10:00",
        note="Training day",
    )
    assert response.status_code == 302
    request = session.scalar(select(RescheduleRequest))
    assert (request.requester_type, request.proposed_start) == (
        RequesterType.THERAPIST,
        ist(30, 10),
    )
    # A therapist cannot decide, not even their own request.
    assert client.get(f"/admin/requests/approve/{request.id}").status_code == 403
    reject(
        session, clinic, request, "Please swap with Dr. Rao instead", by=actor(staff[Role.ADMIN])
    )
    listing = client.get("/admin/requests/")
    assert "Please swap with Dr. Rao instead" in listing.text  # their notice is the panel


def test_roles_and_other_clinics_in_the_panel(app, session, clinic, patient, staff):
    _, request = asked_to_move(session, clinic, patient)
    accountant = logged_in(app, staff[Role.ACCOUNTANT])
    assert accountant.get("/admin/requests/").status_code == 200
    for page in ("approve", "reject"):
        assert accountant.get(f"/admin/requests/{page}/{request.id}").status_code == 403
    # Another clinic's admin cannot see or decide this clinic's request.
    other = seed(session, SUNRISE)
    outsider = create_staff_user(
        session,
        email="admin@sunrise.test",
        password=PASSWORD,
        role=Role.ADMIN,
        clinic_id=other.id,
        actor=SYSTEM,
    )
    client = logged_in(app, outsider)
    assert "APT-2026-000001" not in client.get("/admin/requests/?show=all").text
    assert client.get(f"/admin/requests/approve/{request.id}").status_code == 404
    assert fresh(session, request).status is PENDING


def test_a_therapist_withdraws_their_own_request_in_the_panel(app, session, clinic, patient, staff):
    appointment = book(session, clinic, patient, ist(27, 10))
    theirs = ask(session, clinic, appointment, by=actor(staff[Role.THERAPIST]), start=None)
    client = logged_in(app, staff[Role.THERAPIST])
    url = f"/admin/requests/withdraw/{theirs.id}"
    token = csrf_token(client, url)
    assert client.post(url, data={"csrf_token": token}).status_code == 302
    assert fresh(session, theirs).status is WITHDRAWN
    assert audit_actions(session, theirs.id)[-1] == "reschedule_request.withdraw"
    # A request someone else made about their session is not theirs to withdraw.
    other = ask(session, clinic, appointment, by=actor(staff[Role.THERAPIST]), start=None)
    other.requested_by = f"staff:{staff[Role.ADMIN].id}"
    session.commit()
    refused = client.post(f"/admin/requests/withdraw/{other.id}", data={"csrf_token": token})
    assert refused.status_code == 302
    assert "Only whoever asked" in client.get(refused.headers["Location"]).text
    assert fresh(session, other).status is PENDING
