"""The waitlist: patients waiting for a time to free up, offered it in line.

A patient joins for a service, with one therapist or any, on some weekdays and between
some hours or whenever (``join_waitlist``: staff, or the chat when nothing suits).
``offer_freed_times`` (run by the sweep every minute, and at once when someone passes)
walks the clinic's line in order: an entry whose wishes a free time meets is offered
the earliest such time on WhatsApp, held for the clinic's hold (15 minutes unless set).
"Yes" books it (``accept_offer``: the ordinary booking, so a time staff booked in the
meantime is refused and the entry waits on, first in line); "no" or silence passes it
on (``decline_offer``, or the sweep when the hold runs out), never to be offered to them
again. Entries go stale after the clinic's waitlist days.

One time is never offered to two people at once: an offered time is left out of every
other offer, offers are made under the clinic's row lock (one sweep per clinic at a
time), and a partial unique index on (therapist, start) of offered entries is the final
guard. An offer whose time was booked meanwhile is withdrawn by the next sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import require_aware
from core.db import unit_of_work, write_transaction
from core.formatting import format_when
from models import (
    Appointment,
    BookingSource,
    Clinic,
    MessageKind,
    Patient,
    WaitlistEntry,
    WaitlistStatus,
)
from services import audit
from services.audit import Actor
from services.errors import N_, InvalidInput, NotFound, ServiceError, SlotUnavailable
from services.locks import lock_in_clinic
from services.messaging.catalogue import say
from services.messaging.conversations import expect_offer_answer
from services.messaging.outbox import queue_for_contact
from services.scheduling.appointments import book_appointment
from services.scheduling.availability import Slot, load_context, slots_for_context

OFFER_DAYS = 14  # a freed time within the next two weeks (the clinic's horizon caps it)
ACTIVE = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)
SYSTEM = Actor.system()


class OfferGone(ServiceError):
    code = "offer_gone"
    template = N_("That time is no longer held for you.")


def join_waitlist(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int,
    service_id: int,
    now: datetime,
    actor: Actor,
    therapist_id: int | None = None,
    weekdays: list[int] | None = None,
    earliest: time | None = None,
    latest: time | None = None,
) -> WaitlistEntry:
    """Put a patient at the end of the clinic's line (or, already waiting for this
    service, leave them where they are with the wishes given now)."""
    now = require_aware(now, "now").astimezone(UTC)
    if weekdays is not None and (not weekdays or any(d not in range(7) for d in weekdays)):
        raise InvalidInput(detail=N_("Choose at least one weekday, or none for any day."))
    if earliest and latest and earliest > latest:
        raise InvalidInput(detail=N_("The earliest time comes after the latest."))
    with write_transaction(session):
        patient = session.get(Patient, patient_id)
        if patient is None or patient.clinic_id != clinic_id or not patient.active:
            raise NotFound(what=N_("patient"))
        ctx = load_context(session, clinic_id, service_id, therapist_id)
        if therapist_id is not None and therapist_id not in ctx.offers:
            raise InvalidInput(detail=N_("This therapist does not offer that service."))
        entry = session.scalar(
            select(WaitlistEntry).where(
                WaitlistEntry.clinic_id == clinic_id,
                WaitlistEntry.patient_id == patient_id,
                WaitlistEntry.service_id == service_id,
                WaitlistEntry.status.in_(ACTIVE),
            )
        )
        before = audit.snapshot(entry) if entry is not None else None
        if entry is None:
            last = session.scalar(
                select(func.max(WaitlistEntry.position)).where(WaitlistEntry.clinic_id == clinic_id)
            )
            entry = WaitlistEntry(
                clinic_id=clinic_id,
                patient_id=patient_id,
                service_id=service_id,
                position=(last or 0) + 1,
                created_by=actor.label(),
                declined=[],
            )
            session.add(entry)
        entry.therapist_id = therapist_id
        entry.weekdays = sorted(set(weekdays)) if weekdays else None
        entry.earliest, entry.latest = earliest, latest
        entry.expires_at = now + timedelta(days=ctx.policy.waitlist_days)
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="waitlist.join" if before is None else "waitlist.update",
            entity=entry,
            before=before,
        )
    return entry


def remove_entry(session: Session, *, clinic_id: int, entry_id: int, actor: Actor) -> WaitlistEntry:
    """Take someone off the line (an offer they hold goes with it)."""
    with write_transaction(session):
        entry = lock_in_clinic(session, WaitlistEntry, clinic_id, entry_id, what=N_("entry"))
        if entry.status not in ACTIVE:
            return entry
        before = audit.snapshot(entry)
        entry.status = WaitlistStatus.REMOVED
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="waitlist.remove",
            entity=entry,
            before=before,
        )
    return entry


def move_entry(
    session: Session, *, clinic_id: int, entry_id: int, up: bool, actor: Actor
) -> WaitlistEntry:
    """Swap an entry with the one before (``up``) or after it in the line."""
    with write_transaction(session):
        entry = lock_in_clinic(session, WaitlistEntry, clinic_id, entry_id, what=N_("entry"))
        order = WaitlistEntry.position.desc() if up else WaitlistEntry.position
        neighbour = session.scalar(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.clinic_id == clinic_id,
                WaitlistEntry.status.in_(ACTIVE),
                WaitlistEntry.position < entry.position
                if up
                else WaitlistEntry.position > entry.position,
            )
            .order_by(order)
            .limit(1)
            .with_for_update()
        )
        if neighbour is None:
            return entry
        before = audit.snapshot(entry)
        entry.position, neighbour.position = neighbour.position, entry.position
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="waitlist.move",
            entity=entry,
            before=before,
        )
    return entry


def line(session: Session, clinic_id: int) -> list[WaitlistEntry]:
    """The clinic's line as staff see it: who waits (or holds an offer), in order."""
    return list(
        session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.clinic_id == clinic_id, WaitlistEntry.status.in_(ACTIVE))
            .order_by(WaitlistEntry.position)
        )
    )


