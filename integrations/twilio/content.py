"""WhatsApp buttons and lists through Twilio's Content API.

A reply that offers choices is sent as a content template (``content_sid``) filled with
content variables. Every text in our templates is a variable (``{{1}}``, ``{{2}}``…), so
one template per *shape* and language serves every message:

- ``quick-reply-2``, ``quick-reply-3``: a prompt and two or three buttons;
- ``list-picker-4`` … ``list-picker-10``: a prompt, a list button and 4…10 items.

Each also carries a ``twilio/text`` fallback (the prompt and numbered choices) for a
channel that cannot show the interactive type. These types are session-only, so no
WhatsApp approval is needed. ``ContentApi`` creates and lists them with the official SDK
(``client.content.v1.contents``); ``fill`` turns a prompt and its options into a shape
and its variables, within WhatsApp's limits. Nothing here knows a language's words:
the caller passes the "more…" and list-button labels from the catalogue.

Variables, by number: ``1`` the prompt; a button k (from 1) is title ``2k`` and id
``2k+1``; a list has its button label at ``2`` and item k at ``3k`` (title), ``3k+1``
(description) and ``3k+2`` (id).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest.content.v1.content import ContentList

from integrations.twilio.client import twilio_client
from integrations.twilio.errors import is_permanent

QUICK_REPLY = "twilio/quick-reply"
LIST_PICKER = "twilio/list-picker"
TEXT = "twilio/text"

# WhatsApp's limits for in-session interactive messages (PLATFORM.md; Twilio's docs).
MAX_BUTTONS = 3
BUTTON_TITLE = 20
MAX_ITEMS = 10
ITEM_TITLE = 24
ITEM_DESCRIPTION = 72
LIST_BUTTON = 20
OPTION_ID = 200
VARIABLE_VALUE = 255  # any content variable's value
# The id of the last row when a list has more options than it can show.
MORE_ID = "more"
# Part of every template's name: a new definition of the shapes is a new version, so a
# sync creates the new templates instead of adopting the old ones by name.
VERSION = "v1"


@dataclass(frozen=True)
class Shape:
    kind: str  # QUICK_REPLY or LIST_PICKER
    size: int  # buttons or items

    @property
    def key(self) -> str:
        """``quick-reply-3``, ``list-picker-7``: what the store keys templates by."""
        return f"{self.kind.removeprefix('twilio/')}-{self.size}"

    def friendly_name(self, language: str) -> str:
        return f"roshni_{VERSION}_{self.key.replace('-', '_')}_{language}"

    def title_variable(self, k: int) -> str:
        return str(2 * k) if self.kind == QUICK_REPLY else str(3 * k)

    def types(self) -> dict[str, dict[str, object]]:
        """The template's types: the interactive one and its ``twilio/text`` fallback."""
        ks = range(1, self.size + 1)
        fallback = "{{1}}\n\n" + "\n".join(f"{k}. {{{{{self.title_variable(k)}}}}}" for k in ks)
        if self.kind == QUICK_REPLY:
            interactive: dict[str, object] = {
                "body": "{{1}}",
                "actions": [
                    {"title": f"{{{{{2 * k}}}}}", "id": f"{{{{{2 * k + 1}}}}}"} for k in ks
                ],
            }
        else:
            interactive = {
                "body": "{{1}}",
                "button": "{{2}}",
                "items": [
                    {
                        "item": f"{{{{{3 * k}}}}}",
                        "description": f"{{{{{3 * k + 1}}}}}",
                        "id": f"{{{{{3 * k + 2}}}}}",
                    }
                    for k in ks
                ],
            }
        return {self.kind: interactive, TEXT: {"body": fallback}}

    def sample_variables(self) -> dict[str, str]:
        """Placeholder values Twilio shows in its console (never sent to anyone)."""
        names = {"1": "Prompt"}
        if self.kind == LIST_PICKER:
            names["2"] = "Choose"
        for k in range(1, self.size + 1):
            if self.kind == QUICK_REPLY:
                names[str(2 * k)], names[str(2 * k + 1)] = f"Choice {k}", f"choice-{k}"
            else:
                names[str(3 * k)] = f"Choice {k}"
                names[str(3 * k + 1)] = f"About choice {k}"
                names[str(3 * k + 2)] = f"choice-{k}"
        return names


SHAPES: tuple[Shape, ...] = (
    Shape(QUICK_REPLY, 2),
    Shape(QUICK_REPLY, 3),
    *(Shape(LIST_PICKER, n) for n in range(4, MAX_ITEMS + 1)),
)
SHAPE_KEYS = {shape.key: shape for shape in SHAPES}


def create_request(shape: Shape, language: str) -> dict[str, object]:
    """The body of ``POST /v1/Content`` that creates ``shape`` in ``language``."""
    return {
        "friendly_name": shape.friendly_name(language),
        "language": language,
        "variables": shape.sample_variables(),
        "types": shape.types(),
    }


# --- filling a template for one message -----------------------------------------------------


@dataclass(frozen=True)
class Filled:
    shape: Shape
    variables: dict[str, str]


