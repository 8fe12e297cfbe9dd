"""Session records: a structured note per session, a draft until its therapist signs it,
never changed after; "sessions needing notes" on Today.

The service on its own, then the panel page at /admin/appointment/notes/<id> and Today,
as each role sees them. Sessions and "now" are pinned around ``NOW``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from admin.views import dashboard as dashboard_view
from admin.views import notes as notes_view
from models import Attendance, AuditLog, BookingSource, RecordStatus, Role, SessionRecord
from services.audit import Actor
from services.clinical.notes import NoteRefused
from services.clinical.session_records import (
    RecordTexts,
    record_for_appointment,
    sessions_needing_records,
    write_record,
)
from services.errors import InvalidInput, NotFound
from services.scheduling.appointments import book_appointment, cancel_appointment
from tests.admin.test_admin import csrf_token
from tests.clinical.test_progress_notes import alerts, clinic, logged_in, notes_url
from tests.conftest import NOW, SYSTEM

__all__ = ["clinic"]  # the progress notes' world: clinic A's logins, Priya's session, B's

EARLIER = NOW - timedelta(days=7)  # when the past sessions below were booked
LAST_FRIDAY_11 = NOW - timedelta(days=3) + timedelta(hours=2)  # Fri 20 Nov, 11:00 Kolkata
SOAP = RecordTexts(
    subjective="Mother says he practised daily.",
    objective="8/10 /s/ words correct in sentences.",
    assessment="Up from 5/10 last week.",
    plan="Move to /s/ blends.",
    attendance=Attendance.ON_TIME,
)


@pytest.fixture
def past(session, clinic):
    """Priya's session with Aarav last Friday at 11:00 (booked the Monday before)."""
    return _book_at(session, clinic, LAST_FRIDAY_11)


def _book_at(session, clinic, start, booked=EARLIER):
    return book_appointment(
        session,
        clinic_id=clinic.a.id,
        patient_id=clinic.aarav.id,
        service_id=clinic.speech.id,
        therapist_id=clinic.priya.id,
        start=start,
        now=booked,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )


def write(
    session, clinic, appointment, role=Role.THERAPIST, texts=SOAP, *, sign=False, now=NOW, **more
):
    user = clinic.users[role]
    return write_record(
        session,
        clinic_id=clinic.a.id,
        appointment_id=appointment.id,
        texts=texts,
        now=now,
        actor=Actor.staff(user.id),
        author_id=user.id,
        sign=sign,
        **more,
    )


def records(session) -> list[SessionRecord]:
    session.rollback()
    session.expire_all()  # what the panel's own session committed since
    return session.scalars(select(SessionRecord)).all()


# --- the service ------------------------------------------------------------------------


def test_a_draft_is_saved_then_saved_again_and_signed_with_audit_rows_without_the_text(
    session, clinic, past
):
    write(session, clinic, past, texts=RecordTexts(subjective="  Mother says: daily.\r\n "))
    record = write(session, clinic, past, sign=True, now=NOW + timedelta(minutes=5))

    [kept] = records(session)
    assert kept.id == record.id
    assert kept.status is RecordStatus.SIGNED
    assert (kept.subjective, kept.plan, kept.attendance) == (
        SOAP.subjective,
        SOAP.plan,
        Attendance.ON_TIME,
    )
    assert kept.signed_at == NOW + timedelta(minutes=5)
    assert kept.signed_by_id == clinic.users[Role.THERAPIST].id
    rows = session.scalars(
        select(AuditLog).where(AuditLog.entity_type == "SessionRecord").order_by(AuditLog.id)
    ).all()
    assert [r.action for r in rows] == ["record.save", "record.save", "record.sign"]
    assert "subjective" in rows[1].after["changed"]
    assert all("Mother" not in str(r.after) for r in rows)  # the record holds the text


def test_a_blank_draft_part_is_kept_empty_not_as_spaces(session, clinic, past):
    record = write(session, clinic, past, texts=RecordTexts(plan="Blends", objective="   "))
    assert (record.plan, record.objective) == ("Blends", None)


def test_a_signed_record_never_changes(session, clinic, past):
    write(session, clinic, past, sign=True)
    with pytest.raises(NoteRefused, match="signed"):
        write(session, clinic, past, Role.ADMIN, RecordTexts(plan="Rewritten later"))
    [kept] = records(session)
    assert kept.plan == SOAP.plan


def test_a_record_is_signed_only_once_the_session_has_begun(session, clinic):
    with pytest.raises(NoteRefused, match="begun"):
        write(session, clinic, clinic.own, sign=True)  # tomorrow's session
    assert records(session) == []
    draft = write(session, clinic, clinic.own)  # a plan written ahead is a draft
    assert draft.status is RecordStatus.DRAFT


def test_who_writes_follows_the_notes_rule(session, clinic, past):
    with pytest.raises(NoteRefused, match="only on your own sessions"):
        write(session, clinic, clinic.colleagues)
    for role in (Role.OPERATOR, Role.ACCOUNTANT):
        with pytest.raises(NoteRefused):
            write(session, clinic, past, role)
    assert records(session) == []
    write(session, clinic, clinic.colleagues, Role.ADMIN)
    assert len(records(session)) == 1


def test_a_record_is_written_only_in_one_s_own_name(session, clinic, past):
    with pytest.raises(NoteRefused, match="own name"):
        write_record(
            session,
            clinic_id=clinic.a.id,
            appointment_id=past.id,
            texts=SOAP,
            now=NOW,
            actor=Actor.staff(clinic.users[Role.ADMIN].id),
            author_id=clinic.users[Role.THERAPIST].id,
        )


