"""The waitlist (services.scheduling.waitlist): freed times offered in line, held for the
clinic's hold, booked on "yes", passed on by "no" or silence, never one time to two people,
and withdrawn when staff book the time meanwhile.

The therapist here works only Tuesdays 10:00-11:30 (room for two 45-minute sessions), and
both Tuesdays in the offer window are booked full: a time frees only when one is cancelled.
Dates are pinned around ``NOW`` (Monday 23 Nov 2026, 09:00 in Kolkata)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import (
    Appointment,
    Conversation,
    OutboundMessage,
    WaitlistEntry,
    WaitlistStatus,
)
from services.errors import NotFound, SlotTaken
from services.scheduling.appointments import cancel_appointment
from services.scheduling.waitlist import (
    OfferGone,
    accept_offer,
    decline_offer,
    join_waitlist,
    line,
    move_entry,
    offer_freed_times,
    remove_entry,
)
from tests.conftest import NOW
from tests.scheduling.booking_support import STAFF, book, ist, patient_of

TUE, NEXT_TUE = date(2026, 11, 24), date(2026, 12, 1)


@pytest.fixture
def clinic(make_clinic):
    return make_clinic()


@pytest.fixture
def therapist(clinic, make_therapist):
    return make_therapist(clinic, hours={1: (time(10), time(11, 30))})


@pytest.fixture
def service(clinic, therapist, make_service):
    return make_service(clinic, minutes=45)


@pytest.fixture
def full(session, clinic, service, therapist, make_patient):
    """Both Tuesdays booked full by other patients: {(day, hour, minute): appointment}."""
    booked = {}
    for n, (day, hour, minute) in enumerate(
        [(TUE, 10, 0), (TUE, 10, 45), (NEXT_TUE, 10, 0), (NEXT_TUE, 10, 45)]
    ):
        other = make_patient(clinic, name=f"Regular {n}")
        booked[(day, hour, minute)] = book(
            session, clinic, other, service, ist(day, hour, minute), actor=STAFF
        )
    return booked


@pytest.fixture
def waiting(session, clinic, service, make_patient, full):
    """Asha's Aarav, Kabir and Meera wait, in that order, for any time."""
    entries = []
    for name in ("Aarav", "Kabir", "Meera"):
        patient = make_patient(clinic, name=name)
        entries.append(
            join_waitlist(
                session,
                clinic_id=clinic.id,
                patient_id=patient.id,
                service_id=service.id,
                now=NOW,
                actor=STAFF,
            )
        )
    return entries


def cancel(session, clinic, appointment, now=NOW):
    cancel_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=now, actor=STAFF
    )


def sweep(session, clinic, now=NOW):
    return offer_freed_times(session, clinic_id=clinic.id, now=now)


def fresh(session, entries):
    session.expire_all()
    return [session.get(WaitlistEntry, e.id) for e in entries]


def offers_sent(session) -> list[OutboundMessage]:
    return list(
        session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.template_key == "waitlist_offer")
            .order_by(OutboundMessage.id)
        )
    )


def test_nothing_free_offers_nothing(session, clinic, waiting):
    assert sweep(session, clinic).offered == 0
    assert {e.status for e in fresh(session, waiting)} == {WaitlistStatus.WAITING}


def test_two_freed_times_go_to_the_first_two_in_line_never_one_to_two(
    session, clinic, full, waiting
):
    cancel(session, clinic, full[(NEXT_TUE, 10, 45)])
    cancel(session, clinic, full[(TUE, 10, 0)])

    assert sweep(session, clinic).offered == 2

    aarav, kabir, meera = fresh(session, waiting)
    assert aarav.status is kabir.status is WaitlistStatus.OFFERED
    assert meera.status is WaitlistStatus.WAITING
    assert aarav.offer_start == ist(TUE, 10)  # the first in line gets the earliest
    assert kabir.offer_start == ist(NEXT_TUE, 10, 45)
    assert aarav.offer_expires_at == NOW + timedelta(minutes=15)
    sent = offers_sent(session)
    assert [m.contact_id for m in sent] == [aarav.patient.contact_id, kabir.patient.contact_id]
    assert sent[0].variables["minutes"] == 15
    # A second sweep changes nothing: the offers stand, nothing is offered twice.
    assert sweep(session, clinic).offered == 0
    assert len(offers_sent(session)) == 2
    conversation = session.scalar(
        select(Conversation).where(Conversation.contact_id == aarav.patient.contact_id)
    )
    assert conversation.state == "waitlist_offer"
    assert conversation.data["waitlist_entry_id"] == aarav.id


