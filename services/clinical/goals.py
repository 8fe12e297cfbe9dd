"""Therapy goals: set them for a patient, mark them achieved or discontinued, and log the
value each session measured (through the session record, ``session_records``).

Who may: an admin, or a therapist who sees the patient (has a session with them), in
their own name; the front desk and the accountant never (the roles matrix's "clinical"
on patients says the same for the panel). Every change has an audit row; goal texts
are clinical and stay out of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from core.clock import require_aware
from core.db import write_transaction
from models import (
    Appointment,
    Assessment,
    Goal,
    GoalMeasure,
    GoalStatus,
    GoalTerm,
    Patient,
    SessionRecord,
    StaffUser,
    Therapist,
)
from models.goals import MEASURE_MAX
from models.notes import BODY_MAX
from services import audit
from services.audit import Actor
from services.clinical.notes import NOTE_AUTHORS, OWN_SESSIONS_ONLY, NoteRefused, clean_part
from services.errors import N_, InvalidInput
from services.locks import lock_in_clinic


@dataclass(frozen=True)
class GoalFields:
    term: GoalTerm
    behaviour: str
    measure: str
    baseline: float
    target: float
    due_on: date | None = None
    parent_id: int | None = None  # a short-term goal's long-term goal
    assessment_id: int | None = None  # the assessment that set it (the same patient's)


def set_goal(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int,
    fields: GoalFields,
    now: datetime,
    actor: Actor,
    author_id: int,
) -> Goal:
    """A new goal for the patient, set in the author's name."""
    now = require_aware(now, "now").astimezone(UTC)
    behaviour = _text(fields.behaviour, BODY_MAX, N_("Please say what the goal is."))
    measure = _text(fields.measure, MEASURE_MAX, N_("Please say how the goal is measured."))
    if fields.baseline == fields.target:
        raise InvalidInput(detail=N_("The target must differ from the baseline."))
    if actor.is_staff and actor.id != author_id:
        raise NoteRefused(detail=N_("Goals are set in one's own name."))
    with write_transaction(session):
        patient = lock_in_clinic(session, Patient, clinic_id, patient_id, what=N_("patient"))
        require_clinician(session, clinic_id, patient.id, author_id)
        if fields.parent_id is not None:
            parent = session.get(Goal, fields.parent_id)
            if (
                fields.term is not GoalTerm.SHORT
                or parent is None
                or parent.clinic_id != clinic_id
                or parent.patient_id != patient.id
                or parent.term is not GoalTerm.LONG
            ):
                raise InvalidInput(
                    detail=N_("A step belongs to one of this patient's long-term goals.")
                )
        if fields.assessment_id is not None:
            assessment = session.get(Assessment, fields.assessment_id)
            if (
                assessment is None
                or assessment.clinic_id != clinic_id
                or assessment.patient_id != patient.id
            ):
                raise InvalidInput(detail=N_("A goal is set at one of this patient's assessments."))
        goal = Goal(
            clinic_id=clinic_id,
            patient_id=patient.id,
            set_by_id=author_id,
            term=fields.term,
            parent_id=fields.parent_id,
            assessment_id=fields.assessment_id,
            behaviour=behaviour,
            measure=measure,
            baseline=fields.baseline,
            target=fields.target,
            due_on=fields.due_on,
            status=GoalStatus.ACTIVE,
            created_at=now,
            updated_at=now,
        )
        session.add(goal)
        session.flush()
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="goal.set",
            entity=goal,
            after={
                "patient_id": patient.id,
                "term": goal.term.value,
                "status": "active",
                "assessment_id": goal.assessment_id,
            },
        )
    return goal


def change_goal_status(
    session: Session,
    *,
    clinic_id: int,
    goal_id: int,
    status: GoalStatus,
    now: datetime,
    actor: Actor,
    author_id: int,
) -> Goal:
    """Achieved, discontinued, or worked on again."""
    now = require_aware(now, "now").astimezone(UTC)
    if actor.is_staff and actor.id != author_id:
        raise NoteRefused(detail=N_("Goals are set in one's own name."))
    with write_transaction(session):
        goal = lock_in_clinic(session, Goal, clinic_id, goal_id, what=N_("goal"))
        require_clinician(session, clinic_id, goal.patient_id, author_id)
        before = goal.status
        if before is not status:
            goal.status = status
            goal.updated_at = now
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="goal.status",
                entity=goal,
                before={"status": before.value},
                after={"status": status.value},
            )
    return goal


def goals_for_patient(session: Session, clinic_id: int, patient_id: int) -> Sequence[Goal]:
    """The patient's goals, long-term first, oldest first, each with its measures."""
    return session.scalars(
        select(Goal)
        .where(Goal.clinic_id == clinic_id, Goal.patient_id == patient_id)
        .options(selectinload(Goal.measures))
        .order_by(Goal.term, Goal.created_at, Goal.id)
    ).all()


