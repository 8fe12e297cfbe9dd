"""The dialog engine: stored state + one inbound message + the clock → one reply.

A conversation is a row (clinic, channel, phone) holding the current state and
what has been collected so far. ``handle_turn`` locks that row, applies the
words that work anywhere (menu, help, stop, start, talk, language, cancel,
reschedule, a sentence naming a session to cancel or move), restarts a flow left
idle (a booking waiting only for its confirmation is offered again instead), reads
corrections ("my name is …"), and hands the text to the current state's
``answer``. Each state is a pair of small functions registered with
``flows.dialog.state()`` by its flow, imported below:

* ``flows.onboarding``: privacy notice and consent, the contact's name, who the
  sessions are for, adding a family member, and the main menu;
* ``flows.booking``: booking and rescheduling (service, patient, therapist, day,
  time, confirm);
* ``flows.my_appointments``: upcoming sessions, cancelling, answering a reminder,
  and asking the clinic to move a session inside its reschedule window;
* ``flows.payment``: what is owed, and paying it from the chat;
* ``flows.exercises``: a guardian's answer to a home-exercise nudge ("done", "2 of 3");
* ``flows.corrections``: "my name is …", "change Aarav's date of birth", at any point.

The flows import ``flows.dialog`` (the turn, the registry, the text helpers) and
each other (payment ← booking ← my_appointments ← onboarding; corrections), never this module.

Never imports Flask, never talks to a provider: the caller (``flows.receive``)
stores the message and sends the reply. All wording is in ``services.messaging.catalogue``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core import tenancy
from core.clock import require_aware
from core.formatting import format_phone
from core.public_links import PublicLinks
from flows import (
    attachments,
    booking,
    booking_delivery,
    corrections,
    exercises,
    language,
    my_appointments,
    onboarding,
    payment,
    routing,
    waitlist,
)
from flows.dialog import STATES, Offer, Turn, clean_text, hand_to_staff, normalise
from flows.names import greeting_name
from models import Channel, Clinic, Contact, Conversation
from services.audit import Actor
from services.clinical import progress_reports
from services.errors import ServiceError
from services.messaging.content_templates import LIST_PAGE, MORE_ID
from services.messaging.handoff import STAFF_NOTE
from services.people import patients

# The flows whose states the engine runs (each registers its states at import).
FLOWS = (onboarding, corrections, booking, my_appointments, payment, language, waitlist)

IDLE_AFTER = timedelta(minutes=30)
# A message is read whatever its length, up to WhatsApp's body limit of 4,096 characters
# (SMS bodies arrive up to 1,600; flows.receive stores them whole). Past MAX_UNDERSTOOD
# only the start is read: no answer needs more, and every parser's cost stays bounded.
MAX_UNDERSTOOD = 1000
# States a conversation may rest in for hours: no "it's been a while" restart.
# (A waitlist offer, like a reminder, arrives whenever the sweep makes it.)
RESTING_STATES = frozenset({"new", "consent", "menu", "handoff", "reminder", "waitlist_offer"})

MENU_WORDS = frozenset(
    {
        "hi",
        "hii",
        "hello",
        "hey",
        "helo",
        "menu",
        "main menu",
        "namaste",
        "namaskar",
        "home",
        "start over",
    }
)
HELP_WORDS = frozenset({"help", "info"})
# Compared after ``normalise`` (which also folds Devanagari vowel signs), so kept through it.
TALK_WORDS = frozenset(
    normalise(phrase)
    for phrase in (
        "talk",
        "talk to the clinic",
        "talk to clinic",
        "human",
        "agent",
        "person",
        "staff",
        "receptionist",
        "call me",
        "please call me",
        "call me back",
        "speak to someone",
        "talk to someone",
        "can i talk to someone",
        "can i speak to someone",
        "i want to talk to someone",
        "speak to a person",
        "talk to a person",
        "real person",
        "a real person",
        "i want a real person",
        "i want to speak to a person",
        "kisi se baat karni hai",
        "baat karni hai",
        "mujhe baat karni hai",
        "बात करनी है",
        "किसी से बात करनी है",
        "मुझे बात करनी है",
    )
)
# The guardian asks for the latest progress report again (it goes out as a PDF).
REPORT_WORDS = frozenset(
    normalise(phrase)
    for phrase in (
        "report",
        "progress report",
        "my report",
        "send report",
        "send the report",
        "report please",
        "report bhejo",
        "report chahiye",
        "रिपोर्ट",
        "प्रगति रिपोर्ट",
        "रिपोर्ट भेजो",
        "रिपोर्ट भेजिए",
    )
)
# While a person has the chat only these end the hand-off: a bare "hi" or "hello?" is the
# patient still waiting, and stays in the staff queue.
HANDOFF_EXIT_WORDS = frozenset({"menu", "main menu"})
# Opt-out words follow each channel's rules: on SMS, carriers and Twilio treat all
# of these as STOP; on WhatsApp "cancel" must stay free to mean "cancel my session".
STOP_WORDS = {
    Channel.WHATSAPP: frozenset({"stop", "stopall", "unsubscribe"}),
    Channel.SMS: frozenset(
        {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
    ),
}
START_WORDS = frozenset({"start", "unstop"})


@dataclass(frozen=True)
class Inbound:
    """One message as the engine sees it (the edge has verified and stored it)."""

    channel: Channel
    phone: str  # E.164
    text: str
    # A WhatsApp button's or list row's id: one of our option ids (``flows.dialog.option_id``)
    # means its choice's number; any other (an approved template's button) reads as text.
    payload: str | None = None
    num_media: int = 0
    media_types: tuple[str, ...] = ()  # declared content types of the files sent
    location: bool = False  # a shared location came with it


@dataclass(frozen=True)
class TurnResult:
    reply: str | None
    offer: Offer | None = None  # the choices the reply offers, taken apart (buttons, lists)
    # To call with the stored inbound message's id (``Turn.after_store``).
    after_store: tuple[Callable[[int], None], ...] = ()


def handle_turn(
    session: Session,
    *,
    clinic: Clinic,
    conversation: Conversation,
    inbound: Inbound,
    now: datetime,
) -> str | None:
    """Run one message through the dialog. Call inside ``core.db.unit_of_work``,
    with the conversation locked by ``services.messaging.conversations.conversation_for_update``.

    Returns the reply, or None when the bot should stay quiet (a person is
    handling the chat, or the contact opted out of SMS).
    """
    return run_turn(
        session, clinic=clinic, conversation=conversation, inbound=inbound, now=now
    ).reply


def run_turn(
    session: Session,
    *,
    clinic: Clinic,
    conversation: Conversation,
    inbound: Inbound,
    now: datetime,
    links: PublicLinks | None = None,
) -> TurnResult:
    """``handle_turn``, with the choices the reply offers kept apart from its text (so a
    channel that can show buttons or a list may send them so)."""
    require_aware(now, "now")
    tenancy.bind(session, clinic.id)
    turn = Turn(
        session=session,
        clinic=clinic,
        conversation=conversation,
        now=now.astimezone(ZoneInfo(clinic.timezone)),
        # A deep copy: SQLAlchemy decides whether a JSON column changed by comparing
        # old and new values, so nested dicts must never be mutated in place.
        data=copy.deepcopy(conversation.data or {}),
        links=links,
    )
    # State, misses and data are written once, at the end, not after every query.
    with session.no_autoflush:
        reply = _respond(turn, inbound)
    conversation.data = turn.data  # reassign: JSON columns track replacement, not mutation
    conversation.last_turn_at = now
    session.flush()
    return TurnResult(reply, turn.offer_in(reply), tuple(turn.after_store))


def _respond(turn: Turn, inbound: Inbound) -> str | None:
    """Opt-out, opt-in and help first (they work even mid-handoff), then quiet when
    a person has the chat or the number opted out of SMS, else the dialog."""
    conversation = turn.conversation
    tap = turn.tapped(inbound.payload)
    # "more…": this menu's row, or the plain MORE_ID of a list sent without our ids.
    more = (tap is not None and tap.more) or (
        inbound.payload == MORE_ID and turn.choice_count() > 0
    )
    if tap is not None and tap.number is not None:
        raw = str(tap.number)  # exactly as if its number had been typed
    elif tap is not None or more:
        raw = ""  # answered below, once opt-out and hand-off have had their say
    else:
        raw = (inbound.payload or inbound.text or "")[:MAX_UNDERSTOOD]
    text = clean_text(raw)
    word = normalise(text)
    contact = turn.contact

    if contact is not None:
        patients.note_inbound(turn.session, contact=contact, channel=inbound.channel, now=turn.now)
    if word in STOP_WORDS[inbound.channel]:
        return _stop(turn, inbound.channel)
    if word in START_WORDS or (
        word == "yes" and contact is not None and contact.opted_out(inbound.channel)
    ):
        return _start(turn, inbound.channel)
    if word in HELP_WORDS:
        return _help(turn)
    if inbound.channel is Channel.SMS and contact is not None and contact.opted_out(Channel.SMS):
        return None  # carriers block replies to opted-out SMS numbers anyway
    # In the staff queue while handoff_at is set; quiet while a person has the chat (state
    # "handoff"). A first contact queued for a voice note still gets the privacy notice.
    if conversation.handoff_at is not None and conversation.state == "handoff":
        if word in HANDOFF_EXIT_WORDS:
            # The patient chose the assistant: the chat leaves the staff queue, and they
            # are told so (and how to come back to a person).
            conversation.handoff_at = None
            conversation.state = "menu"
            turn.data.pop(STAFF_NOTE, None)
            return f"{turn.say('handoff_ended')}\n{_greet_and_menu(turn)}"
        return None  # stored and shown to staff as new; the bot stays quiet
    if more:
        return turn.more_choices(LIST_PAGE)
    if tap is not None and tap.number is None:  # not "more…": an older menu's option
        return _stale_tap(turn)
    return _converse(turn, inbound, raw, text, word)


def _stale_tap(turn: Turn) -> str:
    """A button or list row from an older message: never read as a choice of the menu
    held now; the patient is told, and the current question asked again."""
    handler = STATES.get(turn.conversation.state)
    question = handler.ask(turn) if handler else turn.goto("menu")
    return f"{turn.say('choice_stale')}\n{question}"


def _converse(turn: Turn, inbound: Inbound, raw: str, text: str, word: str) -> str:
    """The bot's part of a chat no person is handling: words that work anywhere,
    consent first, a restart after a pause, then the current state's answer."""
    conversation = turn.conversation
    if inbound.num_media and _consented(turn.contact):
        # A photo or video answering an exercise nudge is kept with the day's answer.
        kept = exercises.answer_media(
            turn, media_types=inbound.media_types or ("",) * inbound.num_media, text=text
        )
        if kept is not None:
            return kept
    if inbound.num_media or inbound.location:
        told = attachments.acknowledge(
            turn,
            media_types=inbound.media_types or ("",) * inbound.num_media,
            location=inbound.location,
            text=text,
            consented=_consented(turn.contact),
        )
        if told is not None:
            return told
    if not text:
        return _reask_current(turn)
    understood = routing.understanding_for(turn, text)
    asks_a_name = conversation.state in routing.ONBOARDING_STATES  # any word may be a name
    # "in person" (or "clinic") answering the delivery question is no call for a person
    # and no question about the clinic: the question has it.
    delivery_answer = booking_delivery.answers_delivery(turn, text)
    if word in TALK_WORDS or (understood.intent == "talk" and not (asks_a_name or delivery_answer)):
        return hand_to_staff(turn)
    asked = language.language_asked(text)
    if asked is not None:
        return language.change_language(turn, asked)
    if not _consented(turn.contact):
        routing.keep_pending(turn, understood, text)
        # The first messages decide the language (Devanagari → Hindi; Hinglish → one offer).
        offer = language.first_contact(turn, text)
        if conversation.state not in ("consent", "language") or word in MENU_WORDS:
            reply = turn.goto("consent")
        else:
            reply = STATES[conversation.state].answer(turn, text)
        return f"{reply}\n{offer}" if offer else reply
    if word in MENU_WORDS:
        return _greet_and_menu(turn)
    if word in REPORT_WORDS:
        return _send_report(turn)
    answered = exercises.answer(turn, text)  # "done", "2 of 3", "skipped" to a nudge
    if answered is not None:
        return answered
    if understood.intent in ("cancel", "reschedule"):  # "cancel" on WhatsApp: a session
        changed = routing.route(turn, understood, text)
        if changed is not None:
            return changed
    if (
        conversation.state not in RESTING_STATES
        and conversation.last_turn_at is not None
        and turn.now - conversation.last_turn_at > IDLE_AFTER
    ):
        return _after_a_pause(turn)
    corrected = corrections.read_correction(turn, text)
    if corrected is not None:
        return corrected
    handler = STATES.get(conversation.state)
    if handler is None:  # an unknown stored state (e.g. after a release): start clean
        return turn.goto("menu")
    changed_course = None if delivery_answer else routing.route(turn, understood, text)
    if changed_course is not None:
        return changed_course
    return handler.answer(turn, text)


