"""The Twilio stand-in's Content API, checked against the official SDK: what the SDK sends
is accepted and what the stand-in answers reads back through the SDK as Twilio's would."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest.content.v1.content import ContentList

from integrations.twilio.client import twilio_client
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

OTHER_SID = "AC" + "b" * 32
OTHER_TOKEN = "another-fake-auth-token"

QUICK_REPLY = {
    "friendly_name": "yes_or_no",
    "language": "en",
    "variables": {"1": "Prompt"},
    "types": {
        "twilio/quick-reply": {
            "body": "{{1}}",
            "actions": [{"title": "Yes", "id": "yes"}, {"title": "No", "id": "no"}],
        },
        "twilio/text": {"body": "{{1}} (yes or no)"},
    },
}
LIST_PICKER = {
    "friendly_name": "pick_a_day",
    "language": "hi",
    "variables": {"1": "Prompt"},
    "types": {
        "twilio/list-picker": {
            "body": "{{1}}",
            "button": "चुनें",
            "items": [
                {"item": "Monday", "id": "mon", "description": "Mon 7 Dec"},
                {"item": "Tuesday", "id": "tue", "description": "Tue 8 Dec"},
            ],
        }
    },
}


def contents(twilio, sid=ACCOUNT_SID, token=AUTH_TOKEN):
    return twilio_client(sid, token, api_url=twilio.url).content.v1.contents


def create(twilio, body, **account):
    return contents(twilio, **account).create(ContentList.ContentCreateRequest(body))


def test_a_quick_reply_created_through_the_sdk_reads_back_as_sent(twilio):
    created = create(twilio, QUICK_REPLY)
    assert created.sid.startswith("HX") and len(created.sid) == 34
    assert created.account_sid == ACCOUNT_SID
    assert (created.friendly_name, created.language) == ("yes_or_no", "en")
    assert created.date_created is not None
    # The SDK sends every type it knows, unset ones as null; only the set ones remain.
    assert created.types == QUICK_REPLY["types"]
    assert created.variables == {"1": "Prompt"}
    fetched = contents(twilio)(created.sid).fetch()
    assert (fetched.sid, fetched.types) == (created.sid, QUICK_REPLY["types"])
    assert fetched.links["approval_fetch"].endswith(f"/v1/Content/{created.sid}/ApprovalRequests")


def test_a_list_picker_keeps_its_items_and_language(twilio):
    created = create(twilio, LIST_PICKER)
    items = created.types["twilio/list-picker"]["items"]
    assert [(i["item"], i["id"], i["description"]) for i in items] == [
        ("Monday", "mon", "Mon 7 Dec"),
        ("Tuesday", "tue", "Tue 8 Dec"),
    ]
    assert created.language == "hi"
    assert twilio.content_creates == 1


def test_the_list_is_paged_with_meta_links_the_sdk_follows(twilio):
    sids = [create(twilio, {**QUICK_REPLY, "friendly_name": f"t{n}"}).sid for n in range(5)]
    page = contents(twilio).page(page_size=2)
    assert [c.sid for c in page] == sids[:2]
    assert page.next_page_url.startswith(twilio.url + "/v1/Content?")
    assert [c.sid for c in contents(twilio).list(page_size=2)] == sids
    assert [c.sid for c in contents(twilio).list(page_size=2, limit=3)] == sids[:3]


def test_a_deleted_template_is_gone_and_fetching_it_is_a_404(twilio):
    created = create(twilio, QUICK_REPLY)
    assert contents(twilio)(created.sid).delete() is True
    with pytest.raises(TwilioRestException) as caught:
        contents(twilio)(created.sid).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)
    assert contents(twilio).list() == []


def test_each_account_sees_only_its_own_content_and_a_wrong_token_nothing(twilio):
    twilio.add_account(OTHER_SID, OTHER_TOKEN)
    mine = create(twilio, QUICK_REPLY)
    theirs = create(twilio, LIST_PICKER, sid=OTHER_SID, token=OTHER_TOKEN)
    assert theirs.account_sid == OTHER_SID
    assert [c.sid for c in contents(twilio).list()] == [mine.sid]
    assert [c.sid for c in contents(twilio, sid=OTHER_SID, token=OTHER_TOKEN).list()] == [
        theirs.sid
    ]
    with pytest.raises(TwilioRestException) as caught:
        contents(twilio)(theirs.sid).fetch()
    assert caught.value.status == 404
    # A list page that fails is the SDK's plain TwilioException, carrying the response.
    with pytest.raises(TwilioException) as caught:
        contents(twilio, token="wrong-token").list()
    assert caught.value.args[1].status_code == 401
    assert '"code": 20003' in caught.value.args[1].text


@pytest.mark.parametrize(
    "broken",
    [
        {**QUICK_REPLY, "language": None},
        {**QUICK_REPLY, "types": {}},
        {**LIST_PICKER, "types": {"twilio/list-picker": {"body": "{{1}}", "items": []}}},
        {
            **QUICK_REPLY,
            "types": {
                "twilio/quick-reply": {
                    "body": "{{1}}",
                    "actions": [{"title": "A title well over twenty", "id": "x"}],
                }
            },
        },
    ],
    ids=["no language", "no types", "list without button or items", "title too long"],
)
def test_a_definition_twilio_would_refuse_is_a_400(twilio, broken):
    with pytest.raises(TwilioRestException) as caught:
        create(twilio, broken)
    assert caught.value.status == 400
    assert twilio.contents == {}


def test_a_scripted_error_answers_the_next_content_request(twilio):
    twilio.fail_next_content(20500, status=500)
    with pytest.raises(TwilioException) as caught:
        contents(twilio).list()
    assert caught.value.args[1].status_code == 500
    assert contents(twilio).list() == []
