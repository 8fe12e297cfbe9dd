"""Conversations in the staff panel: the queue of chats waiting for a person, each chat's
transcript (what the patient wrote, what the bot answered, what the clinic sent and what
became of it), replying inside and outside WhatsApp's 24-hour window, and handing the chat
back to the bot. Patients talk through ``flows.receive`` (tests/chat.py); replies go out
through the outbox to FakeTwilio. The panel runs on the real clock, so chats do too.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from core.clock import utcnow
from core.formatting import format_when
from models import (
    AuditLog,
    Channel,
    Conversation,
    InboundMessage,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
    StaffUser,
)
from services.audit import Actor
from services.errors import Duplicate, InvalidTransition, NotFound
from services.messaging import handoff
from services.messaging import outbox as messaging
from services.messaging.delivery import deliver
from services.staff.accounts import choose_language
from tests.admin.test_admin import PASSWORD, csrf_token, log_in
from tests.chat import Chat
from tests.conftest import SYSTEM, staff_logins
from tests.outbox import SUNRISE, add_template, outbox, seed

PARENT = "+919876543210"
OTHER_PARENT = "+919812345678"


@pytest.fixture
def clinic(session):
    """The demo clinic with a login per role, ``<role>@clinic.example``."""
    clinic = seed(session)
    staff_logins(session, clinic.id, password=PASSWORD, domain="clinic.example")
    return clinic


def chat(session, clinic, phone: str = PARENT, *, ago: timedelta = timedelta(0)) -> Chat:
    """A patient writing on WhatsApp, ``ago`` before the panel's real now."""
    return Chat(session, clinic, phone=phone, now=utcnow() - ago - timedelta(minutes=10))


def registered(session, clinic, phone: str = PARENT, **kwargs) -> Chat:
    """A parent who agreed to the privacy notice and registered themselves, then asked for the
    menu (registering leads straight into booking the first session)."""
    patient = chat(session, clinic, phone, **kwargs)
    patient.script("hi", "2", "Asha Verma")
    assert "Let's book the first session" in patient.last
    patient.say("menu")
    assert "What would you like to do?" in patient.last
    return patient


def staff_reply(session, clinic, conversation, text: str):
    """A reply from staff user 1, now, through the service (not the panel)."""
    return handoff.staff_reply(
        session,
        clinic_id=clinic.id,
        conversation_id=conversation.id,
        now=utcnow(),
        actor=Actor.staff(1),
        text=text,
    )


def logged_in(app, role: str = "operator"):
    client = app.test_client()
    response = log_in(client, f"{role}@clinic.example")
    assert response.status_code == 302, response.text
    return client


def conversation_of(session, phone: str = PARENT) -> Conversation:
    session.commit()
    session.expire_all()
    conversation = session.scalar(select(Conversation).where(Conversation.phone == phone))
    assert conversation is not None
    return conversation


def transcript_url(conversation: Conversation) -> str:
    return f"/admin/conversations/{conversation.id}/"


def post_reply(client, conversation: Conversation, **data: str):
    url = transcript_url(conversation)
    page = client.get(url)
    request_id = re.search(
        r'id="request_id" name="request_id" type="hidden" value="(\w+)"', page.text
    )
    fields = {"csrf_token": csrf_token(client, url), "text": "", "template_key": ""}
    fields["request_id"] = request_id.group(1) if request_id else ""
    return client.post(f"{url}reply", data=fields | data, follow_redirects=True)


def bubbles(page_text: str) -> list[tuple[str, str]]:
    """(who, text) of each bubble on a transcript page, in order."""
    found = re.findall(
        r'class="message [^"]*" data-side="\w+" data-who="(\w+)".*?'
        r'<div class="message-text">(.*?)</div>',
        page_text,
        flags=re.S,
    )
    return [(who, re.sub(r"<br>", "\n", text)) for who, text in found]


# --- the queue -----------------------------------------------------------------------------------


def test_chats_waiting_for_a_person_come_first_longest_waiting_first(app, session, clinic):
    registered(session, clinic, "+919800000001", ago=timedelta(minutes=30)).say("talk")
    registered(session, clinic, "+919800000002", ago=timedelta(minutes=50)).say("talk")
    registered(session, clinic, "+919800000003")  # chatting with the bot: recent, not waiting
    page = logged_in(app).get("/admin/conversations/")
    assert page.status_code == 200
    waiting = page.text.split('id="waiting-conversations"')[1].split("</table>")[0]
    recent = page.text.split('id="recent-conversations"')[1].split("</table>")[0]
    assert waiting.index("+91 98000 00002") < waiting.index("+91 98000 00001")
    assert "+91 98000 00003" not in waiting and "+91 98000 00003" in recent
    assert 'id="waiting-count">2<' in page.text


