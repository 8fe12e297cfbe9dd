"""Home exercises in the panel: Settings → Exercise library (the admin only), and the
"Home exercises" section of a patient's clinical page (the admin and the patient's
therapists): assigning, stopping, adherence per week, the latest replies and their photos.
Other roles get 403, another patient's or clinic's ids 404.

"now" is pinned to ``NOW`` (Monday 23 November 2026, 09:00 in Kolkata) unless a test moves it.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from admin.views import clinical as clinical_view
from admin.views import exercise_library as library_view
from admin.views import exercises as exercises_view
from integrations.backup_storage import LocalStore
from models import (
    AuditLog,
    Channel,
    Conversation,
    Exercise,
    ExerciseAssignment,
    ExerciseOutcome,
    ExerciseReply,
    InboundMedia,
    InboundMessage,
    MediaStatus,
    MessageSource,
    Role,
)
from tests.admin.test_admin import csrf_token
from tests.clinical.test_exercises import TODAY, add_exercise, assign
from tests.clinical.test_progress_notes import alerts, clinic, logged_in
from tests.conftest import NOW

__all__ = ["clinic"]  # clinic A's logins, Priya's patient Aarav, Ravi's Meera; clinic B

LIBRARY = "/admin/exercise_library/"


@pytest.fixture
def app(app, monkeypatch):
    for module in (clinical_view, library_view, exercises_view):
        monkeypatch.setattr(module, "utcnow", lambda: NOW)
    return app


def clinical_url(patient) -> str:
    return f"/admin/patient/clinical/{patient.id}"


def post_assign(client, patient, exercise, **fields):
    token = csrf_token(client, "/admin/")
    data = {
        "csrf_token": token,
        "exercise": str(exercise.id),
        "weekdays": ["0", "2", "4"],
        "repetitions": "3",
        "nudge_time": "18:00",
        "starts_on": TODAY.isoformat(),
        "ends_on": (TODAY + timedelta(days=27)).isoformat(),
        "notes": "Use the mirror.",
    } | fields
    return client.post(f"{clinical_url(patient)}/exercises", data=data, follow_redirects=True)


def rows(session) -> list[ExerciseAssignment]:
    session.rollback()
    session.expire_all()
    return session.scalars(select(ExerciseAssignment).order_by(ExerciseAssignment.id)).all()


# --- the clinical page -------------------------------------------------------------------


def test_a_therapist_assigns_from_the_clinical_page_and_sees_it_listed(app, session, clinic):
    exercise = add_exercise(session, clinic)
    client = logged_in(app, clinic, Role.THERAPIST)

    page = client.get(clinical_url(clinic.aarav))
    assert 'id="exercises"' in page.text and "Mirror practice" in page.text
    assert 'id="exercise-assign-form"' in page.text

    page = post_assign(client, clinic.aarav, exercise)
    assert "Home exercise assigned." in alerts(page)
    [kept] = rows(session)
    assert (kept.weekdays, kept.repetitions, kept.nudge_time) == ([0, 2, 4], 3, time(18))
    assert f'data-assignment="{kept.id}"' in page.text
    assert "Monday, Wednesday, Friday" in page.text and 'data-status="active"' in page.text


def test_a_refused_assignment_says_why_and_keeps_nothing(app, session, clinic):
    exercise = add_exercise(session, clinic)
    client = logged_in(app, clinic, Role.THERAPIST)
    page = post_assign(client, clinic.aarav, exercise, nudge_time="22:00")
    assert "between 08:00 and 21:00" in alerts(page)
    page = post_assign(client, clinic.aarav, exercise, weekdays=[])
    assert "at least one weekday" in alerts(page)
    assert rows(session) == []


def test_an_assignment_without_the_csrf_token_is_refused(app, session, clinic):
    exercise = add_exercise(session, clinic)
    client = logged_in(app, clinic, Role.THERAPIST)
    client.post(
        f"{clinical_url(clinic.aarav)}/exercises",
        data={"exercise": str(exercise.id), "weekdays": ["0"], "repetitions": "1"},
    )
    assert rows(session) == []


def test_adherence_per_week_and_the_latest_replies_show(app, session, clinic, monkeypatch):
    assignment = assign(session, clinic, add_exercise(session, clinic))
    for day, outcome, done in (
        (TODAY, ExerciseOutcome.DONE, 3),
        (TODAY + timedelta(days=2), ExerciseOutcome.PARTIAL, 2),
    ):
        session.add(
            ExerciseReply(
                clinic_id=clinic.a.id,
                assignment_id=assignment.id,
                day=day,
                outcome=outcome,
                done_count=done,
                received_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    session.commit()
    monkeypatch.setattr(exercises_view, "utcnow", lambda: NOW + timedelta(days=6, hours=12))
    client = logged_in(app, clinic, Role.THERAPIST)

    page = client.get(clinical_url(clinic.aarav))
    # Mon done, Wed 2 of 3, Fri unanswered: (1 + 2/3) of 3 days.
    assert '<td class="exercise-percent">56%</td>' in page.text
    assert "2 of 3" in page.text and 'id="exercise-replies"' in page.text


def test_a_therapist_stops_an_assignment_from_the_page(app, session, clinic):
    assignment = assign(session, clinic, add_exercise(session, clinic))
    client = logged_in(app, clinic, Role.THERAPIST)
    token = csrf_token(client, "/admin/")
    page = client.post(
        f"{clinical_url(clinic.aarav)}/exercises/{assignment.id}/stop",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "Home exercise stopped." in alerts(page)
    assert 'data-status="stopped"' in page.text
    [kept] = rows(session)
    assert kept.stopped_at == NOW
    assert session.scalars(
        select(AuditLog).where(AuditLog.action == "exercise_assignment.stop")
    ).all()


@pytest.mark.parametrize("role", [Role.ACCOUNTANT, Role.OPERATOR])
def test_the_accountant_and_the_front_desk_get_403(app, session, clinic, role):
    exercise = add_exercise(session, clinic)
    assignment = assign(session, clinic, exercise)
    client = logged_in(app, clinic, role)
    token = csrf_token(client, "/admin/")

    assert client.get(clinical_url(clinic.aarav)).status_code == 403
    assert post_assign(client, clinic.aarav, exercise).status_code == 403
    stopped = client.post(
        f"{clinical_url(clinic.aarav)}/exercises/{assignment.id}/stop", data={"csrf_token": token}
    )
    assert stopped.status_code == 403
    assert client.get(f"{clinical_url(clinic.aarav)}/exercise-media/1").status_code == 403
    assert [a.stopped_at for a in rows(session)] == [None]


def test_a_therapist_cannot_reach_another_therapist_s_patient(app, session, clinic):
    exercise = add_exercise(session, clinic)
    meera = clinic.colleagues.patient  # Ravi's patient only
    theirs = assign(session, clinic, exercise, role=Role.ADMIN, patient=meera)
    client = logged_in(app, clinic, Role.THERAPIST)
    token = csrf_token(client, "/admin/")

    assert client.get(clinical_url(meera)).status_code == 404
    assert post_assign(client, meera, exercise).status_code == 404
    url = f"{clinical_url(meera)}/exercises/{theirs.id}/stop"
    assert client.post(url, data={"csrf_token": token}).status_code == 404
    # Nor through their own patient's address.
    url = f"{clinical_url(clinic.aarav)}/exercises/{theirs.id}/stop"
    assert client.post(url, data={"csrf_token": token}).status_code == 404
    assert len(rows(session)) == 1 and rows(session)[0].stopped_at is None


def test_another_clinic_s_ids_are_not_found(app, session, clinic):
    b_patient = clinic.b_session.patient
    b_exercise = Exercise(
        clinic_id=b_patient.clinic_id,
        therapy_type="speech",
        name="B's",
        instructions="x",
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(b_exercise)
    session.flush()
    b_assignment = ExerciseAssignment(
        clinic_id=b_patient.clinic_id,
        patient_id=b_patient.id,
        exercise_id=b_exercise.id,
        assigned_by_id=clinic.users[Role.ADMIN].id,
        weekdays=[0],
        repetitions=1,
        nudge_time=time(18),
        starts_on=TODAY,
        ends_on=TODAY + timedelta(days=7),
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(b_assignment)
    session.commit()
    client = logged_in(app, clinic, Role.ADMIN)
    token = csrf_token(client, "/admin/")

    assert client.get(clinical_url(b_patient)).status_code == 404
    assert post_assign(client, clinic.aarav, b_exercise).status_code == 404
    url = f"{clinical_url(clinic.aarav)}/exercises/{b_assignment.id}/stop"
    assert client.post(url, data={"csrf_token": token}).status_code == 404
    assert client.get(f"{LIBRARY}?therapy_type=speech&edit={b_exercise.id}").status_code == 404
    archive = client.post(f"{LIBRARY}{b_exercise.id}/archive", data={"csrf_token": token})
    assert archive.status_code == 404
    assert [a.patient_id for a in rows(session)] == [b_patient.id]


def test_a_reply_s_photo_opens_from_the_page_and_only_under_its_patient(app, session, clinic):
    assignment = assign(session, clinic, add_exercise(session, clinic))
    conversation = Conversation(
        clinic_id=clinic.a.id, channel=Channel.WHATSAPP, phone="+919876500001"
    )
    session.add(conversation)
    session.flush()
    message = InboundMessage(
        clinic_id=clinic.a.id,
        channel=Channel.WHATSAPP,
        source=MessageSource.TWILIO,
        provider_sid="SMexercise1",
        conversation_id=conversation.id,
        from_phone="+919876500001",
        to_address="+911111111111",
        num_media=1,
        received_at=NOW,
    )
    session.add(message)
    session.flush()
    key = f"{clinic.a.id}-exercise-photo.jpg"
    LocalStore(app.config["ROSHNI"].instance_dir / "media").put_bytes(b"\xff\xd8photo", key)
    media = InboundMedia(
        clinic_id=clinic.a.id,
        message_id=message.id,
        index=0,
        status=MediaStatus.FETCHED,
        content_type="image/jpeg",
        size=7,
        storage_key=key,
        received_at=NOW,
        fetched_at=NOW,
    )
    session.add(media)
    session.add(
        ExerciseReply(
            clinic_id=clinic.a.id,
            assignment_id=assignment.id,
            day=TODAY,
            outcome=ExerciseOutcome.MEDIA,
            message_id=message.id,
            received_at=NOW,
            created_at=NOW,
            updated_at=NOW,
        )
    )
    session.commit()
    client = logged_in(app, clinic, Role.THERAPIST)

    url = f"{clinical_url(clinic.aarav)}/exercise-media/{media.id}"
    assert url in client.get(clinical_url(clinic.aarav)).text
    got = client.get(url)
    assert got.status_code == 200 and got.data == b"\xff\xd8photo"
    assert "no-store" in got.headers["Cache-Control"]
    meera = clinic.colleagues.patient
    admin = logged_in(app, clinic, Role.ADMIN)
    assert admin.get(f"{clinical_url(meera)}/exercise-media/{media.id}").status_code == 404


# --- Settings → Exercise library ---------------------------------------------------------


def test_the_admin_adds_the_suggested_exercises_then_edits_and_archives_one(app, session, clinic):
    client = logged_in(app, clinic, Role.ADMIN)
    page = client.get(LIBRARY)
    assert page.status_code == 200 and 'id="exercise-suggested"' in page.text
    token = csrf_token(client, LIBRARY)

    page = client.post(
        f"{LIBRARY}suggested",
        data={"csrf_token": token, "therapy_type": "speech"},
        follow_redirects=True,
    )
    assert "The suggested exercises were added." in alerts(page)
    assert "Mirror sound practice" in page.text and 'id="exercise-suggested"' not in page.text

    page = client.post(
        f"{LIBRARY}save",
        data={
            "csrf_token": token,
            "therapy_type": "speech",
            "name": "Lip rounding",
            "instructions": "Say oo-ee ten times.",
            "media_url": "http://example.com/v.mp4",
        },
        follow_redirects=True,
    )
    assert "https://" in alerts(page)
    page = client.post(
        f"{LIBRARY}save",
        data={
            "csrf_token": token,
            "therapy_type": "speech",
            "name": "Lip rounding",
            "instructions": "Say oo-ee ten times.",
            "media_url": "https://example.com/v.mp4",
        },
        follow_redirects=True,
    )
    assert "Exercise saved." in alerts(page)
    lip = session.scalar(select(Exercise).where(Exercise.name == "Lip rounding"))
    page = client.post(
        f"{LIBRARY}save",
        data={
            "csrf_token": token,
            "exercise": str(lip.id),
            "name": "Mirror sound practice",
            "instructions": "x",
        },
        follow_redirects=True,
    )
    assert "already has an exercise of that name" in alerts(page)

    page = client.post(
        f"{LIBRARY}{lip.id}/archive", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Exercise archived." in alerts(page)
    session.rollback()
    assert session.get(Exercise, lip.id).archived_at is not None
    # Archived ones are not offered on the clinical page.
    clinical = client.get(clinical_url(clinic.aarav)).text
    assert f'<option value="{lip.id}"' not in clinical and "Mirror sound practice" in clinical


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.OPERATOR, Role.ACCOUNTANT])
def test_only_the_admin_opens_the_exercise_library(app, session, clinic, role):
    exercise = add_exercise(session, clinic)
    client = logged_in(app, clinic, role)
    token = csrf_token(client, "/admin/")
    assert client.get(LIBRARY).status_code == 403
    saved = client.post(
        f"{LIBRARY}save",
        data={"csrf_token": token, "therapy_type": "speech", "name": "x", "instructions": "y"},
    )
    assert saved.status_code == 403
    archived = client.post(f"{LIBRARY}{exercise.id}/archive", data={"csrf_token": token})
    assert archived.status_code == 403
    suggested = client.post(
        f"{LIBRARY}suggested", data={"csrf_token": token, "therapy_type": "speech"}
    )
    assert suggested.status_code == 403
    assert session.scalars(select(Exercise.name)).all() == ["Mirror practice"]


def test_the_library_is_in_the_settings_menu_for_the_admin(app, session, clinic):
    assert LIBRARY in logged_in(app, clinic, Role.ADMIN).get("/admin/").text
    assert LIBRARY not in logged_in(app, clinic, Role.THERAPIST).get("/admin/").text


def test_an_unknown_therapy_type_is_not_found(app, session, clinic):
    assert logged_in(app, clinic, Role.ADMIN).get(f"{LIBRARY}?therapy_type=x").status_code == 404


def test_dates_in_the_form_start_today(app, session, clinic):
    add_exercise(session, clinic)
    page = logged_in(app, clinic, Role.THERAPIST).get(clinical_url(clinic.aarav))
    assert f'value="{date(2026, 11, 23).isoformat()}"' in page.text