def clinics_waiting(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(WaitlistEntry.clinic_id)
            .where(WaitlistEntry.status.in_(ACTIVE))
            .distinct()
            .order_by(WaitlistEntry.clinic_id)
        )
    )


@dataclass(frozen=True)
class SweepResult:
    offered: int = 0
    lapsed: int = 0
    withdrawn: int = 0
    expired: int = 0


def offer_freed_times(session: Session, *, clinic_id: int, now: datetime) -> SweepResult:
    """One pass over the clinic's line: stale entries expire, lapsed offers pass on,
    offers whose time was booked meanwhile are withdrawn, then each waiting entry, in
    order, is offered the earliest free time that meets its wishes and nobody holds."""
    now = require_aware(now, "now").astimezone(UTC)
    with write_transaction(session):
        _lock_line(session, clinic_id)
        return _offer(session, clinic_id, now)


def accept_offer(
    session: Session, *, clinic_id: int, entry_id: int, now: datetime, actor: Actor
) -> Appointment:
    """Book the time held for the entry ("yes"). ``OfferGone`` when the hold ran out;
    a ``SlotUnavailable`` when staff booked the time meanwhile (the entry then waits on
    where it stood)."""
    now = require_aware(now, "now").astimezone(UTC)
    refused: SlotUnavailable | None = None
    with unit_of_work(session):
        entry = lock_in_clinic(session, WaitlistEntry, clinic_id, entry_id, what=N_("entry"))
        if (
            entry.status is not WaitlistStatus.OFFERED
            or entry.offer_expires_at is None
            or entry.offer_expires_at <= now
        ):
            raise OfferGone()
        before = audit.snapshot(entry)
        try:
            appointment = book_appointment(
                session,
                clinic_id=clinic_id,
                patient_id=entry.patient_id,
                service_id=entry.service_id,
                therapist_id=entry.offer_therapist_id,
                location_id=entry.offer_location_id,
                start=entry.offer_start,  # type: ignore[arg-type]
                now=now,
                actor=actor,
                source=BookingSource.CHAT,
                offered=True,  # the clinic offered this time: never a request to approve
            )
        except SlotUnavailable as exc:
            refused = exc
            _clear_offer(entry)
            entry.status = WaitlistStatus.WAITING
            action = "waitlist.offer_withdrawn"
        else:
            entry.status = WaitlistStatus.BOOKED
            entry.appointment_id = appointment.id
            action = "waitlist.booked"
        audit.record(
            session, clinic_id=clinic_id, actor=actor, action=action, entity=entry, before=before
        )
    if refused is not None:
        raise refused
    return appointment


def decline_offer(
    session: Session, *, clinic_id: int, entry_id: int, now: datetime, actor: Actor
) -> WaitlistEntry:
    """They pass ("no"): the entry waits on, never offered that time again, and the
    time goes to the next in line at once."""
    now = require_aware(now, "now").astimezone(UTC)
    with write_transaction(session):
        _lock_line(session, clinic_id)
        entry = lock_in_clinic(session, WaitlistEntry, clinic_id, entry_id, what=N_("entry"))
        if entry.status is not WaitlistStatus.OFFERED:
            return entry
        before = audit.snapshot(entry)
        _pass_on(entry)
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="waitlist.declined",
            entity=entry,
            before=before,
        )
        session.flush()
        _offer(session, clinic_id, now)
    return entry


# --- internals -------------------------------------------------------------------------


