"""The booking form's one extra question for a service given either way: "In person or
online (video call)?". Asked only when the service is both (``video.is_either``); a
service given one way fills the answer itself. Numbers, the choices' words and the
usual ways of saying either ("video", "ऑनलाइन", "clinic aake") all work.
"""

from __future__ import annotations

from flows.booking_when import booking
from flows.dialog import Turn, normalise
from models import Service
from services.scheduling import video

# Whole answers that mean one or the other, in English, Hindi and Hinglish (compared
# normalised, as ``flows.dialog.normalise`` reads a message).
ONLINE_WORDS = frozenset(
    normalise(words)
    for words in {
        "online",
        "video",
        "video call",
        "videocall",
        "on video",
        "zoom",
        "from home",
        "ghar se",
        "video pe",
        "video par",
        "online hi",
        "ऑनलाइन",
        "आनलाइन",
        "वीडियो",
        "वीडियो कॉल",
        "घर से",
    }
)
IN_PERSON_WORDS = frozenset(
    normalise(words)
    for words in {
        "in person",
        "inperson",
        "in-person",
        "clinic",
        "at the clinic",
        "at clinic",
        "visit",
        "offline",
        "clinic aake",
        "clinic aakar",
        "clinic pe",
        "clinic par",
        "aake",
        "aakar",
        "क्लिनिक",
        "क्लिनिक आकर",
        "क्लिनिक आके",
        "आकर",
        "आके",
    }
)


def _service(turn: Turn) -> Service | None:
    service = turn.session.get(Service, booking(turn).get("service_id"))
    if service is None or service.clinic_id != turn.clinic.id:
        return None
    return service


def check_delivery(turn: Turn) -> str | None:
    """A choice made for another service (the patient changed it) is asked again."""
    service = _service(turn)
    data = booking(turn)
    if data.get("reschedule_id") or (service is not None and video.is_either(service)):
        return None
    if service is not None and data["online"] == (not service.in_person):
        return None
    data.pop("online")
    return ""


def only_delivery(turn: Turn) -> bool:
    """A service given one way answers itself; a move keeps the session's way."""
    data = booking(turn)
    service = _service(turn)
    if data.get("reschedule_id"):
        data["online"] = None  # not asked: rescheduling keeps it (and its link)
        return True
    if service is None or video.is_either(service):
        return False
    data["online"] = not service.in_person
    return True


def ask_delivery(turn: Turn) -> str:
    return turn.offer(
        turn.say("ask_delivery"),
        [(False, turn.say("delivery_in_person")), (True, turn.say("delivery_online"))],
    )


def read_delivery(text: str) -> bool | None:
    """True for online, False for in person, None when the words say neither."""
    said = normalise(text)
    if said in ONLINE_WORDS:
        return True
    if said in IN_PERSON_WORDS:
        return False
    return None


def answers_delivery(turn: Turn, text: str) -> bool:
    """Is this message an answer to the delivery question (a single booking's, or the
    course step's: ``flows.booking_course``)? ("in person" then means the clinic, not a
    call for a person: the engine lets the question have it.)"""
    state = turn.conversation.state
    asked = state == "book_delivery" or (
        state == "book_course" and booking(turn).get("course_asks") == "delivery"
    )
    return asked and read_delivery(text) is not None


def chosen_delivery(turn: Turn, text: str) -> bool | None:
    """The answer to the question: True online, False in person, None not understood."""
    choice = read_delivery(text)
    if choice is None:
        choice = turn.pick(text)
    return None if choice is None else bool(choice)
