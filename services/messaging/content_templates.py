"""WhatsApp buttons and lists: the content templates each Twilio account holds, and the
template and variables one message with choices is sent with.

The templates (integrations.twilio.content) are created once per Twilio account by
``roshni whatsapp sync`` and their SIDs kept in ``ContentTemplate`` by (account, shape,
language). An account is the deployment's (``TWILIO_ACCOUNT_SID``) or a clinic's own;
the table is not clinic data, so every read names the account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Config
from core.db import write_transaction
from core.formatting import LANGUAGES
from integrations.twilio.content import (
    MAX_ITEMS,
    SHAPES,
    ContentApi,
    ExistingContent,
    fill,
)
from integrations.twilio.content import (
    MORE_ID as MORE_ID,  # the id of a list's "more…" row: flows read it
)
from models import Clinic, ContentTemplate
from services.clinics.settings import twilio_account
from services.messaging.catalogue import DEFAULT_LANGUAGE, say

# Choices a list shows before its "more…" row (whose id is MORE_ID).
LIST_PAGE = MAX_ITEMS - 1


@dataclass(frozen=True)
class TwilioAccount:
    account_sid: str
    auth_token: str = field(repr=False)
    clinics: tuple[str, ...]  # slugs of the clinics it serves
    default: bool  # the deployment's own (TWILIO_ACCOUNT_SID)


def twilio_accounts(session: Session, config: Config) -> list[TwilioAccount]:
    """Every Twilio account messages can leave through: the deployment's (serving every
    clinic without its own) and each clinic's own, once each; empty in a dry run."""
    clinics = session.scalars(select(Clinic).order_by(Clinic.slug)).all()
    found: dict[str, tuple[str, list[str], bool]] = {}
    if config.twilio_account_sid and config.twilio_auth_token:
        found[config.twilio_account_sid] = (config.twilio_auth_token, [], True)
    for clinic in clinics:
        account = twilio_account(clinic, config)
        if account is None:
            continue
        sid, token = account
        found.setdefault(sid, (token, [], False))[1].append(clinic.slug)
    return [
        TwilioAccount(sid, token, tuple(slugs), default)
        for sid, (token, slugs, default) in found.items()
    ]


@dataclass
class SyncResult:
    created: list[str] = field(default_factory=list)  # "<shape>/<language>"
    adopted: list[str] = field(default_factory=list)  # found at Twilio by name, not stored
    kept: int = 0


def sync_content_templates(
    session: Session,
    *,
    account_sid: str,
    api: ContentApi,
    now: datetime,
    languages: Sequence[str] = LANGUAGES,
) -> SyncResult:
    """Make sure the account holds every shape in every language, and record the SIDs.

    A stored template Twilio still has is kept; one Twilio no longer has (deleted in
    its console) is created again; one Twilio has under our name but we did not store
    (a restored database, a sync cut short) is adopted rather than doubled. Each SID is
    recorded as soon as Twilio gives it, so a sync cut short loses nothing. Raises
    ``ContentError`` when Twilio cannot be read or refuses a template.
    """
    stored = {
        (shape, language): content_sid
        for shape, language, content_sid in session.execute(
            select(
                ContentTemplate.shape, ContentTemplate.language, ContentTemplate.content_sid
            ).where(ContentTemplate.account_sid == account_sid)
        )
    }
    at_twilio = api.existing()
    sids = {content.sid for content in at_twilio}
    by_name: dict[tuple[str, str], ExistingContent] = {}
    for content in at_twilio:
        by_name.setdefault((content.friendly_name, content.language), content)
    result = SyncResult()
    for language in languages:
        for shape in SHAPES:
            if stored.get((shape.key, language)) in sids:
                result.kept += 1
                continue
            named = by_name.get((shape.friendly_name(language), language))
            if named is not None:
                content_sid = named.sid
                result.adopted.append(f"{shape.key}/{language}")
            else:
                content_sid = api.create(shape, language)
                result.created.append(f"{shape.key}/{language}")
            _record(session, account_sid, shape.key, language, content_sid, now)
    return result


def _record(
    session: Session, account_sid: str, shape: str, language: str, content_sid: str, now: datetime
) -> None:
    with write_transaction(session):
        row = session.scalar(
            select(ContentTemplate).where(
                ContentTemplate.account_sid == account_sid,
                ContentTemplate.shape == shape,
                ContentTemplate.language == language,
            )
        )
        if row is None:
            session.add(
                ContentTemplate(
                    account_sid=account_sid,
                    shape=shape,
                    language=language,
                    content_sid=content_sid,
                    created_at=now,
                )
            )
        else:
            row.content_sid = content_sid
            row.created_at = now


@dataclass(frozen=True)
class InteractiveMessage:
    content_sid: str
    content_variables: dict[str, str]


def interactive_message(
    session: Session,
    *,
    account_sid: str,
    prompt: str,
    options: Sequence[tuple[str, str] | tuple[str, str, str]],
    lang: str,
    more_id: str = MORE_ID,
) -> InteractiveMessage | None:
    """The content template and variables that offer ``options`` ((id, title), or with a
    description) as WhatsApp buttons or a list under ``prompt``, in ``lang``; None when
    they cannot go that way (see ``integrations.twilio.content.fill``) or the account's
    template was never synced — then the reply is numbered text, as before."""
    filled = fill(
        prompt,
        options,
        more_label=say(lang, "choice_more"),
        list_button=say(lang, "choice_list_button"),
        more_id=more_id,
    )
    if filled is None:
        return None
    language = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    content_sid = session.scalar(
        select(ContentTemplate.content_sid).where(
            ContentTemplate.account_sid == account_sid,
            ContentTemplate.shape == filled.shape.key,
            ContentTemplate.language == language,
        )
    )
    if content_sid is None:
        return None
    return InteractiveMessage(content_sid, filled.variables)