def test_yes_books_the_held_time(session, clinic, full, waiting):
    cancel(session, clinic, full[(TUE, 10, 0)])
    sweep(session, clinic)
    aarav = fresh(session, waiting)[0]

    appointment = accept_offer(
        session, clinic_id=clinic.id, entry_id=aarav.id, now=NOW, actor=STAFF
    )

    assert appointment.start_at == ist(TUE, 10)
    assert appointment.patient_id == aarav.patient_id
    aarav = fresh(session, waiting)[0]
    assert aarav.status is WaitlistStatus.BOOKED and aarav.appointment_id == appointment.id
    assert aarav not in line(session, clinic.id)


def test_a_staff_booking_in_the_meantime_withdraws_the_offer(
    session, clinic, service, full, waiting, make_patient
):
    cancel(session, clinic, full[(TUE, 10, 0)])
    sweep(session, clinic)
    walk_in = make_patient(clinic, name="Walk-in")
    book(session, clinic, walk_in, service, ist(TUE, 10), actor=STAFF)  # the desk took it

    aarav = fresh(session, waiting)[0]
    with pytest.raises(SlotTaken):
        accept_offer(session, clinic_id=clinic.id, entry_id=aarav.id, now=NOW, actor=STAFF)
    aarav = fresh(session, waiting)[0]
    assert aarav.status is WaitlistStatus.WAITING and aarav.position == 1
    assert aarav.offer_start is None

    # Had they not answered, the next sweep withdraws it and offers it to nobody.
    cancel(session, clinic, full[(NEXT_TUE, 10, 0)])
    sweep(session, clinic)
    book(session, clinic, walk_in, service, ist(NEXT_TUE, 10), actor=STAFF)
    result = sweep(session, clinic)
    assert result.withdrawn == 1 and result.offered == 0
    assert {e.status for e in fresh(session, waiting)} == {WaitlistStatus.WAITING}


def test_no_passes_the_time_to_the_next_in_line_at_once(session, clinic, full, waiting):
    cancel(session, clinic, full[(TUE, 10, 0)])
    sweep(session, clinic)
    aarav = fresh(session, waiting)[0]

    decline_offer(session, clinic_id=clinic.id, entry_id=aarav.id, now=NOW, actor=STAFF)

    aarav, kabir, meera = fresh(session, waiting)
    assert aarav.status is WaitlistStatus.WAITING
    assert aarav.declined == [ist(TUE, 10).astimezone(NOW.tzinfo).isoformat()]
    assert kabir.status is WaitlistStatus.OFFERED and kabir.offer_start == ist(TUE, 10)
    assert meera.status is WaitlistStatus.WAITING


def test_silence_passes_it_on_when_the_hold_runs_out(session, clinic, full, waiting):
    cancel(session, clinic, full[(TUE, 10, 0)])
    sweep(session, clinic)
    later = NOW + timedelta(minutes=15)

    result = sweep(session, clinic, now=later)

    assert result.lapsed == 1 and result.offered == 1
    aarav, kabir, _ = fresh(session, waiting)
    assert aarav.status is WaitlistStatus.WAITING
    assert kabir.status is WaitlistStatus.OFFERED
    with pytest.raises(OfferGone):
        accept_offer(session, clinic_id=clinic.id, entry_id=aarav.id, now=later, actor=STAFF)


def test_wishes_are_kept(session, clinic, service, full, make_patient):
    cancel(session, clinic, full[(TUE, 10, 0)])
    picky = join_waitlist(
        session,
        clinic_id=clinic.id,
        patient_id=make_patient(clinic, name="Picky").id,
        service_id=service.id,
        now=NOW,
        actor=STAFF,
        weekdays=[3],  # Thursdays only
    )
    late = join_waitlist(
        session,
        clinic_id=clinic.id,
        patient_id=make_patient(clinic, name="Late").id,
        service_id=service.id,
        now=NOW,
        actor=STAFF,
        earliest=time(10, 30),
    )
    sweep(session, clinic)
    assert {e.status for e in fresh(session, [picky, late])} == {WaitlistStatus.WAITING}


def test_stale_entries_expire(session, clinic, full, waiting):
    result = sweep(session, clinic, now=NOW + timedelta(days=60))
    assert result.expired == 3
    assert line(session, clinic.id) == []


def test_staff_reorder_and_remove(session, clinic, full, waiting):
    aarav, kabir, meera = waiting
    move_entry(session, clinic_id=clinic.id, entry_id=meera.id, up=True, actor=STAFF)
    assert [e.id for e in line(session, clinic.id)] == [aarav.id, meera.id, kabir.id]
    remove_entry(session, clinic_id=clinic.id, entry_id=aarav.id, actor=STAFF)
    cancel(session, clinic, full[(TUE, 10, 0)])
    sweep(session, clinic)
    _, kabir, meera = fresh(session, waiting)
    assert meera.status is WaitlistStatus.OFFERED and kabir.status is WaitlistStatus.WAITING


