"""The admin's one way of meeting a service's refusal: roll back, flash it, let the page branch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, get_flashed_messages
from flask_babel import Babel

from admin.views.refusals import refusal_rolled_back, refused_as_flash
from models import Clinic
from services.errors import InvalidInput, NotFound


@pytest.fixture
def request_context() -> Iterator[None]:
    app = Flask(__name__)
    app.secret_key = "x" * 40
    Babel(app)  # the panel's refusals go through its catalogue (English here)
    with app.test_request_context():
        yield


def test_a_refusal_is_rolled_back_and_flashed_once(session, make_clinic, request_context):
    clinic = make_clinic(name="Before")
    with refused_as_flash(session) as outcome:
        clinic.name = "Half-saved"
        session.flush()
        raise InvalidInput(detail="Not like that.")
    assert not outcome.ok
    assert isinstance(outcome.refusal, InvalidInput)
    assert get_flashed_messages(with_categories=True) == [("error", "Not like that.")]
    assert session.get(Clinic, clinic.id).name == "Before"


def test_success_flashes_nothing(session, make_clinic, request_context):
    clinic = make_clinic(name="Before")
    with refused_as_flash(session) as outcome:
        clinic.name = "After"
        session.commit()
    assert outcome.ok and outcome.refusal is None
    assert get_flashed_messages() == []
    assert session.get(Clinic, clinic.id).name == "After"


def test_the_page_may_word_the_refusal_itself(session, request_context):
    def say(exc):
        return f"{exc.message} Try another."

    with refused_as_flash(session, say=say):
        raise NotFound(what="therapist")
    assert get_flashed_messages() == ["We could not find that therapist. Try another."]


def test_anything_but_a_refusal_goes_on_up(session, request_context):
    with pytest.raises(LookupError), refused_as_flash(session):
        raise LookupError("not a service's refusal")
    assert get_flashed_messages() == []


def test_refusals_can_be_gathered_instead_of_flashed(session, request_context):
    refused = []
    for what in ("room", "room", "bed"):
        with refusal_rolled_back(session) as outcome:
            raise NotFound(what=what)
        refused.append(outcome.refusal.message)
    assert refused == [
        "We could not find that room.",
        "We could not find that room.",
        "We could not find that bed.",
    ]
    assert get_flashed_messages() == []