def _after_a_pause(turn: Turn) -> str:
    """Back after IDLE_AFTER: a booking waiting only for its confirmation is offered again;
    anything else starts over from the menu."""
    kept = onboarding.keep_waiting_booking(turn)
    if kept is not None:
        return kept
    turn.data.pop("booking", None)
    return f"{turn.say('restarted')}\n{turn.goto('menu')}"


def _greet_and_menu(turn: Turn) -> str:
    turn.data.pop("booking", None)
    contact = turn.contact
    if contact is None or not _consented(contact):
        return turn.goto("consent")
    if not contact.name:
        return turn.goto("ask_name")
    if not any(p.active for p in contact.patients):
        return turn.goto("ask_for_whom")
    return turn.say("greeting_name", name=greeting_name(contact.name)) + turn.goto("menu")


def _reask_current(turn: Turn) -> str:
    handler = STATES.get(turn.conversation.state)
    return turn.miss(handler.ask(turn)) if handler else turn.goto("menu")


def _stop(turn: Turn, channel: Channel) -> str:
    contact = turn.contact or _contact_for(turn)
    patients.set_opt_out(
        turn.session,
        contact=contact,
        channel=channel,
        opted_out=True,
        now=turn.now,
        actor=turn.actor,
    )
    return turn.say("stopped", channel="WhatsApp" if channel is Channel.WHATSAPP else "SMS")


