"""Booking verbs: book, reschedule, change length, cancel, confirm, complete, mark no-show.

Each is one transaction and writes one audit row. Double booking is prevented
twice: the availability check runs under a lock (SQLite: BEGIN IMMEDIATE;
PostgreSQL: the therapist's row FOR UPDATE), and on PostgreSQL an exclusion
constraint is the final guard. Either way a lost race is ``SlotTaken`` with
alternatives, never a 500.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import require_aware
from core.db import in_unit_of_work, write_transaction
from models import (
    ActorType,
    Appointment,
    AppointmentCounter,
    AppointmentStatus,
    BookingSource,
    ClinicPolicy,
    MessageKind,
    NotificationKind,
    Patient,
    PaymentStatus,
    RescheduleRequest,
    RescheduleStatus,
    Therapist,
)
from services import audit
from services.audit import Actor
from services.billing import credits, payment_requests
from services.billing import invoices as billing
from services.billing.numbering import next_value
from services.errors import (
    N_,
    BeyondHorizon,
    InThePast,
    InvalidInput,
    InvalidTransition,
    NotFound,
    OutsideHours,
    SlotTaken,
    TooLateToCancel,
    TooLateToReschedule,
    TooSoon,
)
from services.locks import lock_appointment
from services.messaging import outbox as messaging
from services.messaging.staff_notices import notify_therapist
from services.scheduling import video
from services.scheduling.availability import (
    BookingContext,
    Slot,
    group_overlap_key,
    load_context,
    one_therapist,
    slots_for_context,
)

ALTERNATIVES = 3
_REMINDERS = (MessageKind.REMINDER,)


def is_request(policy: ClinicPolicy, source: BookingSource) -> bool:
    """A chat booking (one session or a course) at a clinic that approves them first is a
    request: it holds the time, but is not reminded, billed or told to the therapist until
    the clinic approves it (``booking_requests``)."""
    return source is BookingSource.CHAT and policy.approve_chat_bookings


def book_appointment(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int,
    service_id: int,
    start: datetime,
    now: datetime,
    actor: Actor,
    source: BookingSource,
    therapist_id: int | None = None,
    location_id: int | None = None,
    online: bool | None = None,
    offered: bool = False,
) -> Appointment:
    """Book ``start`` for a patient; ``therapist_id=None`` means any available therapist.
    ``online``: a video session (None: the service's default, see ``video.choose_online``).
    A chat booking at a clinic that approves them is a request (``booking_requests``),
    unless ``offered``: the clinic itself offered the time (a waitlist offer)."""
    require_aware(start, "start")
    now = require_aware(now, "now").astimezone(UTC)  # real-time arithmetic, not wall-clock
    ctx: BookingContext | None = None
    try:
        with write_transaction(session):
            # From the identity map when the caller (a chat turn) has it loaded already.
            patient = session.get(Patient, patient_id)
            if patient is None or patient.clinic_id != clinic_id or not patient.active:
                raise NotFound(what=N_("patient"))
            ctx = load_context(session, clinic_id, service_id, therapist_id)
            is_online = video.choose_online(ctx.service, online)
            check_time_policy(ctx, start, now, actor)
            slot = _claim_slot(
                session, ctx, start, now, location_id, ignore_appointment_id=None, actor=actor
            )
            offer = ctx.offers[slot.therapist_id]
            therapist = ctx.therapists[slot.therapist_id]
            number = _next_number(session, clinic_id, now.astimezone(ctx.zone).year)
            requested = is_request(ctx.policy, source) and not offered
            appointment = Appointment(
                clinic_id=clinic_id,
                number=number,
                patient_id=patient.id,
                therapist_id=slot.therapist_id,
                service_id=service_id,
                location_id=slot.location_id,
                start_at=start,
                end_at=slot.end,  # computed in UTC, so right across a DST change
                status=AppointmentStatus.REQUESTED if requested else AppointmentStatus.BOOKED,
                price_minor=offer.price_minor,
                payment_status=PaymentStatus.UNPAID
                if offer.price_minor
                else PaymentStatus.NOT_REQUIRED,
                source=source,
                overlap_key=overlap_key(ctx, start, number),
                created_by=actor.label(),
                backdated_at=now if start <= now else None,
                online=is_online,
                video_url=video.video_url_for(ctx.policy, therapist) if is_online else None,
            )
            # Set the loaded objects too: the confirmation reads them, and the
            # session's identity map holds objects only while something refers to them.
            appointment.patient = patient
            appointment.service = ctx.service
            appointment.therapist = therapist
            session.add(appointment)
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="appointment.request" if requested else "appointment.book",
                entity=appointment,
            )
            # The desk sees a request in the panel's badge and list (booking_requests).
            if not requested:
                messaging.schedule_reminders(session, appointment, now=now)
                payment_requests.request_for_booking(session, appointment, now=now, actor=actor)
                if actor.is_staff and not appointment.backdated:
                    messaging.notify_patient(session, appointment, event="booked", now=now)
                notify_therapist(session, appointment, NotificationKind.BOOKED, actor, now=now)
    except _Unavailable as exc:
        assert ctx is not None
        raise _refusal(session, exc, ctx, start, now, location_id, actor=actor) from None
    except IntegrityError as exc:
        if not _is_overlap_violation(exc) or ctx is None:
            raise
        raise SlotTaken(
            alternatives=_alternatives(session, ctx, start, now, location_id, actor=actor)
        ) from None
    return appointment


def reschedule_appointment(
    session: Session,
    *,
    clinic_id: int,
    appointment_id: int,
    new_start: datetime,
    now: datetime,
    actor: Actor,
    therapist_id: int | None = None,
    location_id: int | None = None,
    tell_patient: bool = True,
) -> Appointment:
    """Move an active appointment. Patients are held to the reschedule window; staff are not.
    ``tell_patient=False``: the caller tells them once for several (a course's sessions)."""
    require_aware(new_start, "new_start")
    now = require_aware(now, "now").astimezone(UTC)  # real-time arithmetic, not wall-clock
    ctx: BookingContext | None = None
    try:
        with write_transaction(session):
            appointment = lock_appointment(session, clinic_id, appointment_id)
            require_active(appointment, N_("moved"))
            window = timedelta(hours=_policy_hours(session, appointment, "reschedule"))
            if actor.type is ActorType.CONTACT and appointment.start_at - now < window:
                raise TooLateToReschedule(hours=int(window.total_seconds() // 3600))
            before = audit.snapshot(appointment)
            left_therapist = appointment.therapist_id
            target_therapist = therapist_id or appointment.therapist_id
            ctx = load_context(session, clinic_id, appointment.service_id, target_therapist)
            check_time_policy(ctx, new_start, now, actor)
            slot = _claim_slot(
                session,
                ctx,
                new_start,
                now,
                location_id,
                ignore_appointment_id=appointment.id,
                actor=actor,
            )
            appointment.therapist = ctx.therapists[slot.therapist_id]
            if appointment.online:
                appointment.video_url = video.link_after_move(
                    ctx.policy,
                    appointment.therapist,
                    current=appointment.video_url,
                    therapist_changed=left_therapist != slot.therapist_id,
                )
            appointment.location_id = slot.location_id
            appointment.start_at = new_start
            appointment.end_at = slot.end
            appointment.overlap_key = overlap_key(ctx, new_start, appointment.number)
            if appointment.status is not AppointmentStatus.REQUESTED:  # still awaits the clinic
                appointment.status = AppointmentStatus.BOOKED
            appointment.confirmed_at = None
            appointment.backdated_at = now if new_start <= now else None
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="appointment.reschedule",
                entity=appointment,
                before=before,
            )
            messaging.cancel_pending(
                session, appointment.id, kinds=_REMINDERS, reason="the session moved"
            )
            messaging.schedule_reminders(session, appointment, now=now)
            if actor.is_staff and not appointment.backdated and tell_patient:
                messaging.notify_patient(session, appointment, event="moved", now=now)
            notify_therapist(session, appointment, NotificationKind.MOVED, actor, now=now)
            if left_therapist != appointment.therapist_id:  # the one it moved away from
                notify_therapist(
                    session,
                    appointment,
                    NotificationKind.MOVED,
                    actor,
                    now=now,
                    therapist_id=left_therapist,
                )
    except _Unavailable as exc:
        assert ctx is not None
        raise _refusal(
            session, exc, ctx, new_start, now, location_id, appointment_id, actor=actor
        ) from None
    except IntegrityError as exc:
        if not _is_overlap_violation(exc) or ctx is None:
            raise
        raise SlotTaken(
            alternatives=_alternatives(
                session, ctx, new_start, now, location_id, appointment_id, actor=actor
            )
        ) from None
    return appointment


def change_length(
    session: Session,
    *,
    clinic_id: int,
    appointment_id: int,
    new_end: datetime,
    now: datetime,
    actor: Actor,
) -> Appointment:
    """End an active session at ``new_end`` (its start, therapist and place stay): the
    calendar's resize. The same guarantees as a move: the longer session must be free of
    others and inside the therapist's hours (under the same lock, with the exclusion
    constraint as the last guard), patients are held to the reschedule window and staff
    are not, one audit row. The patient is told the new length (``notice_length_changed``)
    and the therapist is told it was resized, as a move tells them it moved."""
    new_end = require_aware(new_end, "new_end")
    now = require_aware(now, "now").astimezone(UTC)  # real-time arithmetic, not wall-clock
    ctx: BookingContext | None = None
    start: datetime | None = None
    location_id: int | None = None
    try:
        with write_transaction(session):
            appointment = lock_appointment(session, clinic_id, appointment_id)
            require_active(appointment, N_("changed"))
            start, location_id = appointment.start_at, appointment.location_id
            window = timedelta(hours=_policy_hours(session, appointment, "reschedule"))
            if actor.type is ActorType.CONTACT and start - now < window:
                raise TooLateToReschedule(hours=int(window.total_seconds() // 3600))
            if new_end == appointment.end_at:
                return appointment  # dropped where it was: nothing to change or tell
            minutes = (new_end - start).total_seconds() / 60
            if minutes <= 0 or minutes != int(minutes):
                raise InvalidInput(detail=N_("A session must end after it starts, on the minute."))
            therapist_id = appointment.therapist_id
            full = load_context(session, clinic_id, appointment.service_id, therapist_id)
            if full.service.capacity > 1:
                raise InvalidInput(detail=N_("A group session lasts as long as its service."))
            offer = replace(full.offers[therapist_id], duration_minutes=int(minutes))
            ctx = replace(full, offers={therapist_id: offer})
            before = audit.snapshot(appointment)
            check_time_policy(ctx, start, now, actor)
            slot = _claim_slot(
                session,
                ctx,
                start,
                now,
                location_id,
                ignore_appointment_id=appointment.id,
                actor=actor,
            )
            appointment.end_at = slot.end
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="appointment.change_length",
                entity=appointment,
                before=before,
            )
            if actor.is_staff and not appointment.backdated:
                messaging.notify_patient(session, appointment, event="length_changed", now=now)
            notify_therapist(session, appointment, NotificationKind.RESIZED, actor, now=now)
    except _Unavailable as exc:
        assert ctx is not None and start is not None
        raise _refusal(
            session, exc, ctx, start, now, location_id, appointment_id, actor=actor
        ) from None
    except IntegrityError as exc:
        if not _is_overlap_violation(exc) or ctx is None or start is None:
            raise
        raise SlotTaken(
            alternatives=_alternatives(
                session, ctx, start, now, location_id, appointment_id, actor=actor
            )
        ) from None
    return appointment


def cancel_appointment(
    session: Session,
    *,
    clinic_id: int,
    appointment_id: int,
    now: datetime,
    actor: Actor,
    reason: str | None = None,
    waive_charge: bool = False,
    notice: str = "cancelled",
    tell_patient: bool = True,
) -> Appointment:
    """Cancel and free the slot. Patients are held to the cancellation window; staff are not.

    Billing follows the policy: outside the window (or with ``waive_charge``, which
    staff must give a reason for) the session's invoice is voided, so what paid it
    is on account for a refund, and package credit comes back; inside it, the
    session stays charged. ``tell_patient=False``: the caller tells them once for
    several (a course's sessions).
    """
    now = require_aware(now, "now").astimezone(UTC)  # real-time arithmetic, not wall-clock
    if waive_charge and not (reason or "").strip():
        raise InvalidInput(detail=N_("Please give a reason for waiving the charge."))
    with write_transaction(session):
        appointment = lock_appointment(session, clinic_id, appointment_id)
        require_active(appointment, N_("cancelled"))
        window = timedelta(hours=_policy_hours(session, appointment, "cancellation"))
        # A request the clinic has not approved is withdrawn freely: nothing was billed.
        requested = appointment.status is AppointmentStatus.REQUESTED
        inside_window = appointment.start_at - now < window and not requested
        if actor.type is ActorType.CONTACT and inside_window:
            raise TooLateToCancel(hours=int(window.total_seconds() // 3600))
        before = audit.snapshot(appointment)
        appointment.status = AppointmentStatus.CANCELLED
        appointment.cancelled_at = now
        appointment.cancelled_by = actor.label()
        appointment.cancellation_reason = (reason or "").strip()[:300] or None
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="appointment.cancel",
            entity=appointment,
            before=before,
        )
        messaging.cancel_pending(
            session, appointment.id, kinds=_REMINDERS, reason="the session was cancelled"
        )
        _withdraw_reschedule_requests(session, appointment, now=now, actor=actor)
        charged = inside_window and not waive_charge and actor.is_staff
        if not charged and not requested:
            _uncharge(session, appointment, reason=reason, now=now, actor=actor)
        if actor.type is not ActorType.CONTACT and tell_patient:
            messaging.notify_patient(session, appointment, event=notice, now=now)
        if not requested:  # the therapist hears of a request once it is approved
            notify_therapist(session, appointment, NotificationKind.CANCELLED, actor, now=now)
    return appointment


def _withdraw_reschedule_requests(
    session: Session, appointment: Appointment, *, now: datetime, actor: Actor
) -> None:
    """A pending request to move a cancelled session has nothing left to move."""
    session.execute(
        update(RescheduleRequest)
        .where(
            RescheduleRequest.appointment_id == appointment.id,
            RescheduleRequest.status == RescheduleStatus.PENDING,
        )
        .values(
            status=RescheduleStatus.WITHDRAWN,
            decided_by=actor.label(),
            decided_at=now,
            decision_note="the session was cancelled",
        )
    )


def _uncharge(
    session: Session, appointment: Appointment, *, reason: str | None, now: datetime, actor: Actor
) -> None:
    """A cancelled session that is not charged: its package credit comes back and its
    invoice is voided, so what paid it is on account for a refund."""
    credits.return_credit(session, appointment, now=now, actor=actor)
    invoice = billing.session_invoice(session, appointment.id)
    if invoice is not None:
        billing.void_invoice(
            session, invoice, reason=f"session cancelled: {reason or 'no reason'}", actor=actor
        )


def confirm_appointment(
    session: Session, *, clinic_id: int, appointment_id: int, now: datetime, actor: Actor
) -> Appointment:
    """The patient said they will come. Confirming twice is harmless."""
    with write_transaction(session):
        appointment = lock_appointment(session, clinic_id, appointment_id)
        require_active(appointment, N_("confirmed"))
        require_booked(appointment, N_("confirmed"))
        if appointment.status is AppointmentStatus.CONFIRMED:
            return appointment
        before = audit.snapshot(appointment)
        appointment.status = AppointmentStatus.CONFIRMED
        appointment.confirmed_at = now
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="appointment.confirm",
            entity=appointment,
            before=before,
        )
    return appointment


def complete_appointment(
    session: Session, *, clinic_id: int, appointment_id: int, now: datetime, actor: Actor
) -> Appointment:
    return _close(session, clinic_id, appointment_id, now, actor, AppointmentStatus.COMPLETED)


def mark_no_show(
    session: Session, *, clinic_id: int, appointment_id: int, now: datetime, actor: Actor
) -> Appointment:
    return _close(session, clinic_id, appointment_id, now, actor, AppointmentStatus.NO_SHOW)


def _close(
    session: Session,
    clinic_id: int,
    appointment_id: int,
    now: datetime,
    actor: Actor,
    status: AppointmentStatus,
) -> Appointment:
    now = require_aware(now, "now").astimezone(UTC)  # real-time arithmetic, not wall-clock
    verb = N_("completed") if status is AppointmentStatus.COMPLETED else N_("marked as a no-show")
    with write_transaction(session):
        appointment = lock_appointment(session, clinic_id, appointment_id)
        require_active(appointment, verb)
        require_booked(appointment, verb)
        if appointment.start_at > now:
            raise InvalidTransition(
                N_("This session has not started yet, so it cannot be %(verb)s."), verb=verb
            )
        before = audit.snapshot(appointment)
        appointment.status = status
        if status is AppointmentStatus.COMPLETED:
            appointment.completed_at = now
            if appointment.payment_status is not PaymentStatus.PAID:
                # Pay-after sessions are invoiced once delivered.
                billing.invoice_appointment(session, appointment, now=now, actor=actor)
                billing.settle(
                    session, clinic_id, appointment.patient.contact_id, now=now, actor=actor
                )
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action=f"appointment.{status.value}",
            entity=appointment,
            before=before,
        )
        messaging.cancel_pending(
            session, appointment.id, kinds=_REMINDERS, reason=f"the session is {status.value}"
        )
    return appointment


# --- internals -------------------------------------------------------------------------


class _Unavailable(Exception):
    """Raised inside the transaction; turned into a patient-facing refusal after it."""


def check_time_policy(ctx: BookingContext, start: datetime, now: datetime, actor: Actor) -> None:
    """The clinic's notice and horizon are patient rules. Staff may act now: book a
    walk-in inside the notice, far ahead, or enter a session that already started
    (the appointment is then marked ``backdated``, and the audit row carries it)."""
    if actor.is_staff:
        return
    policy = ctx.policy
    if start <= now:
        raise InThePast()
    if start < now + timedelta(hours=policy.min_notice_hours):
        raise TooSoon(hours=policy.min_notice_hours)
    if start >= now + timedelta(days=policy.booking_horizon_days):
        raise BeyondHorizon(days=policy.booking_horizon_days)


def _claim_slot(
    session: Session,
    ctx: BookingContext,
    start: datetime,
    now: datetime,
    location_id: int | None,
    ignore_appointment_id: int | None,
    actor: Actor,
) -> Slot:
    """Find a free slot at ``start`` and lock its therapist so nobody else takes it.

    Therapists are locked in id order, so two bookings can never deadlock.
    """
    day = start.astimezone(ctx.zone).date()
    for therapist_id in sorted(ctx.offers):
        session.execute(select(Therapist.id).where(Therapist.id == therapist_id).with_for_update())
        one = one_therapist(ctx, therapist_id)
        for slot in slots_for_context(
            session,
            one,
            start_date=day,
            end_date=day,
            now=now,
            location_id=location_id,
            ignore_appointment_id=ignore_appointment_id,
            **_policy_for(actor),
        ):
            if slot.start == start:
                return slot
    raise _Unavailable()


def _refusal(
    session: Session,
    exc: _Unavailable,
    ctx: BookingContext,
    start: datetime,
    now: datetime,
    location_id: int | None,
    ignore_appointment_id: int | None = None,
    *,
    actor: Actor,
) -> Exception:
    """Taken (someone booked it) or outside hours (nobody could)? Tell them which."""
    day = start.astimezone(ctx.zone).date()
    alternatives = _alternatives(
        session, ctx, start, now, location_id, ignore_appointment_id, actor=actor
    )
    workable = slots_for_context(
        session,
        ctx,
        start_date=day,
        end_date=day,
        now=now,
        location_id=location_id,
        respect_bookings=False,
        **_policy_for(actor),
    )
    _end_read(session)
    if any(slot.start == start for slot in workable):
        return SlotTaken(alternatives=alternatives)
    return OutsideHours(alternatives=alternatives)


def _alternatives(
    session: Session,
    ctx: BookingContext,
    around: datetime,
    now: datetime,
    location_id: int | None,
    ignore_appointment_id: int | None = None,
    *,
    actor: Actor,
) -> list[Slot]:
    """The free start times nearest to the one asked for, one slot per time (for staff
    from now on, with no notice or horizon: alternatives never suggest the past)."""
    day = around.astimezone(ctx.zone).date()
    slots = slots_for_context(
        session,
        ctx,
        start_date=day - timedelta(days=1),
        end_date=day + timedelta(days=7),
        now=now,
        location_id=location_id,
        ignore_appointment_id=ignore_appointment_id,
        respect_policy=not actor.is_staff,
    )
    _end_read(session)
    by_start: dict[datetime, Slot] = {}
    for slot in slots:
        by_start.setdefault(slot.start, slot)
    around = around.astimezone(UTC)  # real distance, not wall-clock, across a DST change
    nearest = sorted(
        by_start.values(), key=lambda s: (abs(s.start.astimezone(UTC) - around), s.start)
    )
    return sorted(nearest[:ALTERNATIVES])


def _policy_for(actor: Actor) -> dict[str, bool]:
    """Which slots a booking by this actor may take (see ``check_time_policy``)."""
    staff = actor.is_staff
    return {"respect_policy": not staff, "allow_past": staff}


def _end_read(session: Session) -> None:
    """Close the read transaction the refusal checks opened (not a caller's unit of work)."""
    if not in_unit_of_work(session):
        session.rollback()


def overlap_key(ctx: BookingContext, start: datetime, number: str) -> str:
    if ctx.service.capacity > 1:
        return group_overlap_key(ctx.service.id, start)
    return f"a:{number}"


def _next_number(session: Session, clinic_id: int, year: int) -> str:
    """APT-<year>-<6 digits>, from a per-clinic counter."""
    value = next_value(session, AppointmentCounter.__table__, clinic_id=clinic_id, year=year)
    return f"APT-{year}-{value:06d}"


def require_active(appointment: Appointment, verb: str) -> None:
    """Refuse a verb on a session that is no longer booked or confirmed."""
    if not appointment.is_active:
        raise InvalidTransition(status=_ENDED[appointment.status], verb=verb)


def require_booked(appointment: Appointment, verb: str) -> None:
    """Refuse a verb that needs a real booking on a request the clinic has not approved."""
    if appointment.status is AppointmentStatus.REQUESTED:
        raise InvalidTransition(
            N_(
                "This session is a request the clinic has not approved yet, so it cannot be "
                "%(verb)s."
            ),
            verb=verb,
        )


# How the refusal names a session that is over (words the panel translates).
_ENDED = {
    AppointmentStatus.COMPLETED: N_("completed"),
    AppointmentStatus.CANCELLED: N_("cancelled"),
    AppointmentStatus.NO_SHOW: N_("no-show"),
}


def _policy_hours(session: Session, appointment: Appointment, which: str) -> int:
    policy = session.get(ClinicPolicy, appointment.clinic_id)
    assert policy is not None
    return (
        policy.cancellation_window_hours
        if which == "cancellation"
        else policy.reschedule_window_hours
    )


def _is_overlap_violation(exc: IntegrityError) -> bool:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None) == "no_overlap"
