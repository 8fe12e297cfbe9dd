"""integrations.twilio.content: the templates' shapes and filling one for a message,
within WhatsApp's limits (buttons ≤ 3 with titles ≤ 20; lists ≤ 10 rows, items ≤ 24,
descriptions ≤ 72; every variable ≤ 255 and never empty)."""

from __future__ import annotations

import re

import pytest

from integrations.twilio.content import (
    LIST_PICKER,
    MORE_ID,
    QUICK_REPLY,
    SHAPES,
    ContentApi,
    ContentError,
    Shape,
    create_request,
    cut,
    fill,
)
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

MORE = "More…"
BUTTON = "Choose"


def options(n: int, title: str = "Option") -> list[tuple[str, str]]:
    return [(f"id-{k}", f"{title} {k}") for k in range(1, n + 1)]


def offer(prompt, choices, **labels):
    return fill(prompt, choices, more_label=labels.get("more", MORE), list_button=BUTTON)


def texts(spec: object) -> list[str]:
    if isinstance(spec, dict):
        return [t for value in spec.values() for t in texts(value)]
    if isinstance(spec, list):
        return [t for value in spec for t in texts(value)]
    return [spec] if isinstance(spec, str) else []


def variables_in(shape: Shape) -> set[str]:
    return set(re.findall(r"\{\{(\w+)\}\}", str(shape.types())))


def test_the_shapes_are_two_and_three_buttons_and_lists_of_four_to_ten():
    assert [s.key for s in SHAPES] == [
        "quick-reply-2",
        "quick-reply-3",
        *(f"list-picker-{n}" for n in range(4, 11)),
    ]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.key)
def test_every_text_of_a_template_is_a_variable_the_fill_gives_a_value(shape):
    filled = offer("Which one?", options(shape.size))
    assert filled is not None and filled.shape == shape
    assert set(filled.variables) == variables_in(shape)
    assert all(value.strip() for value in filled.variables.values())
    # No literal text: one template serves every message, in any words.
    assert all(re.fullmatch(r"\{\{\d+\}\}", text) for text in texts(shape.types()[shape.kind]))
    assert shape.types()["twilio/text"]["body"].startswith("{{1}}\n\n1. {{")


@pytest.mark.parametrize(
    ("count", "kind"), [(2, QUICK_REPLY), (3, QUICK_REPLY), (4, LIST_PICKER), (10, LIST_PICKER)]
)
def test_up_to_three_choices_are_buttons_and_four_to_ten_a_list(count, kind):
    filled = offer("Pick", options(count))
    assert (filled.shape.kind, filled.shape.size) == (kind, count)


def test_buttons_carry_the_option_ids_and_titles_cut_to_twenty_characters():
    filled = offer("When?", [("morning", "Tomorrow morning at nine"), ("evening", "Evening")])
    assert filled.variables == {
        "1": "When?",
        "2": "Tomorrow morning at…",
        "3": "morning",
        "4": "Evening",
        "5": "evening",
    }
    assert len(filled.variables["2"]) == 20


def test_list_items_are_cut_to_24_and_the_description_holds_the_whole_title():
    long = "Occupational therapy assessment"  # 31 characters
    filled = offer("Which service?", [(f"s{k}", f"{long} {k}") for k in range(1, 5)])
    assert filled.variables["2"] == BUTTON
    assert filled.variables["3"] == "Occupational therapy as…"
    assert len(filled.variables["3"]) == 24
    assert filled.variables["4"] == f"{long} 1"
    assert filled.variables["5"] == "s1"


def test_a_long_name_with_details_shows_the_name_as_title_and_the_details_below():
    services = [
        ("s1", "Speech Therapy Session — 45 min, ₹800"),
        ("s2", "Occupational Therapy Session — 45 min, ₹750"),  # name itself over 24
        ("s3", "Group — 60 min"),  # short enough whole: not split
        ("s4", "Assessment Session — 90 min, ₹1,200"),
    ]
    filled = offer("Which therapy?", services)
    rows = [(filled.variables[str(3 * k)], filled.variables[str(3 * k + 1)]) for k in range(1, 5)]
    assert rows == [
        ("Speech Therapy Session", "45 min, ₹800"),
        ("Occupational Therapy Se…", "Occupational Therapy Session — 45 min, ₹750"),
        ("Group — 60 min", "Group — 60 min"),
        ("Assessment Session", "90 min, ₹1,200"),
    ]