def _start(turn: Turn, channel: Channel) -> str:
    contact = turn.contact or _contact_for(turn)
    patients.set_opt_out(
        turn.session,
        contact=contact,
        channel=channel,
        opted_out=False,
        now=turn.now,
        actor=turn.actor,
    )
    return turn.say("started")


def _send_report(turn: Turn) -> str:
    """The newest signed progress report of the contact's patients, sent again (the PDF
    follows as its own message); or that there is none yet."""
    contact = turn.contact
    assert contact is not None  # consented
    try:
        report = progress_reports.send_latest_again(
            turn.session,
            clinic_id=turn.clinic.id,
            contact_id=contact.id,
            now=turn.now,
            actor=turn.actor,
        )
    except ServiceError:  # the number takes no messages now (opted out of its channel)
        report = None
    if report is None:
        return turn.say("report_none")
    first = report.patient.name.split()[0] if report.patient.name else ""
    return turn.say("report_sending", patient=first)


def _help(turn: Turn) -> str:
    phone = turn.clinic.phone
    phone_line = turn.say("help_phone", phone=format_phone(phone)) if phone else ""
    return turn.say("help", phone_line=phone_line)


def _contact_for(turn: Turn) -> Contact:
    """A contact row for a number that has not consented yet (to honour STOP/START)."""
    contact = patients.find_contact(turn.session, turn.clinic.id, turn.conversation.phone)
    if contact is None:
        contact = patients.create_contact(
            turn.session,
            clinic_id=turn.clinic.id,
            phone=turn.conversation.phone,
            actor=Actor.system(),
            already_normalised=True,
        )
    turn.conversation.contact_id = contact.id
    turn.conversation.contact = contact
    return contact


def _consented(contact: Contact | None) -> bool:
    return contact is not None and contact.consent_at is not None
