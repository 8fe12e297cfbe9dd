"""Progress notes: the session's therapist (or the admin) writes them; nobody edits them.

The service on its own, then the panel page at /admin/appointment/notes/<id> as
each role sees it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from admin import permissions
from admin.views import notes as notes_view
from models import Appointment, AuditLog, BookingSource, ProgressNote, Role
from services.audit import Actor
from services.clinical import notes
from services.clinical.notes import NoteRefused, add_progress_note, notes_for_patient
from services.errors import InvalidInput, NotFound
from services.scheduling.appointments import book_appointment, cancel_appointment
from tests.admin.test_admin import PASSWORD, csrf_token, log_in
from tests.conftest import NOW, SYSTEM, counting_statements, staff_logins

TOMORROW_11 = NOW + timedelta(days=1, hours=2)  # Tue 24 Nov, 11:00 in Kolkata


@pytest.fixture
def clinic(session, make_clinic, make_therapist, make_service, make_patient):
    """Clinic A: a login per role, the therapist linked to Dr. Priya Nair; a session with
    Priya, one with her colleague Ravi; and clinic B with a session of its own."""
    a = make_clinic(name="Clinic A", slug="clinic-a")
    b = make_clinic(name="Clinic B", slug="clinic-b")
    users = staff_logins(session, a.id, password=PASSWORD, domain="a.example", label="A")
    priya = make_therapist(a, name="Dr. Priya Nair")
    ravi = make_therapist(a, name="Dr. Ravi Menon")
    priya.staff_user_id = users[Role.THERAPIST].id
    session.commit()
    speech = make_service(a)
    aarav = make_patient(a, name="Aarav Sharma")
    meera = make_patient(a, name="Meera Iyer")
    own = _book(session, a, aarav, priya, speech, TOMORROW_11)
    colleagues = _book(session, a, meera, ravi, speech, TOMORROW_11)
    b_session = _book(
        session,
        b,
        make_patient(b, name="Bina Patient"),
        make_therapist(b, name="Dr. Bclinic"),
        make_service(b),
        TOMORROW_11,
    )
    return SimpleNamespace(
        a=a,
        users=users,
        priya=priya,
        aarav=aarav,
        speech=speech,
        own=own,
        colleagues=colleagues,
        b_session=b_session,
    )


def _book(session, clinic, patient, therapist, service, start):
    return book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        therapist_id=therapist.id,
        start=start,
        now=NOW,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )


def add(session, clinic, appointment, role: Role, body: str, now=NOW) -> ProgressNote:
    user = clinic.users[role]
    return add_progress_note(
        session,
        clinic_id=appointment.clinic_id,
        appointment_id=appointment.id,
        body=body,
        now=now,
        actor=Actor.staff(user.id),
        author_id=user.id,
    )


def note_count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(ProgressNote))


# --- the service ------------------------------------------------------------------------


def test_the_service_s_authors_are_the_roles_the_matrix_grants_notes():
    assert permissions.roles_allowed("appointments", "notes") == notes.NOTE_AUTHORS
    assert not permissions.allowed("appointments", Role.OPERATOR, "notes")
    assert not permissions.allowed("appointments", Role.ACCOUNTANT, "notes")
    assert permissions.own_only("appointments", Role.THERAPIST)


def test_a_therapist_writes_a_note_on_their_own_session_with_an_audit_row(session, clinic):
    note = add(session, clinic, clinic.own, Role.THERAPIST, "  Worked on /s/ blends.\r\nGood.  ")

    assert note.body == "Worked on /s/ blends.\nGood."
    assert (note.patient_id, note.author_id) == (clinic.aarav.id, clinic.users[Role.THERAPIST].id)
    assert note.created_at == NOW
    session.rollback()
    [row] = session.scalars(select(AuditLog).where(AuditLog.action == "note.add")).all()
    assert (row.entity_type, row.entity_id) == ("ProgressNote", str(note.id))
    assert (row.actor_type.value, row.actor_id) == ("staff", clinic.users[Role.THERAPIST].id)
    assert row.after["body"] == "Worked on /s/ blends.\nGood."


def test_a_therapist_cannot_write_on_a_colleague_s_session(session, clinic):
    with pytest.raises(NoteRefused, match="only on your own sessions"):
        add(session, clinic, clinic.colleagues, Role.THERAPIST, "Not my patient")
    assert note_count(session) == 0


def test_an_admin_writes_on_any_session_and_the_desk_and_the_accountant_cannot(session, clinic):
    add(session, clinic, clinic.colleagues, Role.ADMIN, "Parent asked for a home plan.")
    for role in (Role.OPERATOR, Role.ACCOUNTANT):
        with pytest.raises(NoteRefused):
            add(session, clinic, clinic.own, role, "Front desk remark")
    assert note_count(session) == 1


def test_a_note_is_written_only_in_one_s_own_name(session, clinic):
    with pytest.raises(NoteRefused, match="own name"):
        add_progress_note(
            session,
            clinic_id=clinic.a.id,
            appointment_id=clinic.own.id,
            body="Signed as someone else",
            now=NOW,
            actor=Actor.staff(clinic.users[Role.ADMIN].id),
            author_id=clinic.users[Role.THERAPIST].id,
        )


@pytest.mark.parametrize("body", ["", "   \n\t ", "x" * 5001])
def test_an_empty_or_oversized_note_is_refused(session, clinic, body):
    with pytest.raises(InvalidInput):
        add(session, clinic, clinic.own, Role.THERAPIST, body)
    assert note_count(session) == 0


def test_a_note_of_exactly_the_limit_is_kept(session, clinic):
    assert len(add(session, clinic, clinic.own, Role.THERAPIST, "é" * 5000).body) == 5000


def test_a_cancelled_session_takes_no_notes(session, clinic):
    cancel_appointment(
        session,
        clinic_id=clinic.a.id,
        appointment_id=clinic.own.id,
        reason="Family travel",
        now=NOW,
        actor=SYSTEM,
    )
    with pytest.raises(NoteRefused, match="cancelled"):
        add(session, clinic, clinic.own, Role.THERAPIST, "Too late")
    assert note_count(session) == 0


def test_another_clinic_s_session_is_not_found(session, clinic):
    with pytest.raises(NotFound):
        add_progress_note(
            session,
            clinic_id=clinic.a.id,
            appointment_id=clinic.b_session.id,
            body="Wrong clinic",
            now=NOW,
            actor=Actor.staff(clinic.users[Role.ADMIN].id),
            author_id=clinic.users[Role.ADMIN].id,
        )
    assert note_count(session) == 0


def test_a_patient_s_notes_come_newest_first_in_one_query(db, session, clinic):
    next_day = TOMORROW_11 + timedelta(days=1)
    later = _book(session, clinic.a, clinic.aarav, clinic.priya, clinic.speech, next_day)
    add(session, clinic, clinic.own, Role.THERAPIST, "First", now=NOW)
    add(session, clinic, later, Role.THERAPIST, "Third", now=NOW + timedelta(hours=2))
    add(session, clinic, clinic.own, Role.ADMIN, "Second", now=NOW + timedelta(hours=1))
    add(session, clinic, clinic.colleagues, Role.ADMIN, "Meera's, not Aarav's")
    clinic_id, patient_id = clinic.a.id, clinic.aarav.id
    first, second = clinic.own.number, later.number
    session.rollback()
    session.expire_all()

    with counting_statements(db.engine) as statements:
        listed = notes_for_patient(session, clinic_id, patient_id)
        shown = [(n.body, n.author.name, n.appointment.number) for n in listed]

    assert shown == [
        ("Third", "Therapist A", second),
        ("Second", "Admin A", first),
        ("First", "Therapist A", first),
    ]
    assert [s for s in statements if s.startswith("SELECT")] == [statements[-1]]
    assert "JOIN staff_user" in statements[-1] and "JOIN appointment" in statements[-1]


# --- the panel ----------------------------------------------------------------------------


@pytest.fixture
def app(app, monkeypatch):
    monkeypatch.setattr(notes_view, "utcnow", lambda: NOW)
    return app


def logged_in(app, clinic, role: Role):
    client = app.test_client()
    assert log_in(client, clinic.users[role].email).status_code == 302
    return client


def notes_url(appointment) -> str:
    return f"/admin/appointment/notes/{appointment.id}"


def post_note(client, appointment, body: str):
    token = csrf_token(client, "/admin/")
    return client.post(
        notes_url(appointment), data={"csrf_token": token, "body": body}, follow_redirects=True
    )


def alerts(page) -> str:
    found = re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', page.text, re.S)
    return "\n".join(re.sub(r"<[^>]+>|&times;", "", text).strip() for text in found)


def test_a_therapist_adds_a_note_from_the_panel_and_sees_it_in_clinic_time(app, session, clinic):
    client = logged_in(app, clinic, Role.THERAPIST)

    page = post_note(client, clinic.own, "Ten /s/ words in sentences.\nHome practice: daily.")

    assert page.status_code == 200
    assert "Note added." in alerts(page)
    assert "Ten /s/ words in sentences." in page.text
    # NOW is 03:30 UTC: 9:00 am in Kolkata.
    assert "Therapist A · Mon 23 Nov, 9:00 am 2026" in page.text
    session.rollback()
    assert session.scalar(select(func.count()).where(AuditLog.action == "note.add")) == 1


def test_a_therapist_cannot_open_or_write_a_colleague_s_session_notes(app, session, clinic):
    add(session, clinic, clinic.colleagues, Role.ADMIN, "About Meera")
    client = logged_in(app, clinic, Role.THERAPIST)

    assert client.get(notes_url(clinic.colleagues)).status_code == 404
    token = csrf_token(client, "/admin/")
    response = client.post(
        notes_url(clinic.colleagues), data={"csrf_token": token, "body": "Sneaky"}
    )
    assert response.status_code == 404
    assert note_count(session) == 1


@pytest.mark.parametrize("role", [Role.ACCOUNTANT, Role.OPERATOR])
def test_the_accountant_and_the_front_desk_have_no_access_to_notes(app, session, clinic, role):
    add(session, clinic, clinic.own, Role.THERAPIST, "Clinical detail")
    client = logged_in(app, clinic, role)

    page = client.get(notes_url(clinic.own))
    assert page.status_code == 403
    token = csrf_token(client, "/admin/")
    refused = client.post(notes_url(clinic.own), data={"csrf_token": token, "body": "Hello"})
    assert refused.status_code == 403
    assert note_count(session) == 1
    listing = client.get("/admin/appointment/").text
    assert "/admin/appointment/notes/" not in listing
    details = client.get(f"/admin/appointment/details/?id={clinic.own.id}").text
    assert "appointment-notes-link" not in details and "Clinical detail" not in details


def test_an_empty_note_is_refused_in_the_panel(app, session, clinic):
    client = logged_in(app, clinic, Role.THERAPIST)

    page = post_note(client, clinic.own, "   ")

    assert "Please write the note first." in alerts(page)
    assert note_count(session) == 0


def test_the_panel_refuses_a_note_on_a_cancelled_session(app, session, clinic):
    cancel_appointment(
        session,
        clinic_id=clinic.a.id,
        appointment_id=clinic.own.id,
        reason="Family travel",
        now=NOW,
        actor=SYSTEM,
    )
    client = logged_in(app, clinic, Role.THERAPIST)

    page = client.get(notes_url(clinic.own))
    assert page.status_code == 200
    assert "progress-note-form" not in page.text and "takes no new notes" in page.text
    refused = post_note(client, clinic.own, "Too late")
    assert "cancelled; it takes no notes" in alerts(refused)
    assert note_count(session) == 0


def test_the_page_lists_a_session_s_notes_newest_first(app, session, clinic):
    add(session, clinic, clinic.own, Role.THERAPIST, "Older note", now=NOW)
    add(session, clinic, clinic.own, Role.ADMIN, "Newer note", now=NOW + timedelta(minutes=5))
    client = logged_in(app, clinic, Role.THERAPIST)

    text = client.get(notes_url(clinic.own)).text

    assert text.index("Newer note") < text.index("Older note")
    assert "Admin A · Mon 23 Nov, 9:05 am 2026" in text


def test_another_clinic_s_appointment_id_is_not_found(app, session, clinic):
    client = logged_in(app, clinic, Role.ADMIN)

    assert client.get(notes_url(clinic.b_session)).status_code == 404
    token = csrf_token(client, "/admin/")
    response = client.post(notes_url(clinic.b_session), data={"csrf_token": token, "body": "x"})
    assert response.status_code == 404
    assert note_count(session) == 0


def test_rows_and_details_link_to_the_notes_for_those_who_may_read_them(app, session, clinic):
    client = logged_in(app, clinic, Role.THERAPIST)

    listing = client.get("/admin/appointment/").text
    assert f'href="{notes_url(clinic.own)}"' in listing
    assert notes_url(clinic.colleagues) not in listing
    details = client.get(f"/admin/appointment/details/?id={clinic.own.id}").text
    assert f'href="{notes_url(clinic.own)}"' in details


def test_notes_have_no_edit_or_delete(app, session, clinic):
    note = add(session, clinic, clinic.own, Role.THERAPIST, "Kept as written")
    client = logged_in(app, clinic, Role.ADMIN)

    page = client.get(notes_url(clinic.own)).text
    assert "Kept as written" in page
    assert not any(rule.rule.startswith("/admin/progressnote") for rule in app.url_map.iter_rules())
    session.rollback()
    assert session.get(ProgressNote, note.id).body == "Kept as written"
    assert session.get(Appointment, clinic.own.id) is not None