def test_a_given_description_is_cut_to_72_characters():
    choices = [(f"d{k}", f"Day {k}", "x" * 100) for k in range(1, 5)]
    filled = offer("Which day?", choices)
    assert filled.variables["4"] == "x" * 71 + "…"


def test_more_than_ten_choices_are_the_first_nine_and_more():
    filled = offer("Which time?", options(14), more="और…")
    assert filled.shape == Shape(LIST_PICKER, 10)
    titles = [filled.variables[str(3 * k)] for k in range(1, 11)]
    ids = [filled.variables[str(3 * k + 2)] for k in range(1, 11)]
    assert titles == [f"Option {k}" for k in range(1, 10)] + ["और…"]
    assert ids == [f"id-{k}" for k in range(1, 10)] + [MORE_ID]


@pytest.mark.parametrize(
    ("prompt", "choices"),
    [
        ("Pick", []),
        ("Pick", options(1)),
        ("", options(2)),
        ("x" * 256, options(2)),
        # Cut to 20 characters these two buttons would read the same: WhatsApp refuses that.
        ("Pick", [("a", "Speech therapy session A"), ("b", "Speech therapy session B")]),
    ],
    ids=["none", "one", "no prompt", "prompt over 255", "buttons same once cut"],
)
def test_what_cannot_be_buttons_or_a_list_is_left_to_numbered_text(prompt, choices):
    assert offer(prompt, choices) is None


def test_a_prompt_of_255_characters_still_fits():
    assert offer("x" * 255, options(2)) is not None


@pytest.mark.parametrize(
    "choices",
    [[("", "One"), ("b", "Two")], [("a", "One"), ("a", "Two")], [("more", "One"), ("b", "Two")]],
    ids=["no id", "the same id twice", "the id kept for more"],
)
def test_options_without_distinct_ids_are_a_programming_error(choices):
    with pytest.raises(ValueError):
        offer("Pick", choices)


def test_cut_keeps_short_text_and_marks_a_cut():
    assert cut("  Speech   therapy ", 20) == "Speech therapy"
    assert cut("abcdefghij", 5) == "abcd…"


# --- the Content API through the SDK, against the stand-in ----------------------------------


@pytest.mark.parametrize("language", ["en", "hi"])
def test_every_shape_is_accepted_by_the_content_api(twilio, language):
    api = ContentApi(ACCOUNT_SID, AUTH_TOKEN, api_url=twilio.url)
    sids = [api.create(shape, language) for shape in SHAPES]
    existing = {c.sid: c for c in api.existing()}
    assert set(existing) == set(sids)
    for shape, sid in zip(SHAPES, sids, strict=True):
        assert existing[sid].friendly_name == shape.friendly_name(language)
        assert existing[sid].language == language
        assert twilio.contents[sid]["types"] == create_request(shape, language)["types"]


def test_a_refusal_and_an_outage_say_whether_trying_again_could_help(twilio):
    api = ContentApi(ACCOUNT_SID, AUTH_TOKEN, api_url=twilio.url)
    twilio.fail_next_content(20001, status=400)
    with pytest.raises(ContentError) as refused:
        api.create(SHAPES[0], "en")
    assert (refused.value.code, refused.value.permanent) == (20001, True)
    twilio.fail_next_content(20500, status=503)
    with pytest.raises(ContentError) as down:
        api.existing()
    assert (down.value.code, down.value.permanent) == (20500, False)
    wrong = ContentApi(ACCOUNT_SID, "wrong-token", api_url=twilio.url)
    with pytest.raises(ContentError) as unauthorised:
        wrong.existing()
    assert (unauthorised.value.code, unauthorised.value.permanent) == (20003, True)