@pytest.mark.parametrize(
    "texts", [RecordTexts(), RecordTexts(plan="  \n "), RecordTexts(plan="x" * 5001)]
)
def test_an_empty_or_oversized_record_is_refused(session, clinic, past, texts):
    with pytest.raises(InvalidInput):
        write(session, clinic, past, texts=texts)
    assert records(session) == []


def test_a_cancelled_session_takes_no_record(session, clinic):
    cancel_appointment(
        session,
        clinic_id=clinic.a.id,
        appointment_id=clinic.own.id,
        reason="Family travel",
        now=NOW,
        actor=SYSTEM,
    )
    with pytest.raises(NoteRefused, match="cancelled"):
        write(session, clinic, clinic.own)
    assert records(session) == []


def test_another_clinic_s_session_is_not_found(session, clinic):
    with pytest.raises(NotFound):
        write(session, clinic, clinic.b_session, Role.ADMIN)
    assert records(session) == []


def test_sessions_needing_notes_are_begun_unsigned_and_recent(session, clinic, past):
    older = _book_at(session, clinic, LAST_FRIDAY_11 - timedelta(days=1))
    long_ago = _book_at(
        session, clinic, LAST_FRIDAY_11 - timedelta(days=14), booked=NOW - timedelta(days=25)
    )
    signed = _book_at(session, clinic, LAST_FRIDAY_11 - timedelta(days=2))
    write(session, clinic, signed, sign=True)
    write(session, clinic, older)  # a draft still needs signing
    therapist = clinic.users[Role.THERAPIST].id

    own = sessions_needing_records(session, clinic.a.id, now=NOW, therapist_staff_id=therapist)
    everyone = sessions_needing_records(session, clinic.a.id, now=NOW)

    assert [a.id for a in own][:2] == [past.id, older.id]
    assert signed.id not in {a.id for a in everyone}
    assert clinic.own.id not in {a.id for a in everyone}  # tomorrow's: not begun
    assert long_ago.id not in {a.id for a in everyone}  # two weeks back at most


# --- the panel ----------------------------------------------------------------------------


@pytest.fixture
def app(app, monkeypatch):
    monkeypatch.setattr(notes_view, "utcnow", lambda: NOW)
    monkeypatch.setattr(dashboard_view, "utcnow", lambda: NOW)
    return app


def post_record(client, appointment, *, sign=False, **parts):
    token = csrf_token(client, "/admin/")
    data = {"record-csrf_token": token, "record-sign" if sign else "record-save": "1"}
    data |= {f"record-{name}": value for name, value in parts.items()}
    return client.post(notes_url(appointment), data=data, follow_redirects=True)


def test_a_therapist_saves_a_draft_then_signs_it_from_the_session_page(app, session, clinic, past):
    client = logged_in(app, clinic, Role.THERAPIST)

    draft = post_record(client, past, subjective="Practised daily.", attendance="late")
    assert "Record saved as a draft." in alerts(draft)
    assert "Draft, last saved by Therapist A" in draft.text
    assert "Practised daily." in draft.text and 'id="record-sign"' in draft.text

    signed = post_record(client, past, sign=True, subjective="Practised daily.", plan="Blends")
    assert "Record signed." in alerts(signed)
    assert 'id="record-form"' not in signed.text and "Signed by Therapist A" in signed.text
    assert "Blends" in signed.text and "Late" in signed.text

    again = post_record(client, past, plan="Changed after signing")
    assert "cannot change" in alerts(again)
    [kept] = records(session)
    assert (kept.status, kept.plan) == (RecordStatus.SIGNED, "Blends")


def test_a_refused_record_keeps_what_was_typed(app, session, clinic, past):
    client = logged_in(app, clinic, Role.THERAPIST)

    page = post_record(client, past, plan="x" * 5001)

    assert "A text can be up to 5000 characters" in alerts(page)
    assert "x" * 5001 in page.text
    assert records(session) == []


def test_tomorrow_s_session_offers_a_draft_but_no_signature(app, session, clinic):
    client = logged_in(app, clinic, Role.THERAPIST)

    page = client.get(notes_url(clinic.own)).text

    assert 'id="record-save"' in page and 'id="record-sign"' not in page


@pytest.mark.parametrize("role", [Role.ACCOUNTANT, Role.OPERATOR])
def test_the_accountant_and_the_front_desk_cannot_write_or_see_records(
    app, session, clinic, past, role
):
    write(session, clinic, past, sign=True)
    client = logged_in(app, clinic, role)

    assert client.get(notes_url(past)).status_code == 403
    token = csrf_token(client, "/admin/")
    refused = client.post(
        notes_url(past), data={"record-csrf_token": token, "record-save": "1", "record-plan": "x"}
    )
    assert refused.status_code == 403
    today = client.get("/admin/").text
    assert "needing-notes" not in today and SOAP.plan not in today


def test_today_lists_the_therapist_s_sessions_needing_notes_until_signed(
    app, session, clinic, past
):
    client = logged_in(app, clinic, Role.THERAPIST)

    today = client.get("/admin/").text
    assert 'id="needing-notes"' in today and f'data-session="{past.id}"' in today
    assert notes_url(past) in today

    post_record(client, past, sign=True, plan="Blends")
    assert 'id="needing-notes"' not in client.get("/admin/").text  # the only one is signed
    assert session.scalar(select(func.count()).select_from(SessionRecord)) == 1


def test_the_record_read_back_is_the_clinic_s_own(session, clinic, past):
    write(session, clinic, past)
    assert record_for_appointment(session, clinic.a.id, past.id) is not None
    assert record_for_appointment(session, clinic.a.id, clinic.b_session.id) is None