def test_a_chat_the_system_refers_to_staff_waits_with_its_note_until_handed_back(
    app, session, clinic
):
    registered(session, clinic)
    conversation = conversation_of(session)
    note = "Paid ₹800 after A-0001 was released, and that time is no longer free."
    handoff.refer_to_staff(
        session,
        clinic_id=clinic.id,
        contact=conversation.contact,
        channel=conversation.channel,
        note=note,
        now=utcnow(),
        actor=Actor.system(),
    )
    session.commit()
    client = logged_in(app)

    waiting = client.get("/admin/conversations/").text.split('id="waiting-conversations"')[1]
    assert note in unescape(waiting.split("</table>")[0])
    assert conversation_of(session).state == "handoff"

    handoff.hand_back(
        session,
        clinic_id=clinic.id,
        conversation_id=conversation.id,
        now=utcnow(),
        actor=Actor.staff(1),
    )
    page = client.get("/admin/conversations/").text
    assert note not in unescape(page)
    assert "staff_note" not in conversation_of(session).data


def test_the_queue_and_transcripts_are_for_the_front_desk(app, session, clinic):
    registered(session, clinic).say("talk")
    conversation = conversation_of(session)
    assert logged_in(app, "therapist").get("/admin/conversations/").status_code == 403
    accountant = logged_in(app, "accountant")
    page = accountant.get(transcript_url(conversation))
    assert page.status_code == 200 and 'id="reply-form"' not in page.text
    token = csrf_token(accountant, "/admin/")
    refused = accountant.post(
        f"{transcript_url(conversation)}reply", data={"csrf_token": token, "text": "hello"}
    )
    assert refused.status_code == 403
    assert outbox(session, kind=MessageKind.NOTICE) == []


# --- the transcript ------------------------------------------------------------------------------


def test_the_transcript_shows_messages_replies_and_outbox_rows_with_status_in_clinic_time(
    app, session, clinic, make_patient
):
    patient = registered(session, clinic)
    patient.say("talk")
    conversation = conversation_of(session)
    # Something the clinic sent that failed at Twilio, with its error.
    message = messaging.queue_message(
        session,
        clinic_id=clinic.id,
        contact_id=conversation.contact_id,
        channel=Channel.WHATSAPP,
        kind=MessageKind.DUES,
        template_key="dues_reminder",
        variables={"amount": "₹800"},
        idempotency_key="dues:test",
        due_at=patient.now,
    )
    session.commit()
    message.status = OutboundStatus.FAILED
    message.error_code = "63016"
    message.error_message = "outside the 24-hour window"
    session.commit()

    page = logged_in(app).get(transcript_url(conversation))
    assert page.status_code == 200
    said = bubbles(page.text)
    assert [who for who, _ in said] == ["patient", "bot"] * 5 + ["clinic"]
    assert said[0] == ("patient", "hi")
    assert said[1][1].startswith("Namaste! 🌼 This is Roshni Clinic")
    assert said[8] == ("patient", "talk")
    # The panel's real clock: the clinic may be open or closed as the test runs.
    assert "will reply here shortly" in said[9][1] or "a colleague will reply then" in said[9][1]
    assert said[10][1] == "(dues_reminder)"
    assert 'data-status="failed"' in page.text and "63016 outside the 24-hour window" in page.text
    assert "Waiting for a person" in page.text
    first = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).first()
    assert format_when(first.received_at, "Asia/Kolkata") in page.text  # the clinic's time


def test_a_conversation_of_another_clinic_is_not_found(app, session, clinic):
    sunrise = seed(session, SUNRISE)
    Chat(session, sunrise, phone="+447911123456", now=utcnow()).script("hi", "talk")
    theirs = conversation_of(session, "+447911123456")
    client = logged_in(app, "admin")
    assert client.get(transcript_url(theirs)).status_code == 404
    token = csrf_token(client, "/admin/")
    for action in ("reply", "hand-back"):
        response = client.post(
            f"{transcript_url(theirs)}{action}", data={"csrf_token": token, "text": "hi"}
        )
        assert response.status_code == 404
    assert "+44 7911 123456" not in client.get("/admin/conversations/").text
    assert client.get(f"/admin/conversations/contact/{theirs.contact_id or 0}").status_code == 404
    assert outbox(session) == []
    with pytest.raises(NotFound, match="could not find that conversation"):
        staff_reply(session, clinic, theirs, "hello")


# --- replying ------------------------------------------------------------------------------------


