"""Home exercises, the service: the clinic's library (admin only), assigning an exercise to a
patient (each refusal), stopping it, and adherence per week from the guardians' replies.

"now" is ``NOW``: Monday 23 November 2026, 09:00 in Kolkata (the clinics' zone).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import (
    AuditLog,
    Exercise,
    ExerciseAssignment,
    Role,
)
from services.audit import Actor
from services.clinical import exercise_library, exercises
from services.clinical.exercise_library import DEFAULT_EXERCISES, ExerciseFields
from services.clinical.exercise_nudges import QUIET_FROM, QUIET_UNTIL
from services.clinical.exercises import ExerciseRefused, in_quiet_hours
from services.clinical.notes import NoteRefused
from services.errors import Duplicate, InvalidInput, NotFound
from tests.clinical.test_progress_notes import clinic
from tests.conftest import NOW

__all__ = ["clinic"]  # clinic A's logins, Priya's patient Aarav, Ravi's Meera; clinic B

KOLKATA = ZoneInfo("Asia/Kolkata")
TODAY = date(2026, 11, 23)  # a Monday
MIRROR = ExerciseFields("speech", "Mirror practice", "Say /s/ ten times.\nWatch the lips.")


def add_exercise(session, clinic, fields=MIRROR, role=Role.ADMIN, clinic_id=None) -> Exercise:
    user = clinic.users[role]
    return exercise_library.create_exercise(
        session,
        clinic_id=clinic_id or clinic.a.id,
        fields=fields,
        now=NOW,
        actor=Actor.staff(user.id),
        author_id=user.id,
    )


def edit(session, clinic, exercise, fields, role=Role.ADMIN):
    user = clinic.users[role]
    return exercise_library.edit_exercise(
        session,
        clinic_id=clinic.a.id,
        exercise_id=exercise.id,
        fields=fields,
        now=NOW,
        actor=Actor.staff(user.id),
        author_id=user.id,
    )


def archive(session, clinic, exercise, archived=True, role=Role.ADMIN):
    user = clinic.users[role]
    return exercise_library.set_archived(
        session,
        clinic_id=clinic.a.id,
        exercise_id=exercise.id,
        archived=archived,
        now=NOW,
        actor=Actor.staff(user.id),
        author_id=user.id,
    )


def assign(session, clinic, exercise, role=Role.THERAPIST, patient=None, **change):
    user = clinic.users[role]
    values = {
        "weekdays": [0, 2, 4],
        "repetitions": 3,
        "nudge_time": time(18, 0),
        "starts_on": TODAY,
        "ends_on": TODAY + timedelta(days=27),
        "notes": "  Use the mirror.  ",
    } | change
    return exercises.assign_exercise(
        session,
        clinic_id=clinic.a.id,
        patient_id=(patient or clinic.aarav).id,
        exercise_id=exercise.id,
        author_id=user.id,
        now=NOW,
        actor=Actor.staff(user.id),
        **values,
    )


def audited(session, action: str) -> list[AuditLog]:
    session.rollback()
    return session.scalars(select(AuditLog).where(AuditLog.action == action)).all()


def assignments(session) -> list[ExerciseAssignment]:
    session.rollback()
    session.expire_all()
    return session.scalars(select(ExerciseAssignment).order_by(ExerciseAssignment.id)).all()


# --- the library -------------------------------------------------------------------------


def test_the_admin_adds_an_exercise_cleaned_and_audited(session, clinic):
    exercise = add_exercise(
        session, clinic, ExerciseFields("speech", "  Mirror   practice ", " Ten times.\r\n ")
    )
    assert (exercise.name, exercise.instructions, exercise.media_url) == (
        "Mirror practice",
        "Ten times.",
        None,
    )
    [row] = audited(session, "exercise.create")
    assert row.after["name"] == "Mirror practice" and row.entity_id == str(exercise.id)


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.OPERATOR, Role.ACCOUNTANT])
def test_only_the_admin_edits_the_library(session, clinic, role):
    with pytest.raises(NoteRefused, match="admin"):
        add_exercise(session, clinic, role=role)
    exercise = add_exercise(session, clinic)
    with pytest.raises(NoteRefused):
        archive(session, clinic, exercise, role=role)


def test_a_name_is_unique_per_clinic_and_type_whatever_its_case(session, clinic):
    first = add_exercise(session, clinic)
    with pytest.raises(Duplicate, match="already has an exercise of that name"):
        add_exercise(session, clinic, ExerciseFields("speech", "MIRROR practice", "Other."))
    other = add_exercise(session, clinic, ExerciseFields("speech", "Picture naming", "Name."))
    with pytest.raises(Duplicate):
        edit(session, clinic, other, ExerciseFields("speech", "mirror practice", "Name."))
    # Its own name again is no clash.
    edit(session, clinic, first, ExerciseFields("speech", "Mirror practice", "New words."))
    [row] = audited(session, "exercise.edit")
    assert row.after == {"instructions": "New words."}


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        (ExerciseFields("speech", " ", "x"), "name"),
        (ExerciseFields("speech", "x" * 121, "x"), "name"),
        (ExerciseFields("speech", "Name", "  "), "instructions"),
        (ExerciseFields("speech", "Name", "x", "http://example.com/a.mp4"), "https://"),
        (ExerciseFields("speech", "Name", "x", "javascript:alert(1)"), "https://"),
        (ExerciseFields("speech", "Name", "x", "https:///nohost"), "https://"),
        (ExerciseFields("speech", "Name", "x", "https://a.example/" + "x" * 500), "https://"),
        (ExerciseFields("cooking", "Name", "x"), "therapy types"),
    ],
)
def test_an_exercise_needs_a_name_instructions_an_https_link_and_a_clinic_type(
    session, clinic, fields, refusal
):
    with pytest.raises(InvalidInput, match=refusal):
        add_exercise(session, clinic, fields)
    assert session.scalars(select(Exercise)).all() == []


def test_an_https_link_is_kept(session, clinic):
    link = "https://videos.example.com/mirror.mp4"
    exercise = add_exercise(session, clinic, ExerciseFields("speech", "Mirror", "x", link))
    assert exercise.media_url == link


def test_archived_then_back_each_audited_and_archived_ones_leave_the_choice(session, clinic):
    exercise = add_exercise(session, clinic)
    for archived in (True, True, False):
        archive(session, clinic, exercise, archived)
        if archived:
            assert exercise_library.library(session, clinic.a.id, archived=False) == []
    assert [r.action for r in audited(session, "exercise.archive")] == ["exercise.archive"]
    assert len(audited(session, "exercise.unarchive")) == 1
    assert exercise_library.library(session, clinic.a.id, archived=False) == [exercise]


def test_the_suggested_exercises_go_only_into_an_empty_library(session, clinic):
    admin = clinic.users[Role.ADMIN]
    assert exercise_library.has_suggestions(session, clinic.a.id, "speech")
    added = exercise_library.add_suggested(
        session,
        clinic_id=clinic.a.id,
        therapy_type="speech",
        now=NOW,
        actor=Actor.staff(admin.id),
        author_id=admin.id,
    )
    assert sorted(e.name for e in added) == sorted(s.name for s in DEFAULT_EXERCISES["speech"])
    assert not exercise_library.has_suggestions(session, clinic.a.id, "speech")
    with pytest.raises(InvalidInput, match="empty library"):
        exercise_library.add_suggested(
            session,
            clinic_id=clinic.a.id,
            therapy_type="speech",
            now=NOW,
            actor=Actor.staff(admin.id),
            author_id=admin.id,
        )
    assert len(audited(session, "exercise.create")) == len(added)


def test_every_default_type_has_three_or_four_suggestions():
    assert set(DEFAULT_EXERCISES) == {"speech", "occupational", "physiotherapy"}
    assert all(3 <= len(v) <= 4 for v in DEFAULT_EXERCISES.values())


def test_the_demo_seed_adds_the_library_once(session, clinic):
    first = exercise_library.seed_library(
        session, clinic_id=clinic.a.id, now=NOW, actor=Actor.system()
    )
    again = exercise_library.seed_library(
        session, clinic_id=clinic.a.id, now=NOW, actor=Actor.system()
    )
    assert (first, again) == (len(DEFAULT_EXERCISES["speech"]), 0)


# --- assignments -------------------------------------------------------------------------


def test_a_therapist_assigns_an_exercise_to_their_patient_audited_without_the_notes(
    session, clinic
):
    exercise = add_exercise(session, clinic)
    assigned = assign(session, clinic, exercise, weekdays=[4, 0, 2, 0])

    [kept] = assignments(session)
    assert kept.id == assigned.id
    assert (kept.weekdays, kept.repetitions, kept.nudge_time, kept.notes) == (
        [0, 2, 4],
        3,
        time(18, 0),
        "Use the mirror.",
    )
    assert kept.assigned_by_id == clinic.users[Role.THERAPIST].id
    [row] = audited(session, "exercise_assignment.create")
    assert row.after["weekdays"] == [0, 2, 4] and row.after["nudge_time"] == "18:00"
    assert "mirror" not in json.dumps(row.after).lower()
    assert exercises.status(kept, TODAY) == "active"


def test_the_admin_assigns_to_any_patient_and_others_are_refused(session, clinic):
    exercise = add_exercise(session, clinic)
    meera = clinic.colleagues.patient  # Ravi's patient, not Priya's
    with pytest.raises(ExerciseRefused, match="therapists and the admin"):
        assign(session, clinic, exercise, patient=meera)
    for role in (Role.OPERATOR, Role.ACCOUNTANT):
        with pytest.raises(ExerciseRefused):
            assign(session, clinic, exercise, role=role)
    assert assignments(session) == []
    assign(session, clinic, exercise, role=Role.ADMIN, patient=meera)
    assert len(assignments(session)) == 1


def test_another_clinic_s_exercise_or_patient_is_not_found(session, clinic):
    exercise = add_exercise(session, clinic)
    b_patient = clinic.b_session.patient
    with pytest.raises(NotFound):
        assign(session, clinic, exercise, role=Role.ADMIN, patient=b_patient)
    b_exercise = Exercise(
        clinic_id=b_patient.clinic_id,
        therapy_type="speech",
        name="B's",
        instructions="x",
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(b_exercise)
    session.commit()
    with pytest.raises(NotFound):
        assign(session, clinic, b_exercise)
    assert assignments(session) == []


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"weekdays": []}, "weekday"),
        ({"weekdays": [7]}, "weekday"),
        ({"weekdays": [-1, 2]}, "weekday"),
        ({"weekdays": ["1"]}, "weekday"),
        ({"weekdays": [True]}, "weekday"),
        ({"repetitions": 0}, "Times a day"),
        ({"repetitions": 51}, "Times a day"),
        ({"nudge_time": time(7, 59)}, "08:00 and 21:00"),
        ({"nudge_time": time(21, 0)}, "08:00 and 21:00"),
        ({"nudge_time": time(23, 30)}, "08:00 and 21:00"),
        ({"starts_on": TODAY - timedelta(days=1)}, "past"),
        ({"ends_on": TODAY - timedelta(days=1)}, "on or after"),
        ({"ends_on": TODAY + timedelta(days=184)}, "six months"),
        ({"weekdays": [3], "ends_on": TODAY + timedelta(days=2)}, "none of the chosen"),
        ({"notes": "x" * 5001}, "up to 5000"),
    ],
)
def test_each_assignment_rule_refuses(session, clinic, change, refusal):
    exercise = add_exercise(session, clinic)
    with pytest.raises(InvalidInput, match=refusal):
        assign(session, clinic, exercise, **change)
    assert assignments(session) == []


@pytest.mark.parametrize(
    "change",
    [
        {"nudge_time": time(8, 0)},
        {"nudge_time": time(20, 59)},
        {"repetitions": 50, "weekdays": [0]},
        {"ends_on": TODAY + timedelta(days=183)},
        {"ends_on": TODAY, "weekdays": [0]},
    ],
)
def test_the_edges_of_each_rule_are_accepted(session, clinic, change):
    assign(session, clinic, add_exercise(session, clinic), **change)
    assert len(assignments(session)) == 1


def test_the_quiet_hours_are_one_rule():
    assert (time(21, 0), time(8, 0)) == (QUIET_FROM, QUIET_UNTIL)
    assert [in_quiet_hours(time(h, m)) for h, m in ((7, 59), (8, 0), (20, 59), (21, 0))] == [
        True,
        False,
        False,
        True,
    ]


def test_today_is_the_clinic_s_day_not_utc_s(session, clinic):
    # 23:00 UTC on Sunday 22 November is already Monday 23 November in Kolkata.
    late_sunday = datetime(2026, 11, 22, 20, 0, tzinfo=NOW.tzinfo)
    assert exercises.clinic_today(session, clinic.a.id, late_sunday) == TODAY


def test_an_archived_exercise_is_not_assigned(session, clinic):
    exercise = add_exercise(session, clinic)
    archive(session, clinic, exercise)
    with pytest.raises(InvalidInput, match="archived"):
        assign(session, clinic, exercise)


def test_an_assignment_is_made_in_one_s_own_name(session, clinic):
    exercise = add_exercise(session, clinic)
    therapist, admin = clinic.users[Role.THERAPIST], clinic.users[Role.ADMIN]
    with pytest.raises(ExerciseRefused, match="own name"):
        exercises.assign_exercise(
            session,
            clinic_id=clinic.a.id,
            patient_id=clinic.aarav.id,
            exercise_id=exercise.id,
            author_id=admin.id,
            weekdays=[0],
            repetitions=1,
            nudge_time=time(18),
            starts_on=TODAY,
            ends_on=TODAY,
            notes=None,
            now=NOW,
            actor=Actor.staff(therapist.id),
        )


def stop(session, clinic, assignment, role=Role.THERAPIST, now=NOW):
    user = clinic.users[role]
    return exercises.stop_assignment(
        session,
        clinic_id=clinic.a.id,
        assignment_id=assignment.id,
        now=now,
        actor=Actor.staff(user.id),
        author_id=user.id,
    )


def test_a_therapist_stops_an_assignment_once_audited(session, clinic):
    assignment = assign(session, clinic, add_exercise(session, clinic))
    for role in (Role.OPERATOR, Role.ACCOUNTANT):
        with pytest.raises(ExerciseRefused):
            stop(session, clinic, assignment, role)
    stop(session, clinic, assignment, now=NOW + timedelta(days=2))
    [kept] = assignments(session)
    assert kept.stopped_at == NOW + timedelta(days=2)
    assert kept.stopped_by_id == clinic.users[Role.THERAPIST].id
    assert exercises.status(kept, TODAY) == "stopped"
    with pytest.raises(InvalidInput, match="already stopped"):
        stop(session, clinic, kept, now=NOW + timedelta(days=3))
    [row] = audited(session, "exercise_assignment.stop")
    assert row.after == {"stopped": True}


def test_an_ended_assignment_is_not_stopped_and_reads_ended(session, clinic):
    assignment = assign(session, clinic, add_exercise(session, clinic), ends_on=TODAY)
    with pytest.raises(InvalidInput, match="already ended"):
        stop(session, clinic, assignment, now=NOW + timedelta(days=1))
    assert exercises.status(assignment, TODAY + timedelta(days=1)) == "ended"


def test_another_clinic_s_assignment_is_not_found_for_stopping(session, clinic):
    assignment = assign(session, clinic, add_exercise(session, clinic))
    b_admin = clinic.users[Role.ADMIN]
    with pytest.raises(NotFound):
        exercises.stop_assignment(
            session,
            clinic_id=clinic.b_session.clinic_id,
            assignment_id=assignment.id,
            now=NOW,
            actor=Actor.staff(b_admin.id),
            author_id=b_admin.id,
        )