def test_joining_twice_keeps_the_place_in_line(session, clinic, service, waiting):
    aarav = waiting[0]
    again = join_waitlist(
        session,
        clinic_id=clinic.id,
        patient_id=aarav.patient_id,
        service_id=service.id,
        now=NOW,
        actor=STAFF,
        weekdays=[1],
    )
    assert again.id == aarav.id and again.position == 1 and again.weekdays == [1]


def test_the_database_refuses_one_time_held_for_two(session, clinic, therapist, full, waiting):
    aarav, kabir, _ = fresh(session, waiting)
    with session.no_autoflush:
        for entry in (aarav, kabir):
            entry.status = WaitlistStatus.OFFERED
            entry.offer_start = ist(TUE, 10)
            entry.offer_therapist_id = therapist.id
            entry.offer_expires_at = NOW + timedelta(minutes=15)
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_another_clinics_entry_cannot_be_answered(session, clinic, full, waiting, make_clinic):
    cancel(session, clinic, full[(TUE, 10, 0)])
    sweep(session, clinic)
    elsewhere = make_clinic(name="Elsewhere")
    with pytest.raises(NotFound):
        accept_offer(session, clinic_id=elsewhere.id, entry_id=waiting[0].id, now=NOW, actor=STAFF)
    session.expire_all()
    assert fresh(session, waiting)[0].status is WaitlistStatus.OFFERED  # untouched
    booked = session.scalars(select(Appointment.status).where(Appointment.start_at == ist(TUE, 10)))
    assert [s.value for s in booked] == ["cancelled"]  # nobody booked it


def test_sweeps_and_a_staff_booking_racing_never_hold_one_time_for_two(
    db, session, clinic, service, full, waiting, make_patient
):
    """Two freed times, three waiting, three sweeps and the desk booking one of the times,
    all at once (each on its own connection): afterwards, and after one more sweep, each
    offered time is free and held for one person only."""
    cancel(session, clinic, full[(TUE, 10, 0)])
    cancel(session, clinic, full[(NEXT_TUE, 10, 45)])
    walk_in = make_patient(clinic, name="Walk-in")
    session.commit()
    barrier = threading.Barrier(4)

    def sweeping() -> object:
        with db.session_scope() as own:
            barrier.wait(timeout=60)
            return offer_freed_times(own, clinic_id=clinic.id, now=NOW)

    def desk() -> object:
        with db.session_scope() as own:
            barrier.wait(timeout=60)
            return book(own, clinic, walk_in, service, ist(TUE, 10), actor=STAFF)

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(sweeping) for _ in range(3)] + [pool.submit(desk)]
        outcomes = [f.exception(timeout=60) or f.result() for f in futures]
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes

    sweep(session, clinic)
    offered = [e for e in fresh(session, waiting) if e.status is WaitlistStatus.OFFERED]
    assert [e.offer_start for e in offered] == [ist(NEXT_TUE, 10, 45)]
    # The first two in line had the two times; whichever held the one the desk took now
    # waits again, and nobody else was offered anything.
    assert offered[0].position in (1, 2)
    assert fresh(session, waiting)[2].status is WaitlistStatus.WAITING


def test_an_offer_near_the_notice_stands_through_its_hold(
    session, clinic, service, therapist, make_patient
):
    """Offered 2 h 15 min ahead (the notice plus the hold), the time stays held in the
    sweeps of the next minutes, and a "yes" at the end of the hold still books it."""
    today_at = ist(TUE, 10) - timedelta(hours=2, minutes=15)  # Tuesday 07:45
    patient = make_patient(clinic, name="Aarav")
    aarav = join_waitlist(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        now=today_at,
        actor=STAFF,
    )
    sweep(session, clinic, now=today_at)
    assert fresh(session, [aarav])[0].offer_start == ist(TUE, 10)
    for minutes in (1, 5, 14):
        result = sweep(session, clinic, now=today_at + timedelta(minutes=minutes))
        assert result.withdrawn == result.lapsed == 0
    booked = accept_offer(
        session,
        clinic_id=clinic.id,
        entry_id=aarav.id,
        now=today_at + timedelta(minutes=14, seconds=59),
        actor=patient_of(patient),  # held to the clinic's notice, as in the chat
    )
    assert booked.start_at == ist(TUE, 10)