def test_inside_the_window_a_free_form_reply_is_queued_audited_and_sent(
    app, session, clinic, sender, twilio
):
    registered(session, clinic).say("talk")
    conversation = conversation_of(session)
    client = logged_in(app)
    page = client.get(transcript_url(conversation))
    assert (
        'data-free-form="yes"' in page.text and "Inside WhatsApp&#39;s 24-hour window" in page.text
    )

    response = post_reply(client, conversation, text="Hello Asha, this is Meera from the desk.")
    assert "Reply queued" in response.text
    row = outbox(session, kind=MessageKind.NOTICE)[0]
    assert (row.template_key, row.variables, row.channel) == (
        "staff_reply",
        {"text": "Hello Asha, this is Meera from the desk."},
        Channel.WHATSAPP,
    )
    audit = session.scalar(select(AuditLog).where(AuditLog.action == "conversation.reply"))
    assert audit is not None and audit.entity_id == str(row.id)

    assert deliver(session, row.id, now=utcnow(), sender=sender) is OutboundStatus.SENT
    (sent,) = twilio.sent
    assert sent["To"] == f"whatsapp:{PARENT}" and "ContentSid" not in sent
    assert sent["Body"] == "Hello Asha, this is Meera from the desk."
    page = client.get(transcript_url(conversation))
    assert bubbles(page.text)[-1] == ("staff", "Hello Asha, this is Meera from the desk.")
    assert 'data-status="sent"' in page.text


def test_a_double_submitted_reply_is_sent_once(app, session, clinic):
    registered(session, clinic).say("talk")
    conversation = conversation_of(session)
    again = {"clinic_id": clinic.id, "conversation_id": conversation.id, "actor": Actor.staff(1)}
    handoff.staff_reply(session, **again, now=utcnow(), text="One moment", request_id="ab" * 16)
    with pytest.raises(Duplicate):
        handoff.staff_reply(session, **again, now=utcnow(), text="One moment", request_id="ab" * 16)
    assert len(outbox(session, kind=MessageKind.NOTICE)) == 1


def test_outside_the_window_only_an_approved_template_can_be_sent(
    app, session, clinic, sender, twilio
):
    add_template(session, clinic, Channel.WHATSAPP, key="staff_follow_up", variable_order=["name"])
    add_template(session, clinic, Channel.WHATSAPP)  # "reminder": needs a session, not offered
    registered(session, clinic, ago=timedelta(hours=30)).say("talk")
    conversation = conversation_of(session)
    client = logged_in(app)
    page = client.get(transcript_url(conversation))
    assert 'data-free-form="no"' in page.text
    assert "Outside WhatsApp&#39;s 24-hour window" in page.text
    assert '<option value="staff_follow_up">' in page.text
    assert '<option value="reminder">' not in page.text

    refused = post_reply(client, conversation, text="Are you free to talk?")
    assert "Outside WhatsApp&#39;s 24-hour window" in refused.text
    assert outbox(session) == []

    ignored = post_reply(client, conversation, template_key="staff_follow_up", text="Hi!")
    assert "has no place for your text" in unescape(ignored.text)
    assert outbox(session) == []

    response = post_reply(client, conversation, template_key="staff_follow_up")
    assert "Reply queued" in response.text
    row = outbox(session)[0]
    assert (row.template_key, row.variables) == ("staff_follow_up", {"name": "Asha"})
    assert deliver(session, row.id, now=utcnow(), sender=sender) is OutboundStatus.SENT
    (sent,) = twilio.sent
    assert sent["ContentSid"].startswith("HX") and "Body" not in sent
    assert json.loads(sent["ContentVariables"]) == {"1": "Asha"}
    # The transcript shows the words the template carries.
    page = client.get(transcript_url(conversation))
    assert "Roshni Clinic has a reply to your message" in bubbles(page.text)[-1][1]


def test_outside_the_window_without_a_usable_template_the_page_says_how_to_add_one(
    app, session, clinic
):
    registered(session, clinic, ago=timedelta(days=3)).say("talk")
    page = logged_in(app).get(transcript_url(conversation_of(session)))
    assert "No usable approved template is set up" in page.text
    assert "staff_follow_up" in page.text


def test_a_hindi_reader_is_told_the_reply_rules_in_hindi(app, session, clinic):
    registered(session, clinic, ago=timedelta(days=3)).say("talk")
    operator = session.scalar(select(StaffUser).where(StaffUser.email == "operator@clinic.example"))
    choose_language(session, user_id=operator.id, locale="hi", actor=SYSTEM)
    session.commit()
    page = logged_in(app).get(transcript_url(conversation_of(session)))
    assert "WhatsApp की 24 घंटे की सीमा के बाहर" in page.text
    assert "Outside WhatsApp's 24-hour window" not in page.text