def active_goals(session: Session, clinic_id: int, patient_id: int) -> Sequence[Goal]:
    return session.scalars(
        select(Goal)
        .where(
            Goal.clinic_id == clinic_id,
            Goal.patient_id == patient_id,
            Goal.status == GoalStatus.ACTIVE,
        )
        .order_by(Goal.term, Goal.created_at, Goal.id)
    ).all()


def measures_of(session: Session, record: SessionRecord) -> dict[int, float]:
    """The values a record logged, by goal id."""
    rows = session.execute(
        select(GoalMeasure.goal_id, GoalMeasure.value).where(
            GoalMeasure.clinic_id == record.clinic_id, GoalMeasure.record_id == record.id
        )
    )
    return {goal_id: value for goal_id, value in rows}


def log_measures(
    session: Session,
    record: SessionRecord,
    appointment: Appointment,
    values: Mapping[int, float],
    *,
    now: datetime,
) -> bool:
    """Replace a draft record's measures with ``values`` (goal id → value); only the
    patient's active goals take one. Returns whether anything changed."""
    if measures_of(session, record) == dict(values):
        return False
    goals = {g.id: g for g in active_goals(session, record.clinic_id, record.patient_id)}
    if any(goal_id not in goals for goal_id in values):
        raise InvalidInput(detail=N_("A measure belongs to one of the patient's active goals."))
    session.execute(
        delete(GoalMeasure).where(
            GoalMeasure.clinic_id == record.clinic_id, GoalMeasure.record_id == record.id
        )
    )
    for goal_id, value in values.items():
        session.add(
            GoalMeasure(
                clinic_id=record.clinic_id,
                goal_id=goal_id,
                record_id=record.id,
                value=value,
                measured_at=appointment.start_at,
                created_at=now,
            )
        )
    return True


def progress(goal: Goal) -> float | None:
    """How far the latest measure is from baseline to target, 0 to 1 (None: not measured)."""
    if not goal.measures:
        return None
    return share(goal, goal.measures[-1].value)


def share(goal: Goal, value: float) -> float:
    """How far ``value`` is from the goal's baseline to its target, 0 to 1."""
    done = (value - goal.baseline) / (goal.target - goal.baseline)
    return max(0.0, min(1.0, done))


def latest_before(goal: Goal, before: datetime) -> GoalMeasure | None:
    """The goal's latest measure taken before ``before`` (aware): "on or before a day" is
    before the start of the next day in the clinic's zone. The one rule for it."""
    before = require_aware(before, "before").astimezone(UTC)
    found = None
    for measure in goal.measures:  # oldest first (the relationship's order)
        if measure.measured_at < before:
            found = measure
    return found


@dataclass(frozen=True)
class Comparison:
    """A goal at two moments: the latest measure before each, the change, the shares."""

    goal: Goal
    a: GoalMeasure | None
    b: GoalMeasure | None

    @property
    def change(self) -> float | None:
        return None if self.a is None or self.b is None else self.b.value - self.a.value

    @property
    def share_a(self) -> float | None:
        return None if self.a is None else share(self.goal, self.a.value)

    @property
    def share_b(self) -> float | None:
        return None if self.b is None else share(self.goal, self.b.value)


def compare(goals: Sequence[Goal], a_before: datetime, b_before: datetime) -> list[Comparison]:
    """Each goal (measures loaded) at two moments, each the start of the day after the
    picked day in the clinic's zone."""
    return [Comparison(g, latest_before(g, a_before), latest_before(g, b_before)) for g in goals]


def first_measured(goals: Sequence[Goal]) -> datetime | None:
    """When the earliest measure of these goals was taken (None: none measured)."""
    times = [m.measured_at for g in goals for m in g.measures]
    return min(times) if times else None


def require_clinician(session: Session, clinic_id: int, patient_id: int, author_id: int) -> None:
    """An admin, or a therapist with a session with the patient."""
    author = session.get(StaffUser, author_id)
    if author is None or not author.active or author.clinic_id != clinic_id:
        raise NoteRefused(detail=N_("Only the clinic's staff can write notes."))
    if author.role not in NOTE_AUTHORS:
        raise NoteRefused(detail=N_("Goals are set by the patient's therapist or an admin."))
    if author.role in OWN_SESSIONS_ONLY:
        sees = session.scalar(
            select(Appointment.id)
            .join(Therapist, Therapist.id == Appointment.therapist_id)
            .where(
                Appointment.clinic_id == clinic_id,
                Appointment.patient_id == patient_id,
                Therapist.staff_user_id == author_id,
            )
            .limit(1)
        )
        if sees is None:
            raise NoteRefused(detail=N_("You can set goals only for your own patients."))


def _text(value: str | None, most: int, empty: str) -> str:
    text = clean_part(value, most)
    if not text:
        raise InvalidInput(detail=empty)
    return text
