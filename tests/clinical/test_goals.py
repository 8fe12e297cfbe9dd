"""Goals: set for a patient by their therapist or an admin, measured in session records,
charted on the patient's clinical page; the front desk and the accountant see none of it.

The service on its own, then the panel pages as each role sees them. Sessions and "now"
are pinned around ``NOW``.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from admin import permissions
from admin.views import clinical as clinical_view
from admin.views import notes as notes_view
from models import AuditLog, Goal, GoalMeasure, GoalStatus, GoalTerm, Role
from services.audit import Actor
from services.clinical import goals as goals_service
from services.clinical.goals import GoalFields, change_goal_status, goals_for_patient, set_goal
from services.clinical.notes import NoteRefused
from services.clinical.session_records import RecordTexts
from services.errors import InvalidInput, NotFound
from tests.admin.test_admin import csrf_token
from tests.clinical.test_progress_notes import alerts, clinic, logged_in, notes_url
from tests.clinical.test_session_records import LAST_FRIDAY_11, _book_at, past, write
from tests.conftest import NOW

__all__ = ["clinic", "past"]  # the session records' world: clinic A, Priya's past session

S_SOUNDS = GoalFields(
    term=GoalTerm.SHORT,
    behaviour="Says /s/ correctly in short sentences",
    measure="% correct of 10 tries",
    baseline=20,
    target=80,
    due_on=date(2027, 2, 1),
)


def set_for(session, clinic, role=Role.THERAPIST, fields=S_SOUNDS, patient=None) -> Goal:
    user = clinic.users[role]
    return set_goal(
        session,
        clinic_id=clinic.a.id,
        patient_id=(patient or clinic.aarav).id,
        fields=fields,
        now=NOW,
        actor=Actor.staff(user.id),
        author_id=user.id,
    )


def goal_rows(session) -> list[Goal]:
    session.rollback()
    session.expire_all()  # what the panel's own session committed since
    return session.scalars(select(Goal).order_by(Goal.id)).all()


# --- the service ------------------------------------------------------------------------


def test_the_matrix_grants_a_patient_s_clinical_page_to_the_note_writers():
    assert permissions.roles_allowed("patients", "clinical") == {Role.ADMIN, Role.THERAPIST}
    assert permissions.own_only("patients", Role.THERAPIST)


def test_a_therapist_sets_a_goal_for_their_patient_with_an_audit_row_without_its_text(
    session, clinic
):
    goal = set_for(session, clinic)

    [kept] = goal_rows(session)
    assert (kept.id, kept.status, kept.baseline, kept.target) == (
        goal.id,
        GoalStatus.ACTIVE,
        20,
        80,
    )
    [row] = session.scalars(select(AuditLog).where(AuditLog.action == "goal.set")).all()
    assert row.entity_id == str(goal.id) and "/s/" not in json.dumps(row.after)


def test_only_the_patient_s_therapists_and_the_admin_set_goals(session, clinic, make_patient):
    stranger = make_patient(clinic.a, name="Kabir Rao")  # no session with Priya
    with pytest.raises(NoteRefused, match="own patients"):
        set_for(session, clinic, patient=stranger)
    for role in (Role.OPERATOR, Role.ACCOUNTANT):
        with pytest.raises(NoteRefused):
            set_for(session, clinic, role)
    assert goal_rows(session) == []
    set_for(session, clinic, Role.ADMIN, patient=stranger)
    assert len(goal_rows(session)) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"behaviour": "  "},
        {"measure": ""},
        {"target": 20.0},
        {"behaviour": "x" * 5001},
        {"measure": "y" * 121},
    ],
)
def test_a_goal_needs_words_a_measure_and_a_target_apart_from_its_baseline(session, clinic, change):
    fields = GoalFields(**{**S_SOUNDS.__dict__, **change})
    with pytest.raises(InvalidInput):
        set_for(session, clinic, fields=fields)
    assert goal_rows(session) == []


def test_a_step_belongs_to_one_of_the_patient_s_long_term_goals(session, clinic, make_patient):
    long_term = set_for(
        session,
        clinic,
        fields=GoalFields(
            term=GoalTerm.LONG, behaviour="Intelligible speech", measure="%", baseline=40, target=90
        ),
    )
    step = set_for(
        session, clinic, fields=GoalFields(**{**S_SOUNDS.__dict__, "parent_id": long_term.id})
    )
    assert step.parent_id == long_term.id
    with pytest.raises(InvalidInput):  # a step of a step
        set_for(session, clinic, fields=GoalFields(**{**S_SOUNDS.__dict__, "parent_id": step.id}))
    other = make_patient(clinic.a, name="Other child")
    with pytest.raises(InvalidInput):  # another patient's goal
        set_for(
            session,
            clinic,
            Role.ADMIN,
            GoalFields(**{**S_SOUNDS.__dict__, "parent_id": long_term.id}),
            patient=other,
        )


def test_another_clinic_s_patient_is_not_found(session, clinic):
    with pytest.raises(NotFound):
        set_goal(
            session,
            clinic_id=clinic.a.id,
            patient_id=clinic.b_session.patient_id,
            fields=S_SOUNDS,
            now=NOW,
            actor=Actor.staff(clinic.users[Role.ADMIN].id),
            author_id=clinic.users[Role.ADMIN].id,
        )


def test_a_goal_is_achieved_with_an_audit_row(session, clinic):
    goal = set_for(session, clinic)
    user = clinic.users[Role.THERAPIST]
    change_goal_status(
        session,
        clinic_id=clinic.a.id,
        goal_id=goal.id,
        status=GoalStatus.ACHIEVED,
        now=NOW,
        actor=Actor.staff(user.id),
        author_id=user.id,
    )
    [kept] = goal_rows(session)
    assert kept.status is GoalStatus.ACHIEVED
    [row] = session.scalars(select(AuditLog).where(AuditLog.action == "goal.status")).all()
    assert (row.before, row.after) == ({"status": "active"}, {"status": "achieved"})


def test_records_log_measures_that_chart_the_goal_and_a_signed_record_keeps_them(
    session, clinic, past
):
    goal = set_for(session, clinic)
    earlier = _book_at(
        session, clinic, LAST_FRIDAY_11 - timedelta(days=7), booked=NOW - timedelta(days=14)
    )
    write(session, clinic, earlier, texts=RecordTexts(plan="p"), sign=True)  # no measure
    write(session, clinic, past, texts=RecordTexts(plan="p"), measures={goal.id: 30})
    write(session, clinic, past, texts=RecordTexts(plan="p"), measures={goal.id: 50}, sign=True)

    [kept] = goals_for_patient(session, clinic.a.id, clinic.aarav.id)
    assert [(m.value, m.measured_at) for m in kept.measures] == [(50, LAST_FRIDAY_11)]
    assert goals_service.progress(kept) == pytest.approx(0.5)
    with pytest.raises(NoteRefused, match="signed"):
        write(session, clinic, past, texts=RecordTexts(plan="p"), measures={goal.id: 99})
    session.rollback()
    assert session.scalars(select(GoalMeasure.value)).all() == [50]


def test_only_an_active_goal_of_the_session_s_patient_takes_a_measure(
    session, clinic, past, make_patient
):
    goal = set_for(session, clinic)
    others = set_for(session, clinic, Role.ADMIN, patient=make_patient(clinic.a, name="Zoya"))
    with pytest.raises(InvalidInput):
        write(session, clinic, past, texts=RecordTexts(plan="p"), measures={others.id: 3})
    user = clinic.users[Role.ADMIN]
    change_goal_status(
        session,
        clinic_id=clinic.a.id,
        goal_id=goal.id,
        status=GoalStatus.DISCONTINUED,
        now=NOW,
        actor=Actor.staff(user.id),
        author_id=user.id,
    )
    with pytest.raises(InvalidInput):
        write(session, clinic, past, texts=RecordTexts(plan="p"), measures={goal.id: 3})
    session.rollback()
    assert session.scalars(select(GoalMeasure)).all() == []


# --- the panel ----------------------------------------------------------------------------


@pytest.fixture
def app(app, monkeypatch):
    monkeypatch.setattr(notes_view, "utcnow", lambda: NOW)
    monkeypatch.setattr(clinical_view, "utcnow", lambda: NOW)
    return app


def clinical_url(patient) -> str:
    return f"/admin/patient/clinical/{patient.id}"


def post_goal(client, patient, **fields):
    token = csrf_token(client, "/admin/")
    data = {
        "csrf_token": token,
        "term": "short",
        "behaviour": S_SOUNDS.behaviour,
        "measure": S_SOUNDS.measure,
        "baseline": "20",
        "target": "80",
        **fields,
    }
    return client.post(clinical_url(patient), data=data, follow_redirects=True)


def test_a_therapist_sets_a_goal_logs_a_measure_and_sees_it_charted(app, session, clinic, past):
    client = logged_in(app, clinic, Role.THERAPIST)

    page = post_goal(client, clinic.aarav, due_on="2027-02-01")
    assert "Goal set." in alerts(page)
    assert S_SOUNDS.behaviour in page.text and "Not measured yet" in page.text
    [goal] = goal_rows(session)

    token = csrf_token(client, "/admin/")
    notes = client.get(notes_url(past)).text
    assert f'name="measure-{goal.id}"' in notes
    saved = client.post(
        notes_url(past),
        data={
            "record-csrf_token": token,
            "record-sign": "1",
            "record-plan": "Blends next",
            f"measure-{goal.id}": "65",
        },
        follow_redirects=True,
    )
    assert "Record signed." in alerts(saved)
    assert f'data-goal="{goal.id}">65' in saved.text

    charted = client.get(clinical_url(clinic.aarav)).text
    data = json.loads(re.search(r'id="goal-data">(.*?)</script>', charted, re.S).group(1))
    assert data[str(goal.id)]["datasets"][0]["data"] == [65]
    assert "75% of the way" in charted  # 20 -> 65 of 20 -> 80
    assert f'data-session="{past.id}"' in charted and "Signed" in charted


def test_a_measure_that_is_not_a_number_is_refused_and_kept(app, session, clinic, past):
    goal = set_for(session, clinic)
    client = logged_in(app, clinic, Role.THERAPIST)
    token = csrf_token(client, "/admin/")

    page = client.post(
        notes_url(past),
        data={"record-csrf_token": token, "record-save": "1", f"measure-{goal.id}": "lots"},
        follow_redirects=True,
    )

    assert "A measure must be a number." in alerts(page)
    assert 'value="lots"' in page.text
    session.rollback()
    assert session.scalars(select(GoalMeasure)).all() == []


def test_a_goal_is_marked_achieved_from_the_clinical_page(app, session, clinic):
    goal = set_for(session, clinic)
    client = logged_in(app, clinic, Role.THERAPIST)
    token = csrf_token(client, "/admin/")

    page = client.post(
        clinical_url(clinic.aarav),
        data={"csrf_token": token, "goal": str(goal.id), "status": "achieved"},
        follow_redirects=True,
    )

    assert "Goal marked Achieved." in alerts(page)
    assert [g.status for g in goal_rows(session)] == [GoalStatus.ACHIEVED]


def test_a_goal_id_of_another_patient_is_not_found_and_changes_nothing(
    app, session, clinic, make_patient
):
    others = set_for(session, clinic, Role.ADMIN, patient=make_patient(clinic.a, name="Zoya"))
    client = logged_in(app, clinic, Role.ADMIN)
    token = csrf_token(client, "/admin/")

    response = client.post(
        clinical_url(clinic.aarav),
        data={"csrf_token": token, "goal": str(others.id), "status": "achieved"},
    )

    assert response.status_code == 404
    assert [g.status for g in goal_rows(session)] == [GoalStatus.ACTIVE]


def test_a_therapist_cannot_open_another_therapist_s_patient(app, session, clinic):
    client = logged_in(app, clinic, Role.THERAPIST)
    meera = clinic.colleagues.patient  # Ravi's patient only

    assert client.get(clinical_url(meera)).status_code == 404
    assert post_goal(client, meera).status_code == 404
    assert goal_rows(session) == []


@pytest.mark.parametrize("role", [Role.ACCOUNTANT, Role.OPERATOR])
def test_the_accountant_and_the_front_desk_have_no_clinical_page(app, session, clinic, role):
    set_for(session, clinic)
    client = logged_in(app, clinic, role)

    assert client.get(clinical_url(clinic.aarav)).status_code == 403
    assert post_goal(client, clinic.aarav).status_code == 403
    listing = client.get("/admin/patient/").text
    assert "/admin/patient/clinical/" not in listing
    assert len(goal_rows(session)) == 1


def test_the_admin_reaches_the_clinical_page_from_the_patient_list(app, session, clinic):
    client = logged_in(app, clinic, Role.ADMIN)

    assert clinical_url(clinic.aarav) in client.get("/admin/patient/").text
    assert client.get(clinical_url(clinic.aarav)).status_code == 200
