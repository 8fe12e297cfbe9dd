"""Two parents, one last free slot, both book it at the same moment (PostgreSQL).

Everything goes through the signed Twilio WhatsApp webhook of the real Flask
app, one test client per thread. Speech has one therapist, said back above the
free times, so tapping a time books it at once; a barrier releases the two taps
together, so the bookings race on the therapist's row lock (and, behind it, the
``no_overlap`` exclusion constraint). Exactly one parent gets the slot; the
other is told it was just taken and offered numbered alternatives.

The webhook reads the clock through ``bot.webhooks.utcnow``; the test pins it
to the suite's frozen ``NOW`` (Mon 23 Nov 2026, 09:00 in Kolkata), moving a
second per message.
"""

from __future__ import annotations

import itertools
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot import webhooks
from core.config import Config
from core.db import Database, get_db
from models import Appointment, AppointmentStatus, BookingSource, Clinic, Service, Therapist
from roshni.app import create_app
from roshni.demo import DEMO_CLINICS, seed_clinic
from services.people import patients
from services.scheduling.appointments import book_appointment
from services.scheduling.availability import free_slots
from tests.conftest import NOW, SYSTEM

TOKEN = "test-auth-token-0123456789abcdef"
BASE = "https://roshni.example.com"
PATH = "/webhooks/twilio/whatsapp"
CLINIC_NUMBER = "whatsapp:+14155238886"  # the demo Roshni Clinic's WhatsApp sender
PARENTS = ("whatsapp:+919876543210", "whatsapp:+919876543211")
IST = ZoneInfo("Asia/Kolkata")
# Wednesday 25 Nov: Dr. Priya Nair works 09:00-18:00. Sessions booked from 09:45
# every 45 minutes fill the day to 18:00 exactly, so 09:00-09:45 is the last slot.
LAST_SLOT = datetime(2026, 11, 25, 9, 0, tzinfo=IST)
OTHER_SESSIONS = [LAST_SLOT + timedelta(minutes=45 * k) for k in range(1, 12)]
TIMEOUT = 60  # seconds; a hung request fails the test instead of hanging the run

_sids = itertools.count(1)


@pytest.fixture
def last_slot(pg_db: Database) -> dict[str, int]:
    """The demo clinic, with every speech slot on Wed 25 Nov taken but one."""
    with pg_db.session_scope() as session:
        seed_clinic(session, DEMO_CLINICS[0], admin_password=None)
        session.commit()
        clinic = session.scalar(select(Clinic).where(Clinic.slug == "roshni"))
        speech = session.scalar(select(Service).where(Service.name == "Speech Therapy Session"))
        priya = session.scalar(select(Therapist).where(Therapist.name == "Dr. Priya Nair"))
        contact = patients.create_contact(
            session, clinic_id=clinic.id, phone="+919800000001", name="Meera Iyer", actor=SYSTEM
        )
        other_child = patients.add_patient(
            session,
            clinic_id=clinic.id,
            contact_id=contact.id,
            name="Kabir",
            actor=SYSTEM,
            today=NOW.date(),
        )
        for start in OTHER_SESSIONS:
            book_appointment(
                session,
                clinic_id=clinic.id,
                patient_id=other_child.id,
                service_id=speech.id,
                therapist_id=priya.id,
                start=start,
                now=NOW,
                actor=SYSTEM,
                source=BookingSource.ADMIN,
            )
        day = LAST_SLOT.date()
        free = free_slots(
            session,
            clinic_id=clinic.id,
            service_id=speech.id,
            therapist_id=priya.id,
            start_date=day,
            end_date=day,
            now=NOW,
        )
        assert [slot.start for slot in free] == [LAST_SLOT]
        return {"clinic": clinic.id, "service": speech.id, "therapist": priya.id}


