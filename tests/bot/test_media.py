"""Files and locations patients send: stored with the message, fetched from Twilio off the
request path, shown to staff in the transcript, and acknowledged to the patient."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from core.clock import utcnow
from core.config import Config
from core.db import get_db
from core.storage import media_store
from jobs.runner import tick
from jobs.runtime import build_runtime
from models import Clinic, Contact, Conversation, InboundMedia, MediaStatus, OutboundMessage
from roshni.app import create_app
from roshni.demo import DEMO_CLINICS, seed_clinic
from services.audit import Actor
from services.messaging import media as media_service
from services.messaging.handoff import STAFF_NOTE
from services.messaging.replies import reply_key
from services.privacy.erasure import erase_contact
from tests.admin.test_admin import PASSWORD, log_in
from tests.conftest import staff_logins
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

BASE = "https://roshni.example.com"
SANDBOX = "whatsapp:+14155238886"
PARENT = "whatsapp:+919876543210"
JPEG = b"\xff\xd8\xff\xe0" + b"photo" * 200
OGG = b"OggS" + b"voice" * 300
PDF = b"%PDF-1.4\n" + b"referral" * 100
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 400


@pytest.fixture
def config(db, tmp_path, twilio):
    return Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": db.url,
            "SECRET_KEY": "x" * 40,
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_URL": twilio.url,
            "PUBLIC_BASE_URL": BASE,
        }
    )


@pytest.fixture
def app(config, session):
    for demo in DEMO_CLINICS[:2]:
        seed_clinic(session, demo, admin_password=None)
        clinic = session.scalar(select(Clinic).where(Clinic.slug == demo.slug))
        staff_logins(session, clinic.id, password=PASSWORD, domain=f"{demo.slug}.example")
    session.commit()
    app = create_app(config)
    yield app
    get_db(app).dispose()


_sid = iter(range(1, 10_000))


def post(app, body: str = "", **extra: str):
    """The bot's answer: in TwiML, or (a Twilio account is configured, so WhatsApp
    replies to a known contact go through the outbox) the reply row the turn queued."""
    sid = f"MM{next(_sid):032x}"
    data = {
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": PARENT,
        "To": SANDBOX,
        "Body": body,
        "NumMedia": "0",
        **extra,
    }
    path = "/webhooks/twilio/whatsapp"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{BASE}{path}", data)
    response = app.test_client().post(path, data=data, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.text
    twiml = "\n".join(m.text or "" for m in ET.fromstring(response.data).iter("Message"))
    with get_db(app).session_factory() as session:
        queued = session.scalar(
            select(OutboundMessage).where(OutboundMessage.idempotency_key == reply_key(sid))
        )
        if queued is not None:
            assert not twiml  # answered once: through the outbox, not again in TwiML
            return queued.variables["text"]
    return twiml


def with_file(url: str, content_type: str) -> dict[str, str]:
    return {"NumMedia": "1", "MediaUrl0": url, "MediaContentType0": content_type}


def fetch_all(app, config) -> None:
    """What the job runner does next (embedded mode: one sweep in this process)."""
    tick(build_runtime(config, get_db(app)))


def rows(session) -> list[InboundMedia]:
    session.rollback()  # end the test's read snapshot: the app and the runner wrote since
    return list(session.scalars(select(InboundMedia).order_by(InboundMedia.id)))


def staff(app, slug: str = "roshni"):
    client = app.test_client()
    assert log_in(client, f"operator@{slug}.example").status_code == 302
    return client


def onboard(app) -> None:
    """Register (consent "2. Yes, for myself", then the name) and go to the menu: a first
    registration goes straight on to booking, and *menu* leaves that."""
    for text in ("hi", "2", "Asha Verma", "menu"):
        post(app, text)


def test_a_photo_is_fetched_with_the_account_stored_and_shown_to_staff(
    app, config, session, twilio, tmp_path
):
    onboard(app)
    url = twilio.add_media(JPEG, "image/jpeg")
    reply = post(app, "referral letter", **with_file(url, "image/jpeg"))
    assert reply.startswith("Thanks, we've passed it to Roshni Clinic.")
    [row] = rows(session)
    assert row.status is MediaStatus.PENDING  # nothing fetched on the request path
    assert twilio.media_fetches == []

    fetch_all(app, config)
    [row] = rows(session)
    digest = hashlib.sha256(JPEG).hexdigest()
    assert (row.status, row.content_type, row.size, row.sha256) == (
        MediaStatus.FETCHED,
        "image/jpeg",
        len(JPEG),
        digest,
    )
    assert row.storage_key == f"{row.clinic_id}-{digest}.jpg"  # per clinic, by content
    assert (tmp_path / "media" / row.storage_key).read_bytes() == JPEG
    assert len(twilio.media_fetches) == 1
    fetch_all(app, config)  # a second sweep leaves it alone
    assert len(twilio.media_fetches) == 1

    session.rollback()
    conversation = session.scalar(select(Conversation))
    client = staff(app)
    page = client.get(f"/admin/conversations/{conversation.id}/")
    assert f'src="/admin/conversations/media/{row.id}"' in page.text
    served = client.get(f"/admin/conversations/media/{row.id}")
    assert (served.status_code, served.mimetype, served.data) == (200, "image/jpeg", JPEG)
    assert "no-store" in served.headers["Cache-Control"]
    assert conversation.handoff_at is not None
    assert "Photo or document" in conversation.data[STAFF_NOTE]


def test_a_file_is_never_served_to_another_clinic_or_without_a_login(app, config, session, twilio):
    post(app, "", **with_file(twilio.add_media(PDF, "application/pdf"), "application/pdf"))
    fetch_all(app, config)
    [row] = rows(session)
    assert row.status is MediaStatus.FETCHED
    url = f"/admin/conversations/media/{row.id}"
    assert staff(app, DEMO_CLINICS[1].slug).get(url).status_code == 404
    assert app.test_client().get(url).status_code == 302  # to the login page
    assert staff(app).get(url).data == PDF


def test_a_voice_note_on_first_contact_gets_the_introduction_and_joins_the_queue(
    app, config, session, twilio
):
    url = twilio.add_media(OGG, "audio/ogg")
    reply = post(app, "", **with_file(url, "audio/ogg; codecs=opus"))
    assert reply.startswith("We can't listen to voice notes here; a colleague at Roshni Clinic")
    assert "booking assistant" in reply and "1. Yes, for my child" in reply
    conversation = session.scalar(select(Conversation))
    assert conversation.handoff_at is not None  # in the staff queue
    assert post(app, "1") == "Thank you! What is your name?"  # and the bot still answers
    fetch_all(app, config)
    [row] = rows(session)
    assert (row.status, row.content_type) == (MediaStatus.FETCHED, "audio/ogg")
    page = staff(app).get(f"/admin/conversations/{conversation.id}/")
    assert f'<audio controls preload="none" src="/admin/conversations/media/{row.id}"' in page.text


def test_a_video_is_kept_and_played_in_the_transcript(app, config, session, twilio):
    onboard(app)
    reply = post(app, "", **with_file(twilio.add_media(MP4, "video/mp4"), "video/mp4"))
    assert reply.startswith("Thanks, we've passed it to Roshni Clinic.")  # as a photo is
    fetch_all(app, config)
    [row] = rows(session)
    assert (row.status, row.content_type, row.size) == (MediaStatus.FETCHED, "video/mp4", len(MP4))
    conversation = session.scalar(select(Conversation))
    page = staff(app).get(f"/admin/conversations/{conversation.id}/")
    assert f'<video controls preload="none" src="/admin/conversations/media/{row.id}"' in page.text


def test_a_payment_screenshot_captioned_gpay_is_a_task_not_the_pay_screen(
    app, config, session, twilio
):
    onboard(app)
    reply = post(app, "GPay", **with_file(twilio.add_media(JPEG, "image/png"), "image/png"))
    assert reply.startswith("Thanks, Roshni Clinic will check the payment and confirm here.")
    assert "outstanding" not in reply  # not the Pay screen
    session.rollback()
    conversation = session.scalar(select(Conversation))
    assert conversation.state == "handoff"
    assert "Proof of payment" in conversation.data[STAFF_NOTE]


def test_a_type_we_do_not_accept_is_refused_without_fetching(app, config, session, twilio):
    onboard(app)
    url = twilio.add_media(b"BEGIN:VCARD\r\nVERSION:3.0\r\n", "text/vcard")  # a contact card
    reply = post(app, "", **with_file(url, "text/vcard"))
    assert "can't open that kind of file" in reply
    fetch_all(app, config)
    [row] = rows(session)
    assert (row.status, row.reason) == (MediaStatus.REFUSED, "type text/vcard not accepted")
    assert twilio.media_fetches == []


def test_a_file_whose_real_type_differs_from_the_declared_one_is_refused(
    app, config, session, twilio
):
    url = twilio.add_media(b"<html>not a photo</html>", "text/html")
    post(app, "", **with_file(url, "image/jpeg"))
    fetch_all(app, config)
    [row] = rows(session)
    assert (row.status, row.reason) == (MediaStatus.REFUSED, "type text/html not accepted")
    assert row.storage_key is None


def test_an_oversized_file_is_refused_on_its_length_and_while_reading(
    app, config, session, twilio, monkeypatch
):
    declared = twilio.add_media(JPEG, "image/jpeg", declared_length=17 * 1024 * 1024)
    post(app, "", **with_file(declared, "image/jpeg"))
    fetch_all(app, config)
    [first] = rows(session)
    assert (first.status, first.reason) == (MediaStatus.REFUSED, "larger than 16 MB")

    monkeypatch.setattr(media_service, "MAX_MEDIA_BYTES", 1024 * 1024 // 2)  # 0.5 MB
    big = twilio.add_media(b"\xff\xd8" + b"x" * (1024 * 1024), "image/jpeg")
    post(app, "", **with_file(big, "image/jpeg"))
    fetch_all(app, config)
    second = rows(session)[1]
    assert second.status is MediaStatus.REFUSED and second.storage_key is None


def test_a_media_url_outside_twilio_is_never_fetched_with_the_credentials(
    app, config, session, twilio
):
    post(app, "", **with_file("https://attacker.example/steal.jpg", "image/jpeg"))
    fetch_all(app, config)
    [row] = rows(session)
    assert (row.status, row.reason) == (MediaStatus.REFUSED, "not a Twilio media address")


def test_a_shared_location_is_kept_and_shown_as_a_map_link(app, session):
    onboard(app)
    reply = post(
        app,
        "",
        Latitude="12.971599",
        Longitude="77.594566",
        Label="Home",
        Address="MG Road, Bengaluru",
    )
    assert reply.startswith("Thanks, we've kept the location you shared for Roshni Clinic.")
    assert "What would you like to do?" in reply  # no dead end
    [row] = rows(session)
    assert (row.status, row.latitude, row.longitude, row.label) == (
        MediaStatus.KEPT,
        12.971599,
        77.594566,
        "Home",
    )
    conversation = session.scalar(select(Conversation))
    page = staff(app).get(f"/admin/conversations/{conversation.id}/")
    assert "https://www.openstreetmap.org/?mlat=12.971599&amp;mlon=77.594566" in page.text
    assert "Home · MG Road, Bengaluru" in page.text


def test_a_long_first_enquiry_is_read_not_refused(app, session):
    long = "Hello, my son is four and we were told he needs speech therapy. " * 7  # ~450
    reply = post(app, long)
    assert "too long" not in reply
    assert "booking assistant" in reply


def test_erasing_the_contact_deletes_the_files_they_sent(app, config, session, twilio, tmp_path):
    onboard(app)
    post(app, "", **with_file(twilio.add_media(PDF, "application/pdf"), "application/pdf"))
    fetch_all(app, config)
    [row] = rows(session)
    stored = tmp_path / "media" / row.storage_key
    assert stored.exists()
    contact = session.scalar(select(Contact))
    done = erase_contact(
        session,
        clinic_id=contact.clinic_id,
        contact_id=contact.id,
        actor=Actor.system(),
        now=utcnow(),
        media=media_store(config),
    )
    assert done.counts["media_files_deleted"] == 1
    assert not stored.exists()
    assert rows(session) == []