def test_sms_in_india_is_template_only_and_two_way_sms_elsewhere_is_free_form(session, clinic):
    sunrise = seed(session, SUNRISE)
    Chat(session, clinic, phone=PARENT, channel=Channel.SMS, now=utcnow()).script("hi", "talk")
    india = conversation_of(session)
    rules = handoff.reply_rules(session, clinic=clinic, conversation=india, now=utcnow())
    assert not rules.free_form and "DLT-registered" in str(rules.why)
    with pytest.raises(InvalidTransition, match="one-way"):
        staff_reply(session, clinic, india, "hello")
    Chat(session, sunrise, phone="+447911123456", channel=Channel.SMS, now=utcnow()).say("talk")
    uk = conversation_of(session, "+447911123456")
    rules = handoff.reply_rules(session, clinic=sunrise, conversation=uk, now=utcnow())
    assert rules.free_form and "Two-way SMS" in str(rules.why)


def test_a_number_that_asked_for_a_person_before_consenting_can_be_answered(
    session, clinic, sender, twilio
):
    chat(session, clinic).say("talk")  # no privacy consent, so no contact yet
    conversation = conversation_of(session)
    assert conversation.contact_id is None and conversation.handoff_at is not None
    message = staff_reply(session, clinic, conversation, "Hello! How can we help?")
    assert conversation_of(session).contact_id == message.contact_id
    assert deliver(session, message.id, now=utcnow(), sender=sender) is OutboundStatus.SENT
    assert twilio.sent[0]["Body"] == "Hello! How can we help?"


# --- handing back --------------------------------------------------------------------------------


def test_handing_back_gives_the_next_message_to_the_bot_again(app, session, clinic):
    patient = registered(session, clinic)
    patient.say("talk")
    assert patient.say("are you there?") is None  # the bot is quiet while staff handle it
    conversation = conversation_of(session)
    client = logged_in(app)
    page = client.get(transcript_url(conversation))
    assert 'id="hand-back"' in page.text
    token = csrf_token(client, transcript_url(conversation))
    response = client.post(
        f"{transcript_url(conversation)}hand-back",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "The bot answers this chat again and the patient has been told." in response.text
    assert 'id="hand-back"' not in response.text
    conversation = conversation_of(session)
    assert (conversation.state, conversation.handoff_at) == ("menu", None)
    note = outbox(session, template_key="handed_back")
    assert len(note) == 1 and note[0].contact_id == conversation.contact_id
    assert session.scalar(
        select(AuditLog.id).where(
            AuditLog.action == "conversation.hand_back",
            AuditLog.entity_id == str(conversation.id),
        )
    )

    patient.now = utcnow()
    assert "Which therapy?" in (patient.say("1") or "")
    assert "Nobody is waiting." in client.get("/admin/conversations/").text


def test_handing_back_a_chat_the_bot_already_answers_is_refused(session, clinic):
    registered(session, clinic)
    with pytest.raises(InvalidTransition, match="not waiting for a person"):
        handoff.hand_back(
            session,
            clinic_id=clinic.id,
            conversation_id=conversation_of(session).id,
            now=utcnow(),
            actor=Actor.staff(1),
        )


def test_outside_the_window_hand_back_sends_no_note(session, clinic):
    registered(session, clinic, ago=timedelta(days=2)).say("talk")
    told = handoff.hand_back(
        session,
        clinic_id=clinic.id,
        conversation_id=conversation_of(session).id,
        now=utcnow(),
        actor=Actor.staff(1),
    )
    assert told is False and outbox(session) == []
    assert conversation_of(session).state == "menu"


def test_a_reply_row_is_an_ordinary_outbox_notice(session, clinic):
    registered(session, clinic).say("talk")
    message = staff_reply(session, clinic, conversation_of(session), "{not a placeholder}")
    row = session.get(OutboundMessage, message.id)
    assert row.kind is MessageKind.NOTICE and row.status is OutboundStatus.QUEUED
    assert row.variables == {"text": "{not a placeholder}"}


def test_what_a_waiting_patient_writes_shows_as_new_until_staff_reply(app, session, clinic):
    patient = registered(session, clinic)
    patient.say("talk")
    patient.say("hello?")
    patient.say("is anyone there")
    conversation = conversation_of(session)
    assert conversation.handoff_at is not None  # "hello?" did not end the hand-off
    client = logged_in(app)
    queue = client.get("/admin/conversations/")
    assert "2 new" in queue.text
    page = client.get(transcript_url(conversation))
    assert page.text.count('class="badge badge-warning message-new"') == 2

    staff_reply(session, clinic, conversation, "Yes, Asha, how can we help?")  # real now
    patient.wait(timedelta(minutes=10))  # the patient's clock started 10 minutes back
    patient.say("I need to move Aarav's session")
    conversation_of(session)
    assert "1 new" in client.get("/admin/conversations/").text
