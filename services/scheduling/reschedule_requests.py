"""Reschedule requests: asking the clinic to move a session it must approve.

Patients ask from the chat when their session is inside the clinic's reschedule
window (outside it they move it themselves, ``reschedule_appointment``).
Therapists ask from the panel for their own sessions, at least 48 hours ahead.
An admin or operator approves — the move goes through the booking service, so
the same rules and the same no-double-booking guarantee apply — or rejects with
a note. One request per appointment is pending at a time.

Who is told: the booking service already sends the patient a "moved" notice on
a staff move, so approving adds no second message. A rejected patient request
sends the clinic's note to the patient. Therapists have no messaging channel;
they see their requests, and what was decided, in the panel's request list.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.clock import require_aware
from core.db import in_unit_of_work, unit_of_work, write_transaction
from models import (
    ActorType,
    Appointment,
    Clinic,
    ClinicPolicy,
    MessageKind,
    NotificationKind,
    RequesterType,
    RescheduleRequest,
    RescheduleStatus,
    Role,
    StaffUser,
)
from services import audit
from services.audit import Actor
from services.errors import (
    N_,
    Duplicate,
    InThePast,
    InvalidInput,
    InvalidTransition,
    NotFound,
    ServiceError,
)
from services.locks import lock_appointment, lock_in_clinic
from services.messaging import outbox as messaging
from services.messaging.staff_notices import notify_therapist
from services.scheduling.appointments import require_active, reschedule_appointment
from services.staff.accounts import linked_therapist

# Therapists plan their absences; a change closer than this is a call to the front desk.
THERAPIST_NOTICE = timedelta(hours=48)
DECIDERS = frozenset({Role.ADMIN, Role.OPERATOR})
NOTE_MAX = 500


class RequestRefused(ServiceError):
    code = "reschedule_request_refused"
    template = "%(detail)s"  # the sentence is the raise's ``detail``, marked there


class RequestPending(Duplicate):
    code = "reschedule_request_pending"
    template = N_("There is already a request to move this session waiting for the clinic.")


def request_reschedule(
    session: Session,
    *,
    clinic_id: int,
    appointment_id: int,
    proposed_start: datetime | None,
    note: str | None,
    now: datetime,
    actor: Actor,
) -> RescheduleRequest:
    """Ask the clinic to move a session; ``proposed_start=None`` means any other time."""
    now = require_aware(now, "now").astimezone(UTC)  # real-time arithmetic
    if proposed_start is not None:
        proposed_start = require_aware(proposed_start, "proposed_start").astimezone(UTC)
    try:
        with write_transaction(session):
            appointment = lock_appointment(session, clinic_id, appointment_id)
            require_active(appointment, N_("moved"))
            if appointment.start_at <= now:
                raise RequestRefused(detail=N_("This session has already started."))
            requester = _requester_type(session, appointment, actor, now)
            if proposed_start is not None:
                if proposed_start <= now:
                    raise InThePast()
                if proposed_start == appointment.start_at:
                    raise InvalidInput(detail=N_("That is the session's current time."))
            if _pending_id(session, appointment.id) is not None:
                raise RequestPending()
            request = RescheduleRequest(
                clinic_id=clinic_id,
                appointment_id=appointment.id,
                requested_by=actor.label(),
                requester_type=requester,
                proposed_start=proposed_start,
                note=_clean(note),
                status=RescheduleStatus.PENDING,
                original_start=appointment.start_at,
            )
            request.appointment = appointment
            session.add(request)
            # The partial unique index is the final guard against a second pending request.
            session.flush()
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="reschedule_request.create",
                entity=request,
            )
            notify_therapist(session, appointment, NotificationKind.REQUEST, actor, now=now)
    except IntegrityError as exc:
        if "reschedule_request" not in str(exc.orig):
            raise
        raise RequestPending() from None
    return request


def approve_request(
    session: Session,
    *,
    clinic_id: int,
    request_id: int,
    now: datetime,
    actor: Actor,
    new_start: datetime | None = None,
    therapist_id: int | None = None,
    note: str | None = None,
) -> RescheduleRequest:
    """Move the session (to ``new_start``, else the proposed time) and mark it approved.

    A refusal from the booking service (``SlotTaken`` with alternatives, say)
    undoes everything: the request stays pending and the error reaches the caller.
    """
    now = require_aware(now, "now").astimezone(UTC)
    if new_start is not None:
        new_start = require_aware(new_start, "new_start").astimezone(UTC)
    with _one_transaction(session):
        _require_decider(session, actor, clinic_id)
        request = _request_for_update(session, clinic_id, request_id)
        _require_pending(request, N_("approved"))
        start = new_start or request.proposed_start
        if start is None:
            raise InvalidInput(detail=N_("Please choose the new time for this session."))
        before = audit.snapshot(request)
        appointment = reschedule_appointment(
            session,
            clinic_id=clinic_id,
            appointment_id=request.appointment_id,
            new_start=start,
            therapist_id=therapist_id,
            now=now,
            actor=actor,  # staff: no reschedule window; the patient gets the "moved" notice
        )
        _decide(request, RescheduleStatus.APPROVED, actor, now, note)
        request.new_start = appointment.start_at
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="reschedule_request.approve",
            entity=request,
            before=before,
        )
    return request


def reject_request(
    session: Session,
    *,
    clinic_id: int,
    request_id: int,
    note: str,
    now: datetime,
    actor: Actor,
) -> RescheduleRequest:
    """Say no, with a note the requester reads (a patient gets it in the chat)."""
    now = require_aware(now, "now").astimezone(UTC)
    note = _clean(note) or ""
    if not note:
        raise InvalidInput(detail=N_("Please write a note for the requester."))
    with write_transaction(session):
        _require_decider(session, actor, clinic_id)
        request = _request_for_update(session, clinic_id, request_id)
        _require_pending(request, N_("rejected"))
        before = audit.snapshot(request)
        _decide(request, RescheduleStatus.REJECTED, actor, now, note)
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="reschedule_request.reject",
            entity=request,
            before=before,
        )
        if request.requester_type is RequesterType.PATIENT:
            _tell_patient_rejected(session, request, now)
    return request


def withdraw_request(
    session: Session,
    *,
    clinic_id: int,
    request_id: int,
    now: datetime,
    actor: Actor,
) -> RescheduleRequest:
    """The requester (or the front desk) takes a pending request back."""
    now = require_aware(now, "now").astimezone(UTC)
    with write_transaction(session):
        request = _request_for_update(session, clinic_id, request_id)
        if actor.label() != request.requested_by:
            _require_decider(session, actor, clinic_id)
        _require_pending(request, N_("withdrawn"))
        before = audit.snapshot(request)
        _decide(request, RescheduleStatus.WITHDRAWN, actor, now, None)
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="reschedule_request.withdraw",
            entity=request,
            before=before,
        )
    return request


def awaiting_decision() -> ColumnElement[bool]:
    """Requests still waiting for the front desk to approve or reject them (the request
    list's default and the panel's alerts badge)."""
    return RescheduleRequest.status == RescheduleStatus.PENDING


def pending_request(session: Session, appointment_id: int) -> RescheduleRequest | None:
    return session.scalar(
        select(RescheduleRequest).where(
            RescheduleRequest.appointment_id == appointment_id,
            awaiting_decision(),
        )
    )


def therapist_may_request(appointment: Appointment, now: datetime) -> bool:
    """Is the session far enough ahead for its therapist to ask for a change?"""
    return appointment.is_active and appointment.start_at - now >= THERAPIST_NOTICE


# --- internals -------------------------------------------------------------------------


@contextmanager
def _one_transaction(session: Session) -> Iterator[None]:
    """The request and the move it causes commit together, or not at all."""
    if in_unit_of_work(session):
        with write_transaction(session):
            yield
    else:
        with unit_of_work(session):
            yield


def _request_for_update(session: Session, clinic_id: int, request_id: int) -> RescheduleRequest:
    return lock_in_clinic(session, RescheduleRequest, clinic_id, request_id, what=N_("request"))


def _pending_id(session: Session, appointment_id: int) -> int | None:
    return session.scalar(
        select(RescheduleRequest.id).where(
            RescheduleRequest.appointment_id == appointment_id,
            awaiting_decision(),
        )
    )


def _requester_type(
    session: Session, appointment: Appointment, actor: Actor, now: datetime
) -> RequesterType:
    """Who may ask: the session's own patient inside the window, its own therapist early."""
    if actor.type is ActorType.CONTACT:
        if appointment.patient.contact_id != actor.id:
            raise NotFound(what=N_("appointment"))
        policy = session.get(ClinicPolicy, appointment.clinic_id)
        assert policy is not None
        window = timedelta(hours=policy.reschedule_window_hours)
        if appointment.start_at - now >= window:
            raise RequestRefused(
                detail=N_(
                    "This session is far enough ahead to move it yourself: "
                    "reply *reschedule* to choose a new time."
                )
            )
        return RequesterType.PATIENT
    if actor.type is ActorType.STAFF and actor.id is not None:
        _require_staff(session, actor, appointment.clinic_id)
        therapist = linked_therapist(session, appointment.clinic_id, actor.id)
        if therapist is None or therapist.id != appointment.therapist_id:
            raise RequestRefused(detail=N_("You can ask to move only your own sessions."))
        if not therapist_may_request(appointment, now):
            hours = int(THERAPIST_NOTICE.total_seconds() // 3600)
            raise RequestRefused(
                N_(
                    "Sessions can be moved on request up to %(hours)s hours before they "
                    "start. Please talk to the front desk."
                ),
                hours=hours,
            )
        return RequesterType.THERAPIST
    raise RequestRefused(detail=N_("Only the patient or the session's therapist can ask for this."))


def _require_staff(session: Session, actor: Actor, clinic_id: int) -> StaffUser:
    user = session.get(StaffUser, actor.id) if actor.is_staff and actor.id else None
    if user is None or not user.active or user.clinic_id != clinic_id:
        raise RequestRefused(detail=N_("Only the clinic's staff can do this."))
    return user


def _require_decider(session: Session, actor: Actor, clinic_id: int) -> None:
    user = _require_staff(session, actor, clinic_id)
    if user.role not in DECIDERS:
        raise RequestRefused(detail=N_("Only an admin or operator can decide on requests."))


def _require_pending(request: RescheduleRequest, verb: str) -> None:
    if not request.is_pending:
        raise InvalidTransition(
            N_("This request is already %(status)s, so it cannot be %(verb)s."),
            status=request.status.value,
            verb=verb,
        )


def _decide(
    request: RescheduleRequest,
    status: RescheduleStatus,
    actor: Actor,
    now: datetime,
    note: str | None,
) -> None:
    request.status = status
    request.decided_by = actor.label()
    request.decided_at = now
    request.decision_note = _clean(note)


def _tell_patient_rejected(session: Session, request: RescheduleRequest, now: datetime) -> None:
    appointment = request.appointment
    clinic = session.get(Clinic, request.clinic_id)
    assert clinic is not None
    contact = appointment.patient.contact
    messaging.queue_for_contact(
        session,
        clinic,
        contact,
        kind=MessageKind.NOTICE,
        template_key="notice_reschedule_declined",
        idempotency_key=f"reschedule_request:{request.id}:rejected",
        due_at=now,
        variables={"note": request.decision_note or ""},
        appointment_id=appointment.id,
    )


def _clean(text: str | None) -> str | None:
    cleaned = " ".join((text or "").split())[:NOTE_MAX]
    return cleaned or None
