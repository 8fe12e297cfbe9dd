"""Assessments: written per patient and therapy type from the clinic's template (the
defaults until its admin edits them), signed and then never changed; goals name the
assessment that set them. The front desk and the accountant see none of it.

The service on its own, then the panel pages as each role sees them. "Now" is ``NOW``.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from admin.views import assessments as assessments_view
from admin.views import clinical as clinical_view
from models import (
    Assessment,
    AssessmentKind,
    AssessmentTemplate,
    AuditLog,
    Goal,
    GoalTerm,
    ItemKind,
    RecordStatus,
    Role,
)
from services.audit import Actor
from services.clinical.assessment_templates import (
    DEFAULT_TEMPLATES,
    TemplateItem,
    parse_template_lines,
    save_template,
    template_for,
    template_lines,
)
from services.clinical.assessments import (
    AssessmentFields,
    assessments_for_patient,
    write_assessment,
)
from services.clinical.goals import GoalFields, set_goal
from services.clinical.notes import NoteRefused
from services.errors import InvalidInput, NotFound
from tests.admin.test_admin import csrf_token
from tests.clinical.test_progress_notes import alerts, clinic, logged_in
from tests.clinical.test_session_records import past
from tests.conftest import NOW

__all__ = ["clinic", "past"]  # the session records' world: clinic A, Priya's past session

SPEECH = AssessmentFields(
    kind=AssessmentKind.INITIAL,
    therapy_type="speech",
    presenting_concerns="Mother says others do not understand him.",
    findings="Fronting of /k/ and /g/.",
    recommendations="Speech therapy twice a week.",
    sessions_per_week=2,
    session_minutes=45,
    next_review_on=date(2027, 2, 20),
    values={"Articulation": "Fronting", "Speech intelligibility (percent)": "60"},
)
PAIN_TEMPLATE = [
    TemplateItem("Pain score", ItemKind.SCORE, 0, 10),
    TemplateItem("Sensory processing", ItemKind.TEXT),
]


def write(session, clinic, role=Role.THERAPIST, fields=SPEECH, patient=None, **kwargs):
    user = clinic.users[role]
    return write_assessment(
        session,
        clinic_id=clinic.a.id,
        patient_id=(patient or clinic.aarav).id,
        fields=fields,
        now=NOW,
        actor=Actor.staff(user.id),
        author_id=user.id,
        **kwargs,
    )


def edit_template(session, clinic, therapy_type="speech", items=PAIN_TEMPLATE, role=Role.ADMIN):
    user = clinic.users[role]
    return save_template(
        session,
        clinic_id=clinic.a.id,
        therapy_type=therapy_type,
        items=items,
        now=NOW,
        actor=Actor.staff(user.id),
        author_id=user.id,
    )


def rows(session) -> list[Assessment]:
    session.rollback()
    session.expire_all()  # what the panel's own session committed since
    return session.scalars(select(Assessment).order_by(Assessment.id)).all()


def fields(**change) -> AssessmentFields:
    return AssessmentFields(**{**SPEECH.__dict__, **change})


# --- templates -------------------------------------------------------------------------------


def test_defaults_ship_for_speech_occupational_and_physiotherapy(session, clinic):
    def labels(therapy_type):
        return [i.label for i in template_for(session, clinic.a.id, therapy_type)]

    assert {"Articulation", "Receptive language", "Expressive language", "Fluency"} <= set(
        labels("speech")
    )
    assert {"Fine motor", "Sensory processing", "Activities of daily living (ADLs)"} <= set(
        labels("occupational")
    )
    physio = {i.label: i for i in template_for(session, clinic.a.id, "physiotherapy")}
    assert {"Gait", "Balance"} <= set(physio)
    assert (physio["Pain score"].kind, physio["Pain score"].low, physio["Pain score"].high) == (
        ItemKind.SCORE,
        0,
        10,
    )
    assert labels("music") == []  # a type with no default starts with no items


def test_template_lines_read_back_as_the_same_items():
    for items in DEFAULT_TEMPLATES.values():
        assert parse_template_lines(template_lines(items)) == list(items)
    assert parse_template_lines("Pain score | score | 0 | 10\n\n Sensory processing | text ") == (
        PAIN_TEMPLATE
    )
    assert parse_template_lines("Notes") == [TemplateItem("Notes", ItemKind.TEXT)]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "at least one item"),
        ("Pain | number", "score or text"),
        ("Pain | score | low | 10", "are numbers"),
        ("Pain | score | 10 | 0", "lowest value, then its highest"),
        ("Mood | text | 0 | 5", "only a score has a range"),
        ("Gait\ngait | text", "already used"),
        (" | text", "a label"),
    ],
)
def test_a_template_line_that_does_not_read_is_refused_with_its_reason(text, says):
    with pytest.raises(InvalidInput, match=says):
        parse_template_lines(text)


def test_only_the_clinic_s_admin_edits_a_template_and_the_edit_is_audited(session, clinic):
    for role in (Role.THERAPIST, Role.OPERATOR, Role.ACCOUNTANT):
        with pytest.raises(NoteRefused, match="admin"):
            edit_template(session, clinic, role=role)
    with pytest.raises(InvalidInput, match="therapy types"):
        edit_template(session, clinic, therapy_type="astrology")
    edit_template(session, clinic)
    session.rollback()
    [template] = session.scalars(select(AssessmentTemplate)).all()
    assert template.therapy_type == "speech" and template.items[0]["label"] == "Pain score"
    [row] = session.scalars(
        select(AuditLog).where(AuditLog.action == "assessment_template.save")
    ).all()
    assert row.after["items"][0] == {"label": "Pain score", "kind": "score", "min": 0, "max": 10}
    assert template_for(session, clinic.a.id, "speech") == PAIN_TEMPLATE


def test_new_assessments_use_the_edited_template_and_old_ones_keep_theirs(session, clinic):
    old = write(session, clinic)
    edit_template(session, clinic)
    new = write(session, clinic, fields=fields(values={"Pain score": 3}))

    old, new = rows(session)
    assert "Articulation" in [i["label"] for i in old.items]
    assert [i["label"] for i in new.items] == ["Pain score", "Sensory processing"]
    assert new.items[0]["value"] == 3
    # Saving the old draft again keeps its own items, even after the template changed.
    write(session, clinic, assessment_id=old.id, fields=fields(findings="Still fronting."))
    old, _ = rows(session)
    assert "Articulation" in [i["label"] for i in old.items]
    assert old.findings == "Still fronting."


# --- writing and signing ------------------------------------------------------------------


def test_a_therapist_writes_a_draft_then_signs_it_with_audit_rows_without_its_text(session, clinic):
    draft = write(session, clinic)
    [kept] = rows(session)
    assert (kept.id, kept.status, kept.kind, kept.therapy_type) == (
        draft.id,
        RecordStatus.DRAFT,
        AssessmentKind.INITIAL,
        "speech",
    )
    items = {i["label"]: i["value"] for i in kept.items}
    assert items["Articulation"] == "Fronting"
    assert items["Speech intelligibility (percent)"] == 60
    assert items["Fluency"] is None
    assert (kept.sessions_per_week, kept.session_minutes) == (2, 45)

    write(session, clinic, assessment_id=draft.id, fields=SPEECH, sign=True)
    [signed] = rows(session)
    assert (signed.status, signed.signed_at, signed.signed_by_id) == (
        RecordStatus.SIGNED,
        NOW,
        clinic.users[Role.THERAPIST].id,
    )
    audits = session.scalars(
        select(AuditLog).where(AuditLog.action.like("assessment.%")).order_by(AuditLog.id)
    ).all()
    assert [a.action for a in audits] == ["assessment.save", "assessment.sign"]
    written = json.dumps([a.after for a in audits])
    assert "Fronting" not in written and "understand" not in written


def test_a_signed_assessment_never_changes(session, clinic):
    signed = write(session, clinic, sign=True)
    with pytest.raises(NoteRefused, match="signed and cannot change"):
        write(session, clinic, assessment_id=signed.id, fields=fields(findings="Changed"))
    with pytest.raises(NoteRefused, match="signed"):
        write(session, clinic, Role.ADMIN, assessment_id=signed.id)
    [kept] = rows(session)
    assert kept.findings == SPEECH.findings


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"Speech intelligibility (percent)": "120"}, "from 0 to 100; 120 is outside"),
        ({"Speech intelligibility (percent)": -1}, "outside"),
        ({"Speech intelligibility (percent)": "lots"}, "takes a number"),
        ({"Speech intelligibility (percent)": "nan"}, "takes a number"),
        ({"Not an item": "x"}, "one of the assessment's items"),
        ({"Articulation": "x" * 1001}, "up to 1000 characters"),
    ],
)
def test_answers_outside_their_item_are_refused(session, clinic, values, says):
    with pytest.raises(InvalidInput, match=says):
        write(session, clinic, fields=fields(values=values))
    assert rows(session) == []


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"sessions_per_week": 0}, "between 1 and 14"),
        ({"session_minutes": 600}, "between 5 and 480"),
        ({"findings": "x" * 5001}, "up to 5000"),
        ({"therapy_type": "astrology"}, "therapy types"),
        (
            {
                "presenting_concerns": " ",
                "findings": None,
                "recommendations": None,
                "values": {},
            },
            "write something",
        ),
    ],
)
def test_an_assessment_needs_sensible_plans_and_words(session, clinic, change, says):
    with pytest.raises(InvalidInput, match=says):
        write(session, clinic, fields=fields(**change))
    assert rows(session) == []


def test_an_assessment_is_written_against_one_of_the_patient_s_own_sessions(session, clinic, past):
    with pytest.raises(InvalidInput, match="this patient's sessions"):
        write(session, clinic, fields=fields(appointment_id=clinic.colleagues.id))  # Meera's
    with pytest.raises(InvalidInput, match="this patient's sessions"):
        write(session, clinic, fields=fields(appointment_id=clinic.b_session.id))
    with pytest.raises(NoteRefused, match="once its session has begun"):
        write(session, clinic, fields=fields(appointment_id=clinic.own.id), sign=True)
    assert rows(session) == []
    signed = write(session, clinic, fields=fields(appointment_id=past.id), sign=True)
    assert (signed.appointment_id, signed.status) == (past.id, RecordStatus.SIGNED)


def test_only_the_patient_s_therapists_and_the_admin_write_assessments(
    session, clinic, make_patient
):
    stranger = make_patient(clinic.a, name="Kabir Rao")  # no session with Priya
    with pytest.raises(NoteRefused, match="own patients"):
        write(session, clinic, patient=stranger)
    for role in (Role.OPERATOR, Role.ACCOUNTANT):
        with pytest.raises(NoteRefused):
            write(session, clinic, role)
    assert rows(session) == []
    write(session, clinic, Role.ADMIN, patient=stranger)
    assert len(rows(session)) == 1


def test_another_clinic_s_or_patient_s_assessment_id_is_not_found(session, clinic, make_patient):
    meera_s = write(session, clinic, Role.ADMIN, patient=clinic.colleagues.patient)
    with pytest.raises(NotFound):
        write(session, clinic, assessment_id=meera_s.id)  # Aarav's page, Meera's assessment
    b_s = b_assessment(session, clinic)
    with pytest.raises(NotFound):
        write(session, clinic, Role.ADMIN, assessment_id=b_s.id)
    assert [a.findings for a in rows(session)] == [SPEECH.findings, "Clinic B's"]


def b_assessment(session, clinic) -> Assessment:
    """Clinic B's assessment of its own patient (written straight to the table)."""
    b = clinic.b_session
    row = Assessment(
        clinic_id=b.clinic_id,
        patient_id=b.patient_id,
        author_id=clinic.users[Role.ADMIN].id,
        kind=AssessmentKind.INITIAL,
        therapy_type="speech",
        items=[],
        findings="Clinic B's",
        status=RecordStatus.DRAFT,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(row)
    session.commit()
    return row


# --- goals set at an assessment --------------------------------------------------------------


def goal_at(session, clinic, assessment_id, patient=None) -> Goal:
    user = clinic.users[Role.ADMIN]
    return set_goal(
        session,
        clinic_id=clinic.a.id,
        patient_id=(patient or clinic.aarav).id,
        fields=GoalFields(
            term=GoalTerm.LONG,
            behaviour="Intelligible speech",
            measure="% understood",
            baseline=60,
            target=90,
            assessment_id=assessment_id,
        ),
        now=NOW,
        actor=Actor.staff(user.id),
        author_id=user.id,
    )


def test_a_goal_is_set_at_one_of_the_same_patient_s_assessments(session, clinic):
    aarav_s = write(session, clinic)
    goal = goal_at(session, clinic, aarav_s.id)
    assert goal.assessment_id == aarav_s.id
    with pytest.raises(InvalidInput, match="this patient's assessments"):
        goal_at(session, clinic, aarav_s.id, patient=clinic.colleagues.patient)
    session.rollback()
    assert session.scalars(select(Goal.assessment_id)).all() == [aarav_s.id]


# --- the panel ----------------------------------------------------------------------------


@pytest.fixture
def app(app, monkeypatch):
    monkeypatch.setattr(assessments_view, "utcnow", lambda: NOW)
    monkeypatch.setattr(clinical_view, "utcnow", lambda: NOW)
    return app


def page_url(patient, which="new") -> str:
    return f"/admin/patient/assessment/{patient.id}/{which}"


def post(client, patient, which="new", **data):
    token = csrf_token(client, "/admin/")
    form = {
        "csrf_token": token,
        "therapy_type": "speech",
        "kind": "initial",
        "presenting_concerns": "Hard to understand.",
        "findings": "Fronting.",
        "sessions_per_week": "2",
        "session_minutes": "45",
        **data,
    }
    return client.post(page_url(patient, which), data=form, follow_redirects=True)


def test_a_therapist_writes_and_signs_an_assessment_from_the_clinical_page(
    app, session, clinic, past
):
    client = logged_in(app, clinic, Role.THERAPIST)
    clinical = client.get(f"/admin/patient/clinical/{clinic.aarav.id}").text
    assert 'id="assessments"' in clinical and page_url(clinic.aarav) in clinical
    form = client.get(page_url(clinic.aarav) + f"?appointment={past.id}").text
    assert "Articulation" in form and "Speech intelligibility (percent)" in form
    assert f'<option selected value="{past.id}">' in form

    saved = post(client, clinic.aarav, appointment=str(past.id), **{"item-2": "55"})
    assert "Assessment saved as a draft." in alerts(saved)
    [draft] = rows(session)
    assert draft.appointment_id == past.id
    assert draft.items[2] == {**draft.items[2], "value": 55}
    assert "Initial assessment" in saved.text and "Draft" in saved.text

    signed = post(client, clinic.aarav, str(draft.id), sign="1", **{"item-2": "55"})
    assert "Assessment signed." in alerts(signed)
    [kept] = rows(session)
    assert kept.status is RecordStatus.SIGNED
    shown = client.get(page_url(clinic.aarav, kept.id)).text
    assert "Signed by" in shown and 'id="assessment-form"' not in shown
    again = post(client, clinic.aarav, str(kept.id), findings="Changed.")
    assert "signed and cannot change" in alerts(again)
    assert rows(session)[0].findings == "Fronting."


def test_a_score_out_of_range_is_refused_and_what_was_typed_is_kept(app, session, clinic):
    client = logged_in(app, clinic, Role.THERAPIST)
    page = post(client, clinic.aarav, **{"item-2": "140", "item-1": "Fronting of /k/"})
    assert "from 0 to 100; 140 is outside" in alerts(page)
    assert 'value="140"' in page.text and "Fronting of /k/" in page.text
    assert rows(session) == []


def test_an_assessment_id_of_another_patient_or_clinic_is_not_found(app, session, clinic):
    meera_s = write(session, clinic, Role.ADMIN, patient=clinic.colleagues.patient)
    client = logged_in(app, clinic, Role.ADMIN)
    assert client.get(page_url(clinic.aarav, meera_s.id)).status_code == 404
    assert post(client, clinic.aarav, str(meera_s.id)).status_code == 404
    assert client.get(page_url(clinic.aarav, "latest")).status_code == 404
    assert client.get(page_url(clinic.b_session.patient)).status_code == 404
    b_s = b_assessment(session, clinic)
    assert client.get(page_url(clinic.aarav, b_s.id)).status_code == 404
    assert client.get(page_url(clinic.b_session.patient, b_s.id)).status_code == 404
    assert rows(session)[0].findings == SPEECH.findings


def test_a_therapist_cannot_open_another_therapist_s_patient(app, session, clinic):
    client = logged_in(app, clinic, Role.THERAPIST)
    assert client.get(page_url(clinic.colleagues.patient)).status_code == 404


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ACCOUNTANT])
def test_the_accountant_and_the_front_desk_have_no_assessments(app, session, clinic, role):
    write(session, clinic)
    client = logged_in(app, clinic, role)
    assert client.get(page_url(clinic.aarav)).status_code == 403
    assert client.get(page_url(clinic.aarav, rows(session)[0].id)).status_code == 403
    assert client.get("/admin/assessment_templates/").status_code == 403


