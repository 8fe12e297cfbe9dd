"""The demo phone (tests/twilio_phone.py) shows what a WhatsApp user would see."""

from __future__ import annotations

import json

from integrations.twilio.content import SHAPE_KEYS, create_request, fill
from tests.twilio_phone import Shown, _twiml_messages, render, show


def _template(kind_key: str) -> dict[str, object]:
    return create_request(SHAPE_KEYS[kind_key], "en")


def test_buttons_render_from_the_template_and_its_variables() -> None:
    filled = fill(
        "Please confirm",
        [("yes", "Confirm"), ("no", "Change")],
        more_label="More…",
        list_button="Choose",
    )
    assert filled is not None
    contents = {"HX1": _template(filled.shape.key)}
    message = {"ContentSid": "HX1", "ContentVariables": json.dumps(filled.variables)}
    shown = render(message, contents)
    assert shown.text == "Please confirm"
    assert [(c.title, c.id) for c in shown.choices] == [("Confirm", "yes"), ("Change", "no")]
    assert "1. Confirm  [button]" in show(shown, ">")


def test_a_list_renders_its_rows() -> None:
    options = [(f"o{k}", f"Option {k}") for k in range(1, 6)]
    filled = fill("Which time?", options, more_label="More…", list_button="Choose")
    assert filled is not None
    contents = {"HX2": _template(filled.shape.key)}
    message = {"ContentSid": "HX2", "ContentVariables": json.dumps(filled.variables)}
    shown = render(message, contents)
    assert shown.kind == "twilio/list-picker"
    assert [c.id for c in shown.choices] == ["o1", "o2", "o3", "o4", "o5"]


def test_plain_messages_and_twiml() -> None:
    assert render({"Body": "hello"}, {}) == Shown("hello")
    twiml = "<Response><Message><Body>one</Body></Message><Message>two</Message></Response>"
    assert _twiml_messages(twiml) == ["one", "two"]
    assert _twiml_messages("<Response/>") == []