def _lock_line(session: Session, clinic_id: int) -> None:
    """One pass over a clinic's line at a time: its clinic row, locked FOR NO KEY UPDATE
    (a plain FOR UPDATE would also block every insert that refers to the clinic, and a
    booking holding its therapist's row would deadlock with the offer that refers to it)."""
    session.execute(select(Clinic.id).where(Clinic.id == clinic_id).with_for_update(key_share=True))


# What a pass reads of every active entry: plain rows, not objects (a line of thousands
# is read every minute); an entry it changes is then locked and read again.
_LINE = (
    WaitlistEntry.id,
    WaitlistEntry.status,
    WaitlistEntry.service_id,
    WaitlistEntry.therapist_id,
    WaitlistEntry.weekdays,
    WaitlistEntry.earliest,
    WaitlistEntry.latest,
    WaitlistEntry.declined,
    WaitlistEntry.expires_at,
    WaitlistEntry.offer_start,
    WaitlistEntry.offer_therapist_id,
    WaitlistEntry.offer_expires_at,
)


def _offer(session: Session, clinic_id: int, now: datetime) -> SweepResult:
    rows = session.execute(
        select(*_LINE)
        .where(WaitlistEntry.clinic_id == clinic_id, WaitlistEntry.status.in_(ACTIVE))
        .order_by(WaitlistEntry.position)
    ).all()
    expired = lapsed = withdrawn = offered = 0
    waiting = []
    held: set[tuple[int | None, datetime | None]] = set()
    for row in rows:
        if row.expires_at <= now:
            entry = _relocked(session, row.id, ACTIVE)
            if entry is not None:
                before = audit.snapshot(entry)
                _clear_offer(entry)
                entry.status = WaitlistStatus.EXPIRED
                _audit(session, entry, "waitlist.expired", before)
                expired += 1
        elif row.status is WaitlistStatus.OFFERED and row.offer_expires_at <= now:
            entry = _relocked(session, row.id, (WaitlistStatus.OFFERED,))
            if entry is not None:  # (not if "yes" booked it a moment ago)
                before = audit.snapshot(entry)
                _pass_on(entry)
                _audit(session, entry, "waitlist.offer_lapsed", before)
                lapsed += 1
        elif row.status is WaitlistStatus.OFFERED:
            held.add((row.offer_therapist_id, row.offer_start))
            waiting.append(row)
        else:
            waiting.append(row)
    session.flush()
    offerable_from = _offerable_from(session, clinic_id, now)
    times = _Times(session, clinic_id, now, offerable_from)
    for row in waiting:
        key = (row.service_id, row.therapist_id)
        if row.status is WaitlistStatus.OFFERED:
            if (row.offer_therapist_id, row.offer_start) in times.free(key):
                continue
            entry = _relocked(session, row.id, (WaitlistStatus.OFFERED,))
            if entry is not None:  # booked meanwhile (staff, or a closed day): withdrawn
                before = audit.snapshot(entry)
                held.discard((entry.offer_therapist_id, entry.offer_start))
                _clear_offer(entry)
                entry.status = WaitlistStatus.WAITING
                _audit(session, entry, "waitlist.offer_withdrawn", before)
                withdrawn += 1
            continue
        if not times.any_unheld(key, held):
            continue  # every time there is already held for someone earlier in line
        declined = set(row.declined or ())
        slot = next(
            (
                s
                for s, hold, iso in times.offerable(key)
                if hold not in held and iso not in declined and _wanted(row, s)
            ),
            None,
        )
        if slot is None:
            continue
        entry = _relocked(session, row.id, (WaitlistStatus.WAITING,))
        if entry is None:
            continue
        held.add((slot.therapist_id, slot.start))
        _make_offer(session, entry, slot, now)
        offered += 1
    return SweepResult(offered, lapsed, withdrawn, expired)


