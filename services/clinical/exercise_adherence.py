"""Adherence to a home exercise assignment, per ISO week (Monday to Sunday, clinic-local).

A day is expected when it is one of the assignment's weekdays inside its period and its
nudge time (clinic-local) has come by the cutoff: now, or the moment the assignment was
stopped when that is earlier. So today counts once its nudge is due, and a stop mid-day
keeps the day only if its nudge was already due. A day with an answer counts too when the
answer came early (a day up to the cutoff's clinic-local day). Each expected day is done
(scores 1), partial (``done_count`` of the repetitions, at most 1), skipped, photo-only or
unanswered (0 each); the week's percent is its score over its expected days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from core.clinic_time import at
from core.clock import require_aware
from models import ExerciseAssignment, ExerciseOutcome, ExerciseReply


@dataclass(frozen=True)
class WeekAdherence:
    week_start: date  # the Monday
    expected: int
    done: int
    partial: int
    skipped: int
    media: int  # a photo or a video only
    no_answer: int
    score: float  # done days plus the partial days' fractions

    @property
    def percent(self) -> int | None:
        return None if not self.expected else round(100 * self.score / self.expected)


def expected_days(
    assignment: ExerciseAssignment,
    zone: ZoneInfo,
    now: datetime,
    answered: Iterable[date] = (),
) -> list[date]:
    """The days the assignment expected an answer for, by ``now``, oldest first."""
    cutoff = require_aware(now, "now")
    if assignment.stopped_at is not None:
        cutoff = min(cutoff, require_aware(assignment.stopped_at, "stopped_at"))
    last_day = min(assignment.ends_on, cutoff.astimezone(zone).date())
    answered = set(answered)
    weekdays = set(assignment.weekdays)
    days = []
    day = assignment.starts_on
    while day <= last_day:
        if day.weekday() in weekdays and (
            day in answered or at(day, assignment.nudge_time, zone) <= cutoff
        ):
            days.append(day)
        day += timedelta(days=1)
    return days


def weekly_adherence(
    assignment: ExerciseAssignment,
    replies: Iterable[ExerciseReply],
    zone: ZoneInfo,
    now: datetime,
) -> list[WeekAdherence]:
    """One row per ISO week with an expected day, oldest first."""
    by_day = {r.day: r for r in replies if r.assignment_id == assignment.id}
    weeks: dict[date, dict[str, float]] = {}
    for day in expected_days(assignment, zone, now, by_day):
        week = weeks.setdefault(
            day - timedelta(days=day.weekday()),
            dict.fromkeys(
                ("expected", "done", "partial", "skipped", "media", "no_answer", "score"), 0
            ),
        )
        week["expected"] += 1
        reply = by_day.get(day)
        week["score"] += day_score(assignment, reply)
        if reply is None:
            week["no_answer"] += 1
        elif reply.outcome is ExerciseOutcome.DONE:
            week["done"] += 1
        elif reply.outcome is ExerciseOutcome.PARTIAL:
            week["partial"] += 1
        elif reply.outcome is ExerciseOutcome.SKIPPED:
            week["skipped"] += 1
        else:
            week["media"] += 1
    return [
        WeekAdherence(
            week_start=start,
            expected=int(c["expected"]),
            done=int(c["done"]),
            partial=int(c["partial"]),
            skipped=int(c["skipped"]),
            media=int(c["media"]),
            no_answer=int(c["no_answer"]),
            score=c["score"],
        )
        for start, c in sorted(weeks.items())
    ]


def day_score(assignment: ExerciseAssignment, reply: ExerciseReply | None) -> float:
    """What an expected day counts for: 1 done, the share done when partial, else 0."""
    if reply is None:
        return 0.0
    if reply.outcome is ExerciseOutcome.DONE:
        return 1.0
    if reply.outcome is ExerciseOutcome.PARTIAL:
        return min(1.0, (reply.done_count or 0) / assignment.repetitions)
    return 0.0


def percent_between(
    assignment: ExerciseAssignment, zone: ZoneInfo, now: datetime, first: date, last: date
) -> int | None:
    """The assignment's adherence over the clinic-local days ``first``..``last`` (a
    report's period), as the weekly rows count it; None when no day there was expected."""
    by_day = {r.day: r for r in assignment.replies}
    days = [d for d in expected_days(assignment, zone, now, by_day) if first <= d <= last]
    if not days:
        return None
    return round(100 * sum(day_score(assignment, by_day.get(d)) for d in days) / len(days))


@dataclass(frozen=True)
class ProgrammeLine:
    """A home exercise as a progress report shows it."""

    exercise: str
    weekdays: tuple[int, ...]  # Monday 0 … Sunday 6
    repetitions: int
    percent: int | None  # adherence over the period; None when no day was expected


def programme_for_period(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int,
    first: date,
    last: date,
    zone: ZoneInfo,
    now: datetime,
) -> tuple[ProgrammeLine, ...]:
    """The patient's home exercises that ran during ``first``..``last`` (clinic-local),
    oldest first, each with its adherence over those days as known at ``now``."""
    start = datetime.combine(first, time.min, tzinfo=zone)
    running = session.scalars(
        select(ExerciseAssignment)
        .where(
            ExerciseAssignment.clinic_id == clinic_id,
            ExerciseAssignment.patient_id == patient_id,
            ExerciseAssignment.starts_on <= last,
            ExerciseAssignment.ends_on >= first,
            or_(ExerciseAssignment.stopped_at.is_(None), ExerciseAssignment.stopped_at >= start),
        )
        .options(joinedload(ExerciseAssignment.exercise), selectinload(ExerciseAssignment.replies))
        .order_by(ExerciseAssignment.starts_on, ExerciseAssignment.id)
    ).all()
    return tuple(
        ProgrammeLine(
            exercise=assignment.exercise.name,
            weekdays=tuple(assignment.weekdays),
            repetitions=assignment.repetitions,
            percent=percent_between(assignment, zone, now, first, last),
        )
        for assignment in running
    )
