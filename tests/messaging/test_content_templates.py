"""WhatsApp buttons and lists: the content templates each Twilio account holds, synced
through the official SDK against the local Twilio stand-in, and the template and
variables a message with choices goes out with."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from core.config import Config
from integrations.twilio.content import MORE_ID, SHAPES, ContentApi, ContentError
from models import ContentTemplate
from services.clinics.settings import set_twilio_account
from services.messaging.catalogue import say
from services.messaging.content_templates import (
    interactive_message,
    sync_content_templates,
    twilio_accounts,
)
from tests.conftest import NOW, SYSTEM
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

OWN_SID = "AC" + "c" * 32
OWN_TOKEN = "clinic-own-token-0123456789"
EVERY = len(SHAPES) * 2  # every shape in English and Hindi


def config(tmp_path, **env: str) -> Config:
    return Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "SECRET_KEY": "x" * 40,
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
            **env,
        }
    )


def sync(session, twilio, account_sid=ACCOUNT_SID, token=AUTH_TOKEN):
    api = ContentApi(account_sid, token, api_url=twilio.url)
    return sync_content_templates(session, account_sid=account_sid, api=api, now=NOW)


def stored(session, account_sid=ACCOUNT_SID) -> dict[tuple[str, str], str]:
    session.rollback()
    rows = session.scalars(
        select(ContentTemplate).where(ContentTemplate.account_sid == account_sid)
    ).all()
    return {(r.shape, r.language): r.content_sid for r in rows}


def test_a_first_sync_creates_every_shape_in_each_language_and_records_the_sids(session, twilio):
    result = sync(session, twilio)
    assert len(result.created) == EVERY and result.kept == 0
    sids = stored(session)
    assert set(sids) == {(s.key, lang) for s in SHAPES for lang in ("en", "hi")}
    assert set(sids.values()) == set(twilio.contents)
    hindi = twilio.contents[sids[("list-picker-7", "hi")]]
    assert hindi["language"] == "hi"
    assert len(hindi["types"]["twilio/list-picker"]["items"]) == 7


def test_a_second_sync_creates_nothing(session, twilio):
    sync(session, twilio)
    before = stored(session)
    again = sync(session, twilio)
    assert (again.created, again.adopted, again.kept) == ([], [], EVERY)
    assert twilio.content_creates == EVERY
    assert stored(session) == before


def test_a_template_deleted_at_twilio_is_created_again(session, twilio):
    sync(session, twilio)
    gone = stored(session)[("quick-reply-3", "en")]
    twilio.delete_content(gone)
    result = sync(session, twilio)
    assert result.created == ["quick-reply-3/en"]
    now = stored(session)[("quick-reply-3", "en")]
    assert now != gone and now in twilio.contents
    assert twilio.content_creates == EVERY + 1


def test_templates_twilio_has_but_we_lost_are_adopted_not_doubled(session, twilio):
    sync(session, twilio)
    before = stored(session)
    session.execute(delete(ContentTemplate))
    session.commit()
    result = sync(session, twilio)
    assert (len(result.adopted), result.created) == (EVERY, [])
    assert stored(session) == before
    assert twilio.content_creates == EVERY


def test_accounts_are_kept_apart(session, twilio, make_clinic, tmp_path):
    twilio.add_account(OWN_SID, OWN_TOKEN)
    sync(session, twilio)
    result = sync(session, twilio, OWN_SID, OWN_TOKEN)
    assert len(result.created) == EVERY  # nothing of the other account is adopted
    mine, theirs = stored(session), stored(session, OWN_SID)
    assert set(mine) == set(theirs) and not set(mine.values()) & set(theirs.values())
    assert all(twilio.contents[sid]["account_sid"] == OWN_SID for sid in theirs.values())


def test_twilio_unreadable_is_a_content_error_and_creates_nothing(session, twilio):
    twilio.fail_next_content(20500, status=503)
    with pytest.raises(ContentError) as down:
        sync(session, twilio)
    assert not down.value.permanent
    assert stored(session) == {} and twilio.content_creates == 0


def test_a_sync_cut_short_keeps_what_it_made_and_the_next_one_finishes(session, twilio):
    twilio.fail_next_content(20001, status=400, after=3)  # the list and two creates pass
    with pytest.raises(ContentError) as refused:
        sync(session, twilio)
    assert refused.value.permanent
    assert len(stored(session)) == 2 == twilio.content_creates
    result = sync(session, twilio)
    assert (len(result.created), result.kept) == (EVERY - 2, 2)
    assert set(stored(session).values()) == set(twilio.contents)


def test_the_accounts_are_the_deployment_s_and_each_clinic_s_own(session, make_clinic, tmp_path):
    settings = config(tmp_path, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN)
    shared = make_clinic(name="Shared", slug="shared")
    own = make_clinic(name="Own", slug="own")
    set_twilio_account(
        session,
        clinic_id=own.id,
        account_sid=OWN_SID,
        auth_token=OWN_TOKEN,
        config=settings,
        actor=SYSTEM,
    )
    accounts = twilio_accounts(session, settings)
    assert [(a.account_sid, a.auth_token, a.clinics, a.default) for a in accounts] == [
        (ACCOUNT_SID, AUTH_TOKEN, (shared.slug,), True),
        (OWN_SID, OWN_TOKEN, (own.slug,), False),
    ]
    # Without the deployment's account only the clinic's own is left; a dry run has none.
    assert [a.account_sid for a in twilio_accounts(session, config(tmp_path))] == [OWN_SID]
    set_twilio_account(
        session, clinic_id=own.id, account_sid="", auth_token="", config=settings, actor=SYSTEM
    )
    assert twilio_accounts(session, config(tmp_path)) == []


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_a_message_with_many_choices_uses_the_account_s_list_and_the_catalogue_s_more(
    session, twilio, lang
):
    sync(session, twilio)
    choices = [(f"slot-{k}", f"{9 + k}:00") for k in range(12)]
    message = interactive_message(
        session, account_sid=ACCOUNT_SID, prompt="Which time?", options=choices, lang=lang
    )
    assert message.content_sid == stored(session)[("list-picker-10", lang)]
    assert message.content_variables["2"] == say(lang, "choice_list_button")
    assert message.content_variables["30"] == say(lang, "choice_more")
    assert message.content_variables["32"] == MORE_ID
    assert say("hi", "choice_more") != say("en", "choice_more")


def test_two_choices_are_buttons_and_an_unsynced_account_means_numbered_text(session, twilio):
    choices = [("yes", "Yes"), ("no", "No")]
    ask = dict(prompt="Keep it?", options=choices, lang="en")
    assert interactive_message(session, account_sid=ACCOUNT_SID, **ask) is None
    sync(session, twilio)
    message = interactive_message(session, account_sid=ACCOUNT_SID, **ask)
    assert message.content_sid == stored(session)[("quick-reply-2", "en")]
    assert message.content_variables == {
        "1": "Keep it?",
        "2": "Yes",
        "3": "yes",
        "4": "No",
        "5": "no",
    }
    assert interactive_message(session, account_sid=OWN_SID, **ask) is None
    # A language with no templates of its own reads the English ones.
    fr = interactive_message(session, account_sid=ACCOUNT_SID, **{**ask, "lang": "fr"})
    assert fr.content_sid == message.content_sid
