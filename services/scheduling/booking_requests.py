"""Booking requests: chat bookings a clinic approves first (``approve_chat_bookings``).

``book_appointment`` makes a chat booking at such a clinic a REQUESTED appointment: it
holds the therapist's time like a booking (the same locks, and PostgreSQL's exclusion
constraint counts it), but it gets no reminder, payment link or therapist notice, and
the reports do not count it. The desk sees waiting requests in the panel (a badge and a
list) and approves one (``approve_request``: it becomes the booking the chat would have
made, reminded, billed and told to the patient) or declines it (``decline_request``: it
is cancelled, the time is free again for others and the waitlist, and the patient is
told why). A request nobody answers is declined by the sweep once its start is nearer
than the clinic's minimum notice (``decline_unanswered``), and the patient is told.

A course asked for in the chat (``series.book_series``) is one request of many
sessions: approving or declining any of them decides every session still waiting, and
the patient hears once, of the course.

Each verb is one transaction on the locked appointment of the clinic, audited; a
request decided already is refused, so nobody is told twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, joinedload

from core.clock import require_aware
from core.db import write_transaction
from models import (
    ActorType,
    Appointment,
    AppointmentStatus,
    Clinic,
    ClinicPolicy,
    MessageKind,
    NotificationKind,
)
from services import audit
from services.audit import Actor
from services.billing import payment_requests
from services.errors import N_, InvalidTransition
from services.locks import lock_appointment
from services.messaging import outbox as messaging
from services.messaging.staff_notices import notify_therapist
from services.scheduling.series import start_course

REASON_MAX = 300
AUTO_REASON = "no answer from the clinic before the booking notice"
PAGE_SIZE = 200


def awaiting_approval() -> ColumnElement[bool]:
    """Appointments that are requests still waiting for the clinic (the list's and the
    badge's one rule)."""
    return Appointment.status == AppointmentStatus.REQUESTED


def waiting_requests(
    session: Session, clinic_id: int, *, limit: int = PAGE_SIZE
) -> Sequence[Appointment]:
    """The clinic's waiting requests, soonest first, with what the list shows loaded."""
    return session.scalars(
        select(Appointment)
        .where(Appointment.clinic_id == clinic_id, awaiting_approval())
        .options(
            joinedload(Appointment.patient),
            joinedload(Appointment.service),
            joinedload(Appointment.therapist),
        )
        .order_by(Appointment.start_at, Appointment.id)
        .limit(limit)
    ).all()


def approve_request(
    session: Session, *, clinic_id: int, appointment_id: int, now: datetime, actor: Actor
) -> Appointment:
    """The clinic accepts a chat request: it becomes a booking (BOOKED, as the chat's
    bookings are), gets its reminders and, for a prepaid service, the payment link and
    hold a chat booking gets; the patient and the therapist are told."""
    now = require_aware(now, "now").astimezone(UTC)
    with write_transaction(session):
        appointment = lock_appointment(session, clinic_id, appointment_id)
        _require_waiting(appointment, N_("approved"))
        if appointment.start_at <= now:
            raise InvalidTransition(
                N_("This request's time has passed, so it cannot be approved; decline it.")
            )
        if appointment.series_id is not None:
            return _approve_course(session, appointment, now=now, actor=actor)
        _approve(session, appointment, actor)
        messaging.schedule_reminders(session, appointment, now=now)
        payment_requests.request_for_booking(
            session, appointment, now=now, actor=actor, chat_booking=True
        )
        messaging.notify_patient(session, appointment, event="request_approved", now=now)
        notify_therapist(session, appointment, NotificationKind.BOOKED, actor, now=now)
    return appointment


def _approve(session: Session, appointment: Appointment, actor: Actor) -> None:
    before = audit.snapshot(appointment)
    appointment.status = AppointmentStatus.BOOKED
    audit.record(
        session,
        clinic_id=appointment.clinic_id,
        actor=actor,
        action="appointment.approve",
        entity=appointment,
        before=before,
    )


def _approve_course(
    session: Session, appointment: Appointment, *, now: datetime, actor: Actor
) -> Appointment:
    """A course asked for in the chat is approved as one: every session of it still
    waiting (the times already passed are declined), and the patient told once."""
    sessions = _waiting_in_course(session, appointment)
    ahead = [s for s in sessions if s.start_at > now]
    for passed in sessions:
        if passed.start_at <= now:
            _decline(session, passed, now=now, actor=actor, reason=None, tell=False)
    for each in ahead:
        _approve(session, each, actor)
    start_course(session, ahead, now=now, actor=actor)
    messaging.notify_patient(
        session, ahead[0], event="series_booked", now=now, variables={"count": len(ahead)}
    )
    return appointment


def _waiting_in_course(session: Session, appointment: Appointment) -> list[Appointment]:
    """The course's sessions still waiting for the clinic, locked, in time order."""
    ids = session.scalars(
        select(Appointment.id)
        .where(
            Appointment.clinic_id == appointment.clinic_id,
            Appointment.series_id == appointment.series_id,
            awaiting_approval(),
        )
        .order_by(Appointment.start_at, Appointment.id)
    ).all()
    return [lock_appointment(session, appointment.clinic_id, i) for i in ids]


def decline_request(
    session: Session,
    *,
    clinic_id: int,
    appointment_id: int,
    now: datetime,
    actor: Actor,
    reason: str | None = None,
) -> Appointment:
    """The clinic turns a chat request down: it is cancelled (nothing was billed), the
    time is free again (the waitlist's sweep offers it), and the patient is told, with
    the reason when one is given."""
    now = require_aware(now, "now").astimezone(UTC)
    with write_transaction(session):
        appointment = lock_appointment(session, clinic_id, appointment_id)
        _require_waiting(appointment, N_("declined"))
        _decline_all(session, appointment, now=now, actor=actor, reason=_clean(reason))
    return appointment


def _decline_all(
    session: Session, appointment: Appointment, *, now: datetime, actor: Actor, reason: str | None
) -> None:
    """Decline the request, or, for a course, every session of it still waiting (the
    patient told once, of the whole course)."""
    if appointment.series_id is None:
        _decline(session, appointment, now=now, actor=actor, reason=reason)
        return
    sessions = _waiting_in_course(session, appointment)
    for each in sessions:
        _decline(
            session,
            each,
            now=now,
            actor=actor,
            reason=reason,
            tell=each is sessions[0],
            course_sessions=len(sessions),
        )


def decline_unanswered(session: Session, *, clinic_id: int, now: datetime) -> int:
    """Decline the clinic's requests whose start is nearer than its minimum notice (a
    patient could no longer book that time): the sweep's step. How many were."""
    now = require_aware(now, "now").astimezone(UTC)
    policy = session.get(ClinicPolicy, clinic_id)
    if policy is None:
        return 0
    cutoff = now + timedelta(hours=policy.min_notice_hours)
    ids = session.scalars(
        select(Appointment.id)
        .where(
            Appointment.clinic_id == clinic_id,
            awaiting_approval(),
            Appointment.start_at < cutoff,
        )
        .order_by(Appointment.id)
    ).all()
    declined = 0
    for appointment_id in ids:
        with write_transaction(session):
            appointment = lock_appointment(session, clinic_id, appointment_id)
            if appointment.status is not AppointmentStatus.REQUESTED:
                continue  # decided meanwhile (or declined with its course)
            _decline_all(session, appointment, now=now, actor=Actor.system(), reason=None)
            declined += 1
    return declined


def clinics_with_requests(session: Session) -> list[int]:
    """Clinics that have a request waiting (the sweep visits only those)."""
    return list(
        session.scalars(
            select(Appointment.clinic_id)
            .where(awaiting_approval())
            .distinct()
            .order_by(Appointment.clinic_id)
        )
    )


# --- internals -------------------------------------------------------------------------


def _require_waiting(appointment: Appointment, verb: str) -> None:
    if appointment.status is not AppointmentStatus.REQUESTED:
        raise InvalidTransition(
            N_("This is no longer a request waiting for the clinic, so it cannot be %(verb)s."),
            verb=verb,
        )


def _decline(
    session: Session,
    appointment: Appointment,
    *,
    now: datetime,
    actor: Actor,
    reason: str | None,
    tell: bool = True,
    course_sessions: int | None = None,
) -> None:
    """Cancel the request and (``tell``) tell the patient: of the session, or of the
    course of ``course_sessions`` that starts with it."""
    before = audit.snapshot(appointment)
    unanswered = actor.type is ActorType.SYSTEM
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = now
    appointment.cancelled_by = actor.label()
    appointment.cancellation_reason = AUTO_REASON if unanswered else reason
    audit.record(
        session,
        clinic_id=appointment.clinic_id,
        actor=actor,
        action="appointment.decline",
        entity=appointment,
        before=before,
    )
    if not tell:
        return
    clinic = session.get(Clinic, appointment.clinic_id)
    assert clinic is not None
    if unanswered:
        key, variables = "notice_request_expired", {}
    elif reason:
        key, variables = "notice_request_declined_note", {"note": reason}
    else:
        key, variables = "notice_request_declined", {}
    if course_sessions is not None:
        key = key.replace("notice_request_", "notice_course_request_")
        variables["count"] = course_sessions
    messaging.queue_for_contact(
        session,
        clinic,
        appointment.patient.contact,
        kind=MessageKind.NOTICE,
        template_key=key,
        idempotency_key=f"booking_request:{appointment.id}:declined",
        due_at=now,
        variables=variables,
        appointment_id=appointment.id,
    )


def _clean(text: str | None) -> str | None:
    cleaned = " ".join((text or "").split())[:REASON_MAX]
    return cleaned or None