def _relocked(
    session: Session, entry_id: int, statuses: tuple[WaitlistStatus, ...]
) -> WaitlistEntry | None:
    """The entry locked and read afresh, if it is still in one of ``statuses``."""
    entry = session.scalar(
        select(WaitlistEntry)
        .where(WaitlistEntry.id == entry_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return entry if entry is not None and entry.status in statuses else None


class _Times:
    """The free times of each (service, therapist or any) a pass needs, read once each:
    every free time (what a standing offer needs), and those a new offer may have, with
    the key that holds them and their ISO start (what ``declined`` lists)."""

    def __init__(
        self, session: Session, clinic_id: int, now: datetime, offerable_from: datetime
    ) -> None:
        self.session, self.clinic_id, self.now = session, clinic_id, now
        self.offerable_from = offerable_from
        self._free: dict[tuple[int, int | None], set[tuple[int, datetime]]] = {}
        self._offerable: dict[tuple[int, int | None], list[tuple[Slot, tuple, str]]] = {}
        self._unheld: dict[tuple[int, int | None], tuple[int, bool]] = {}

    def _load(self, key: tuple[int, int | None]) -> None:
        service_id, therapist_id = key
        slots = _free(self.session, self.clinic_id, service_id, therapist_id, self.now)
        self._free[key] = {(s.therapist_id, s.start) for s in slots}
        self._offerable[key] = [
            (s, (s.therapist_id, s.start), s.start.astimezone(UTC).isoformat())
            for s in slots
            if s.start >= self.offerable_from
        ]

    def free(self, key: tuple[int, int | None]) -> set[tuple[int, datetime]]:
        if key not in self._free:
            self._load(key)
        return self._free[key]

    def offerable(self, key: tuple[int, int | None]) -> list[tuple[Slot, tuple, str]]:
        if key not in self._offerable:
            self._load(key)
        return self._offerable[key]

    def any_unheld(self, key: tuple[int, int | None], held: set) -> bool:
        """Is any offerable time of ``key`` not held? Asked again only once more are held."""
        known = self._unheld.get(key)
        if known is not None and known[0] == len(held):
            return known[1]
        answer = any(hold not in held for _, hold, _ in self.offerable(key))
        self._unheld[key] = (len(held), answer)
        return answer


def _free(
    session: Session, clinic_id: int, service_id: int, therapist_id: int | None, now: datetime
) -> list[Slot]:
    """Every free time for a service (and therapist) from now to the end of the offer
    window (the clinic's horizon caps it): what an offer still stands on."""
    ctx = load_context(session, clinic_id, service_id, therapist_id)
    today = now.astimezone(ctx.zone).date()
    days = min(OFFER_DAYS, ctx.policy.booking_horizon_days)
    return slots_for_context(
        session,
        ctx,
        start_date=today,
        end_date=today + timedelta(days=days),
        now=now,
        respect_policy=False,
    )


def _offerable_from(session: Session, clinic_id: int, now: datetime) -> datetime:
    """The earliest start a new offer may have: one the patient may still book (the
    clinic's notice) when they answer in the hold's last minute."""
    clinic = session.get(Clinic, clinic_id)
    assert clinic is not None
    policy = clinic.policy
    return now + timedelta(minutes=policy.waitlist_hold_minutes, hours=policy.min_notice_hours)


def _wanted(entry: Any, slot: Slot) -> bool:
    local = slot.start  # in the clinic's zone already
    if entry.weekdays and local.weekday() not in entry.weekdays:
        return False
    if entry.earliest and local.time() < entry.earliest:
        return False
    return not (entry.latest and local.time() > entry.latest)


def _make_offer(session: Session, entry: WaitlistEntry, slot: Slot, now: datetime) -> None:
    before = audit.snapshot(entry)
    clinic = session.get(Clinic, entry.clinic_id)
    assert clinic is not None
    minutes = clinic.policy.waitlist_hold_minutes
    entry.status = WaitlistStatus.OFFERED
    entry.offer_start = slot.start.astimezone(UTC)
    entry.offer_therapist_id = slot.therapist_id
    entry.offer_location_id = slot.location_id
    entry.offer_expires_at = now + timedelta(minutes=minutes)
    _audit(session, entry, "waitlist.offered", before)
    session.flush()  # the unique index: never one time held for two
    patient = entry.patient
    contact = patient.contact
    lang = contact.language
    ctx = load_context(session, entry.clinic_id, entry.service_id, slot.therapist_id)
    message = queue_for_contact(
        session,
        clinic,
        contact,
        kind=MessageKind.NOTICE,
        template_key="waitlist_offer",
        idempotency_key=f"waitlist:{entry.id}:{slot.start.astimezone(UTC):%Y%m%dT%H%M}",
        due_at=now,
        variables={
            "patient": patient.name,
            "service": ctx.service.name,
            "therapist": ctx.offers[slot.therapist_id].name,
            "when": format_when(slot.start, clinic.timezone, lang),
            "minutes": minutes,
        },
    )
    if message is not None:
        expect_offer_answer(
            session,
            clinic_id=clinic.id,
            channel=message.channel,
            phone=contact.phone,
            contact_id=contact.id,
            entry_id=entry.id,
            choices=[("yes", say(lang, "waitlist_take")), ("no", say(lang, "waitlist_pass"))],
        )


def _pass_on(entry: WaitlistEntry) -> None:
    if entry.offer_start is not None:
        entry.declined = [*(entry.declined or []), entry.offer_start.astimezone(UTC).isoformat()]
    _clear_offer(entry)
    entry.status = WaitlistStatus.WAITING


def _clear_offer(entry: WaitlistEntry) -> None:
    entry.offer_start = entry.offer_therapist_id = entry.offer_location_id = None
    entry.offer_expires_at = None


def _audit(session: Session, entry: WaitlistEntry, action: str, before: dict) -> None:
    audit.record(
        session, clinic_id=entry.clinic_id, actor=SYSTEM, action=action, entity=entry, before=before
    )