def test_a_goal_set_at_an_assessment_says_so_on_the_clinical_page(app, session, clinic):
    assessment = write(session, clinic)
    client = logged_in(app, clinic, Role.THERAPIST)
    token = csrf_token(client, "/admin/")
    page = client.post(
        f"/admin/patient/clinical/{clinic.aarav.id}",
        data={
            "csrf_token": token,
            "term": "long",
            "behaviour": "Intelligible speech",
            "measure": "% understood",
            "baseline": "60",
            "target": "90",
            "assessment": str(assessment.id),
        },
        follow_redirects=True,
    )
    assert "Goal set." in alerts(page)
    assert "set at Initial assessment (speech)" in page.text
    session.rollback()
    assert session.scalars(select(Goal.assessment_id)).all() == [assessment.id]


def test_the_admin_edits_the_template_and_the_next_assessment_uses_it(app, session, clinic):
    client = logged_in(app, clinic, Role.ADMIN)
    page = client.get("/admin/assessment_templates/?therapy_type=speech").text
    assert "Articulation | text" in page and "The default template" in page
    token = csrf_token(client, "/admin/")
    saved = client.post(
        "/admin/assessment_templates/",
        data={
            "csrf_token": token,
            "therapy_type": "speech",
            "lines": "Pain score | score | 0 | 10\nSensory processing | text",
        },
        follow_redirects=True,
    )
    assert "Template saved" in alerts(saved) and "own template" in saved.text
    bad = client.post(
        "/admin/assessment_templates/",
        data={"csrf_token": token, "therapy_type": "speech", "lines": "Pain | score | 9 | 1"},
        follow_redirects=True,
    )
    assert "Line 1" in alerts(bad)
    assert "Pain score" in client.get(page_url(clinic.aarav)).text
    assert client.get("/admin/assessment_templates/?therapy_type=astrology").status_code == 404


def test_a_therapist_has_no_template_editor(app, session, clinic):
    client = logged_in(app, clinic, Role.THERAPIST)
    assert client.get("/admin/assessment_templates/").status_code == 403


def test_the_list_of_assessments_is_newest_first(session, clinic):
    first = write(session, clinic)
    second = write(session, clinic, fields=fields(kind=AssessmentKind.PROGRESS))
    assert [a.id for a in assessments_for_patient(session, clinic.a.id, clinic.aarav.id)] == [
        second.id,
        first.id,
    ]