def fill(
    prompt: str,
    options: Sequence[tuple[str, str] | tuple[str, str, str]],
    *,
    more_label: str,
    list_button: str,
    more_id: str = MORE_ID,
) -> Filled | None:
    """The shape and content variables that offer ``options`` ((id, title) or (id, title,
    description)) under ``prompt``; None when they cannot be sent as buttons or a list
    (fewer than two options, a prompt longer than a variable holds, buttons that would
    read the same once cut) — then the caller sends numbered text, as on SMS.

    Two or three options are buttons (titles cut to 20 characters); four to ten a list
    (titles cut to 24, descriptions to 72; without a description, see ``_row_texts``);
    more than ten the first nine and a last row ``more_label`` whose id is ``more_id``
    (``MORE_ID`` unless the caller names its own, say to tell one list's "more…" from
    another's).
    """
    prompt = prompt.strip()
    if len(options) < 2 or not prompt or len(prompt) > VARIABLE_VALUE:
        return None
    for option in options:
        option_id, title = option[0], option[1]
        if not option_id or len(option_id) > OPTION_ID or not title.strip():
            raise ValueError(f"an option needs an id of 1 to {OPTION_ID} characters and a title")
    if not more_id or len(more_id) > OPTION_ID:
        raise ValueError(f"the 'more' row needs an id of 1 to {OPTION_ID} characters")
    if len({option[0] for option in options}) < len(options) or any(
        option[0] == more_id for option in options
    ):
        raise ValueError(f"option ids must differ from each other and from {more_id!r}")
    if len(options) <= MAX_BUTTONS:
        shape = Shape(QUICK_REPLY, len(options))
        variables = {"1": prompt}
        for k, option in enumerate(options, start=1):
            variables[str(2 * k)] = cut(option[1], BUTTON_TITLE)
            variables[str(2 * k + 1)] = option[0]
        titles = [variables[str(2 * k)].casefold() for k in range(1, shape.size + 1)]
        # WhatsApp refuses two buttons that read the same (list rows need only their ids
        # apart, and a row's description still shows its whole title).
        if len(set(titles)) < len(titles):
            return None
    else:
        rows = list(options)
        if len(rows) > MAX_ITEMS:
            rows = [*rows[: MAX_ITEMS - 1], (more_id, more_label)]
        shape = Shape(LIST_PICKER, len(rows))
        variables = {"1": prompt, "2": cut(list_button, LIST_BUTTON)}
        for k, option in enumerate(rows, start=1):
            title, description = _row_texts(option)
            variables[str(3 * k)] = cut(title, ITEM_TITLE)
            variables[str(3 * k + 1)] = cut(description, ITEM_DESCRIPTION)
            variables[str(3 * k + 2)] = option[0]
    return Filled(shape, variables)


def _row_texts(option: tuple[str, str] | tuple[str, str, str]) -> tuple[str, str]:
    """A list row's title and description. Without a description, a title too long for
    a row that reads "name — details" (as our choices do: "Speech Therapy Session — 45
    min, ₹800") shows the name as the title and the details below it; any other title
    is cut, and the description repeats it whole."""
    title = option[1].strip()
    if len(option) > 2 and option[2].strip():
        return title, option[2].strip()
    head, dash, tail = (part.strip() for part in title.partition(" — "))
    if dash and len(title) > ITEM_TITLE and head and tail and len(head) <= ITEM_TITLE:
        return head, tail
    return title, title


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, an ellipsis marking a cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- the Content API, through the official SDK ----------------------------------------------


class ContentError(Exception):
    """Twilio would not create or list content; ``permanent`` says whether trying again
    could help (bad credentials, a refused definition) or not (a timeout, a 5xx)."""

    def __init__(self, message: str, *, code: int | None = None, permanent: bool) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent


@dataclass(frozen=True)
class ExistingContent:
    sid: str
    friendly_name: str
    language: str


class ContentApi:
    """One account's content templates: list them, create one."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.client = twilio_client(account_sid, auth_token, api_url=api_url, timeout=timeout)

    def existing(self) -> list[ExistingContent]:
        """Every content template of the account (the SDK follows the pages)."""
        try:
            found = self.client.content.v1.contents.list(page_size=100)
        except TwilioRestException as exc:
            raise _refused("list", exc) from None
        except TwilioException as exc:
            # A page Twilio answered with an error: the SDK raises a plain
            # TwilioException with the response as its second argument.
            response = exc.args[1] if len(exc.args) > 1 else None
            status = getattr(response, "status_code", None)
            if status is None:
                raise ContentError(
                    f"Twilio not reachable: {type(exc).__name__}", permanent=False
                ) from None
            code = _error_code(getattr(response, "text", ""))
            raise ContentError(
                f"Twilio refused to list content (HTTP {status}, code {code})",
                code=code,
                permanent=is_permanent(code, status),
            ) from None
        except OSError as exc:
            raise ContentError(
                f"Twilio not reachable: {type(exc).__name__}", permanent=False
            ) from None
        return [
            ExistingContent(c.sid or "", c.friendly_name or "", c.language or "") for c in found
        ]

    def create(self, shape: Shape, language: str) -> str:
        """Creates ``shape`` in ``language``; returns its Content SID (``HX…``)."""
        request = ContentList.ContentCreateRequest(create_request(shape, language))
        try:
            created = self.client.content.v1.contents.create(request)
        except TwilioRestException as exc:
            raise _refused("create", exc) from None
        except (TwilioException, OSError) as exc:
            raise ContentError(
                f"Twilio not reachable: {type(exc).__name__}", permanent=False
            ) from None
        if not created.sid:
            raise ContentError("Twilio answered without a Content SID", permanent=False)
        return created.sid


def _error_code(text: str) -> int | None:
    try:
        code = json.loads(text).get("code")
    except (ValueError, AttributeError):
        return None
    return int(code) if isinstance(code, int) else None


def _refused(what: str, exc: TwilioRestException) -> ContentError:
    code = int(exc.code) if exc.code else None
    return ContentError(
        f"Twilio refused to {what} content (HTTP {exc.status}, code {code})",
        code=code,
        permanent=is_permanent(code, exc.status),
    )
