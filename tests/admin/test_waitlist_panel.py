"""The waitlist in the staff panel: the front desk adds a patient, sees the line in order
with the offer an entry holds, moves entries and takes one off; who may; other clinics'
ids. (Offers themselves: tests/scheduling/test_waitlist.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import get_db
from models import AuditLog, Role, WaitlistEntry, WaitlistStatus
from roshni.app import create_app
from services.scheduling.waitlist import join_waitlist, offer_freed_times
from tests.admin.test_admin import csrf_token
from tests.admin.test_series_panel import desk, signed_in  # noqa: F401  (fixtures)
from tests.conftest import NOW, SYSTEM

# ruff: noqa: F811  (the fixtures imported from test_series_panel)

PAGE = "/admin/appointment/waitlist/"
MOVE = "/admin/appointment/waitlist/move/"
REMOVE = "/admin/appointment/waitlist/remove/"


@pytest.fixture
def app(payments_config):
    app = create_app(payments_config)
    yield app
    get_db(app).dispose()


def line(session) -> list[tuple[str, WaitlistStatus]]:
    session.rollback()  # a new read: the panel committed on its own connection
    session.expire_all()
    return [
        (e.patient.name, e.status)
        for e in session.scalars(select(WaitlistEntry).order_by(WaitlistEntry.position))
    ]


def test_the_desk_adds_to_the_line_and_sees_it_in_order(app, session, desk):
    client = signed_in(app, Role.OPERATOR)
    page = client.get(PAGE)
    assert page.status_code == 200 and "Nobody is waiting." in page.text
    for patient in (desk.aarav, desk.meera):
        added = client.post(
            PAGE,
            data={
                "csrf_token": csrf_token(client, PAGE),
                "patient": str(patient.id),
                "service": str(desk.speech.id),
                "therapist": "__None",
                "weekdays": ["1", "3"],
                "earliest": "16:00",
            },
        )
        assert added.status_code == 302
    page = client.get(PAGE)
    table = page.text[page.text.index('id="waitlist"') :]
    assert table.index("Aarav Sharma") < table.index("Meera Iyer")
    assert "Tuesday and Thursday, from 4:00 pm" in page.text
    assert line(session) == [
        ("Aarav Sharma", WaitlistStatus.WAITING),
        ("Meera Iyer", WaitlistStatus.WAITING),
    ]
    entry = session.scalar(select(WaitlistEntry))
    assert entry.weekdays == [1, 3] and entry.therapist_id is None
    assert session.scalar(select(AuditLog).where(AuditLog.action == "waitlist.join"))


def join(session, desk, patient):
    return join_waitlist(
        session,
        clinic_id=desk.clinic.id,
        patient_id=patient.id,
        service_id=desk.speech.id,
        now=NOW,
        actor=SYSTEM,
    )


def test_the_desk_reorders_and_takes_off(app, session, desk):
    aarav, meera = join(session, desk, desk.aarav), join(session, desk, desk.meera)
    client = signed_in(app, Role.ADMIN)
    token = csrf_token(client, PAGE)
    moved = client.post(MOVE, data={"csrf_token": token, "entry_id": meera.id, "direction": "up"})
    assert moved.status_code == 302
    assert [name for name, _ in line(session)] == ["Meera Iyer", "Aarav Sharma"]
    token = csrf_token(client, PAGE)
    client.post(REMOVE, data={"csrf_token": token, "entry_id": aarav.id})
    assert line(session)[1] == ("Aarav Sharma", WaitlistStatus.REMOVED)
    page = client.get(PAGE).text
    assert "Aarav Sharma" not in page[page.index('id="waitlist"') : page.index("waitlist-form")]


def test_an_offer_shows_with_its_hold(app, session, desk):
    join(session, desk, desk.aarav)
    offer_freed_times(session, clinic_id=desk.clinic.id, now=NOW)
    page = signed_in(app, Role.OPERATOR).get(PAGE)
    assert "Offered " in page.text and "held until" in page.text


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.ACCOUNTANT])
def test_who_may_not_book_may_not_see_or_change_the_line(app, session, desk, role):
    entry = join(session, desk, desk.aarav)
    client = signed_in(app, role)
    token = csrf_token(client, "/admin/")
    assert client.get(PAGE).status_code == 403
    refused = client.post(REMOVE, data={"csrf_token": token, "entry_id": entry.id})
    assert refused.status_code == 403
    assert line(session) == [("Aarav Sharma", WaitlistStatus.WAITING)]


def test_another_clinics_entry_and_patient_are_refused(app, session, desk):
    theirs = join_waitlist(
        session,
        clinic_id=desk.other_patient.clinic_id,
        patient_id=desk.other_patient.id,
        service_id=desk.other_service.id,
        now=NOW,
        actor=SYSTEM,
    )
    client = signed_in(app, Role.ADMIN)
    client.post(REMOVE, data={"csrf_token": csrf_token(client, PAGE), "entry_id": theirs.id})
    session.rollback()
    session.expire_all()
    assert session.get(WaitlistEntry, theirs.id).status is WaitlistStatus.WAITING
    added = client.post(
        PAGE,
        data={
            "csrf_token": csrf_token(client, PAGE),
            "patient": str(desk.other_patient.id),
            "service": str(desk.speech.id),
            "therapist": "__None",
        },
    )
    assert added.status_code == 200  # the form again: not one of this clinic's patients
    assert (
        session.scalar(select(WaitlistEntry).where(WaitlistEntry.clinic_id == desk.clinic.id))
        is None
    )
    assert "Bela Bee" not in client.get(PAGE).text  # neither in the line nor to choose