@pytest.fixture
def app(pg_db: Database, last_slot, tmp_path, monkeypatch) -> Iterator[Flask]:
    ticks = itertools.count()
    monkeypatch.setattr(webhooks, "utcnow", lambda: NOW + timedelta(seconds=next(ticks)))
    config = Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": pg_db.url,
            "SECRET_KEY": "x" * 40,
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": BASE,
        }
    )
    app = create_app(config)
    yield app
    get_db(app).dispose()


def say(client, sender: str, body: str) -> str:
    """Post one signed WhatsApp message; return the bot's reply (all its parts)."""
    data = {
        "MessageSid": f"SM{next(_sids):032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": CLINIC_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "WaId": sender.split("+")[-1],
    }
    signature = RequestValidator(TOKEN).compute_signature(f"{BASE}{PATH}", data)
    response = client.post(PATH, data=data, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.data
    root = ET.fromstring(response.data)
    return "\n".join(m.text or "" for m in root.iter("Message"))


def walk_to_the_last_slot(client, sender: str) -> None:
    """Register a child (the first booking follows), choose speech and Wednesday: one
    tap from booking Dr. Priya Nair's last free slot."""
    for text in ("hi", "1", "Asha Verma", "Aarav", "12/03/2019"):
        reply = say(client, sender, text)
    assert "Which therapy?" in reply
    say(client, sender, "1")  # speech: Dr. Priya Nair is its only therapist
    times = say(client, sender, "wed")
    assert "Speech Therapy Session for Aarav (45 min, ₹800) with Dr. Priya Nair\n" in times
    assert "Free on Wed 25 Nov:\n1. 9:00 am" in times
    assert "2." not in times  # the last slot of the day


def active_at(database: Database, therapist_id: int, start: datetime) -> list[Appointment]:
    with database.session_scope() as session:
        return list(
            session.scalars(
                select(Appointment).where(
                    Appointment.therapist_id == therapist_id,
                    Appointment.start_at == start,
                    Appointment.status.in_(AppointmentStatus.active()),
                )
            )
        )


def test_two_parents_booking_the_last_slot_at_once_get_one_booking_and_one_apology(
    app, pg_db, last_slot
):
    for parent in PARENTS:
        walk_to_the_last_slot(app.test_client(), parent)

    barrier = threading.Barrier(len(PARENTS))

    def tap(sender: str) -> str:
        client = app.test_client()  # one client (and so one scoped session) per thread
        barrier.wait(timeout=TIMEOUT)
        return say(client, sender, "1")  # the 9:00 am slot: booked without a summary

    with ThreadPoolExecutor(max_workers=len(PARENTS)) as pool:
        futures = [pool.submit(tap, parent) for parent in PARENTS]
        replies = [f.result(timeout=TIMEOUT) for f in futures]

    won = [i for i, reply in enumerate(replies) if "✅ Booked!" in reply]
    lost = [i for i, reply in enumerate(replies) if "Sorry, that time was just taken" in reply]
    assert len(won) == 1 and len(lost) == 1, replies
    assert "Wed 25 Nov, 9:00 am" in replies[won[0]]

    apology = replies[lost[0]]
    alternatives = re.findall(r"^(\d)\. (.+)$", apology, flags=re.MULTILINE)
    assert [number for number, _ in alternatives] == [
        str(n) for n in range(1, len(alternatives) + 1)
    ]
    assert alternatives, apology
    assert not any("Wed 25 Nov, 9:00 am" in label for _, label in alternatives)
    assert "✅" not in apology

    [appointment] = active_at(pg_db, last_slot["therapist"], LAST_SLOT)
    assert appointment.source is BookingSource.CHAT

    # The alternatives are real: the parent who lost books the first one (the apology
    # did not say back what is booked, so its summary is confirmed).
    loser = app.test_client()
    first_alternative = alternatives[0][1]  # e.g. "Tue 24 Nov, 4:45 pm"
    assert "Please confirm:" in say(loser, PARENTS[lost[0]], "1")
    booked = say(loser, PARENTS[lost[0]], "1")
    assert "✅ Booked!" in booked
    assert first_alternative in booked
    assert len(active_at(pg_db, last_slot["therapist"], LAST_SLOT)) == 1
