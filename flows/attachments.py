"""What the bot says to a voice note, a photo, a document or a shared location.

Nothing sent is dropped: the edge stores every attachment with its message
(``services.messaging.media``) and fetches the files off the request path. Here the
patient gets an honest acknowledgement and, where a person should look, the chat joins
the staff queue with a note saying why:

* a voice note: we can't listen to it here; a colleague will;
* a photo or PDF that looks like proof of payment (its caption, or the chat was at
  "pay dues"): the clinic will check it; the caption never opens the Pay screen;
* any other photo or PDF (say, a referral letter): passed to the clinic;
* a location: acknowledged and kept;
* a kind of file we do not accept: said so, and the current question asked again.

On first contact (no consent yet) the acknowledgement comes with the privacy notice:
the chat is in the staff queue, and the bot still answers the notice (a chat is quiet
only in the "handoff" state; see ``flows.engine``).
"""

from __future__ import annotations

from flows.dialog import STATES, Turn, normalise, reply_expectation
from services.messaging.handoff import STAFF_NOTE
from services.messaging.media import ACCEPTED_TYPES, media_kind

# Words (after ``normalise``) that make an image or PDF read as proof of a payment.
PAYMENT_WORDS = frozenset(
    {
        "paid",
        "pay",
        "payment",
        "gpay",
        "phonepe",
        "paytm",
        "upi",
        "screenshot",
        "transaction",
        "txn",
        "transferred",
        "receipt",
        "bhugtan",
        "भ गत न",  # भुगतान, as normalise leaves it
    }
)
PAYMENT_PHRASES = ("google pay", "phone pe")
PAYMENT_STATES = frozenset({"pay_dues"})


def acknowledge(
    turn: Turn, *, media_types: tuple[str, ...], location: bool, text: str, consented: bool
) -> str | None:
    """The reply to a message carrying attachments, or None when its text should be
    read as usual (only unsupported files came with a typed message)."""
    kinds = {
        media_kind(t) for t in media_types if t.split(";")[0].strip().lower() in ACCEPTED_TYPES
    }
    if "audio" in kinds:
        return _to_staff(turn, "media_voice", "note_voice_note", consented)
    if kinds:
        if _looks_like_payment(turn, text):
            return _to_staff(turn, "media_payment", "note_payment_proof", consented)
        return _to_staff(turn, "media_passed", "note_document", consented)
    if location:
        return _then_current(turn, turn.say("media_location"), consented)
    if text:
        return None
    return _then_current(turn, turn.say("media_unsupported"), consented)


def _looks_like_payment(turn: Turn, text: str) -> bool:
    if "₹" in text or turn.conversation.state in PAYMENT_STATES:
        return True
    words = normalise(text)
    return bool(set(words.split()) & PAYMENT_WORDS) or any(p in words for p in PAYMENT_PHRASES)


def _to_staff(turn: Turn, ack: str, note: str, consented: bool) -> str:
    """The chat joins the staff queue with a note. A consented patient now waits for a
    person (the bot is quiet, as after "talk"); a first contact gets the privacy notice."""
    conversation = turn.conversation
    conversation.handoff_at = conversation.handoff_at or turn.now
    turn.data[STAFF_NOTE] = turn.say(note)
    turn.data.pop("booking", None)
    if not consented:
        return f"{turn.say(ack)}\n{turn.goto('consent')}"
    conversation.state = "handoff"
    return f"{turn.say(ack)}\n{reply_expectation(turn)}"


def _then_current(turn: Turn, ack: str, consented: bool) -> str:
    """An acknowledgement that changes nothing, followed by the question still open."""
    if not consented:
        return f"{ack}\n{turn.goto('consent')}"
    handler = STATES.get(turn.conversation.state)
    return f"{ack}\n{handler.ask(turn) if handler else turn.goto('menu')}"
