"""The dialog's door to the answers: the turn's clinic, language and clock are used."""

from __future__ import annotations

from datetime import date

from flows.answers import answer_for_turn, answer_question
from flows.dialog import Turn
from models import Channel, Conversation
from tests.conftest import NOW


def _turn(session, clinic, contact=None) -> Turn:
    conversation = Conversation(
        clinic_id=clinic.id,
        channel=Channel.WHATSAPP,
        phone=contact.phone if contact else "+919876500001",
        contact_id=contact.id if contact else None,
        state="menu",
        data={},
    )
    session.add(conversation)
    session.commit()
    return Turn(session=session, clinic=clinic, conversation=conversation, now=NOW)


def test_a_question_is_answered_in_the_contacts_language(
    session, make_clinic, make_therapist, make_patient
):
    clinic = make_clinic(name="Roshni Clinic")
    make_therapist(clinic)
    patient = make_patient(clinic)
    patient.contact.language = "hi"
    session.commit()
    turn = _turn(session, clinic, patient.contact)

    assert answer_question(turn, "open_day", day=date(2026, 11, 29)) == (
        "माफ़ कीजिए, Roshni Clinic रवि, 29 नव॰ को बंद है।"
    )


def test_nothing_to_say_is_none_and_a_partial_answer_asks_staff(
    session, make_clinic, make_therapist
):
    clinic = make_clinic(name="Roshni Clinic")
    make_therapist(clinic)
    turn = _turn(session, clinic)

    assert answer_question(turn, "address") is None  # no address recorded
    assert answer_question(turn, None, text="can I bring my dog?") is None
    found = answer_for_turn(turn, "therapist_gender", therapist_gender="female")
    assert found is not None and found.notify_staff
