"""The history on a patient's clinical page, as each role sees it: the timeline with its
filters (kept in the page links), the search, the goals at two dates; the front desk and
the accountant refused; another clinic's ids find nothing.

The session records' world (tests/clinical/test_history.py); "now" is ``NOW``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from admin.views import clinical as clinical_view
from models import Role
from services.clinical.session_records import RecordTexts
from tests.clinical.test_documents import store
from tests.clinical.test_goals import set_for
from tests.clinical.test_history import with_ravi, world
from tests.clinical.test_progress_notes import add, clinic, logged_in
from tests.clinical.test_session_records import LAST_FRIDAY_11, SOAP, _book_at, past, write
from tests.conftest import NOW

__all__ = ["clinic", "past", "store", "world"]


@pytest.fixture
def app(app, monkeypatch):
    monkeypatch.setattr(clinical_view, "utcnow", lambda: NOW)
    return app


@pytest.fixture
def aarav(session, clinic, past):
    """Friday's session with a signed record, Saturday's with Ravi, a note this morning."""
    write(session, clinic, past, sign=True)
    ravi = with_ravi(session, clinic, LAST_FRIDAY_11 + timedelta(days=1))
    note = add(session, clinic, past, Role.THERAPIST, "Said 'bus' at 100% _twice_", NOW)
    return {"past": past.id, "ravi": ravi.id, "note": note.id, "patient": clinic.aarav.id}


def page(client, patient_id, **params):
    response = client.get(f"/admin/patient/clinical/{patient_id}", query_string=params)
    return response


def entries(response) -> list[str]:
    return re.findall(r'data-entry="([a-z]+-\d+)"', response.text)


def test_the_admin_sees_the_history_with_the_record_s_excerpt(app, clinic, aarav):
    shown = page(logged_in(app, clinic, Role.ADMIN), aarav["patient"])

    assert shown.status_code == 200
    assert entries(shown) == [
        f"session-{clinic.own.id}",
        f"note-{aarav['note']}",
        f"session-{aarav['ravi']}",
        f"session-{aarav['past']}",
    ]
    text = unescape(shown.text)
    assert SOAP.assessment in text and "Said 'bus' at 100% _twice_" in text
    assert f'data-session="{aarav["past"]}"' in shown.text and "Signed" in text
    assert 'value="' + str(clinic.colleagues.therapist_id) + '"' in shown.text  # Ravi, a choice


def test_filters_narrow_the_history_and_are_shown_back(app, clinic, aarav):
    client = logged_in(app, clinic, Role.THERAPIST)

    by_ravi = page(client, aarav["patient"], therapist=clinic.colleagues.therapist_id)
    assert entries(by_ravi) == [f"session-{aarav['ravi']}"]
    assert f'value="{clinic.colleagues.therapist_id}" selected' in by_ravi.text

    friday = LAST_FRIDAY_11.date().isoformat()  # 11:00 in Kolkata is the same day in UTC
    on_friday = page(client, aarav["patient"], **{"from": friday, "to": friday})
    assert entries(on_friday) == [f"session-{aarav['past']}"]
    assert f'value="{friday}"' in on_friday.text

    notes_only = page(client, aarav["patient"], kind="note")
    assert entries(notes_only) == [f"note-{aarav['note']}"]
    nothing = page(client, aarav["patient"], type="occupational")
    assert entries(nothing) == [] and "Nothing matches these filters." in nothing.text
    assert page(client, aarav["patient"], **{"from": "not a day", "page": "x"}).status_code == 200


def test_every_kind_links_to_its_own_page(app, clinic, world):
    shown = page(logged_in(app, clinic, Role.THERAPIST), clinic.aarav.id)

    patient = clinic.aarav.id
    assert [e.split("-")[0] for e in entries(shown)] == [
        "session", "report", "note", "assessment", "document", "session", "session"
    ]  # fmt: skip
    for link in (
        f"/admin/patient/assessment/{patient}/{world['assessment'].id}",
        f"/admin/patient/document/{patient}/{world['document'].id}",
        f"/admin/patient/report/{patient}/{world['report'].id}",
        f"/admin/appointment/notes/{world['past'].id}",
    ):
        assert f'href="{link}"' in shown.text
    assert "Referral letter.pdf" in shown.text and "Dr. Ravi Menon" in shown.text


@pytest.mark.parametrize(
    ("search", "found"),
    [("100%", "note"), ("_twice_", "note"), ("'BUS'", "note"), ("%%", None), ("/s/", "past")],
)
def test_the_search_box_takes_wildcards_and_quotes_literally(app, clinic, aarav, search, found):
    shown = page(logged_in(app, clinic, Role.ADMIN), aarav["patient"], q=search)

    kind = "session" if found == "past" else found
    expected = [] if found is None else [f"{kind}-{aarav[found]}"]
    assert entries(shown) == expected
    assert unescape(re.search(r'id="history-q" value="([^"]*)"', shown.text).group(1)) == search


def test_a_long_history_is_paged_and_the_links_keep_the_filters(app, session, clinic, aarav):
    past = session.get(type(clinic.own), aarav["past"])
    for n in range(55):
        add(session, clinic, past, Role.THERAPIST, f"Note {n}", NOW - timedelta(minutes=n + 1))
    client = logged_in(app, clinic, Role.ADMIN)

    first = page(client, aarav["patient"], kind=["note", "session"], q="note")
    assert len(entries(first)) == 50 and "Page 1 of 2 (55 entries)" in first.text
    older = unescape(re.search(r'href="([^"]+)" rel="next"', first.text).group(1))
    assert "kind=note" in older and "kind=session" in older and "q=note" in older
    second = client.get(older)
    assert len(entries(second)) == 5 and 'rel="prev"' in second.text


def test_goals_are_compared_at_two_dates(app, session, clinic, past):
    goal = set_for(session, clinic)  # 20 -> 80
    earlier = _book_at(
        session, clinic, LAST_FRIDAY_11 - timedelta(days=7), booked=NOW - timedelta(days=14)
    )
    write(session, clinic, earlier, texts=RecordTexts(plan="p"), measures={goal.id: 32})
    write(session, clinic, past, texts=RecordTexts(plan="p"), measures={goal.id: 50}, sign=True)
    client = logged_in(app, clinic, Role.THERAPIST)

    shown = page(client, clinic.aarav.id)  # defaults: the first measure's day, and today
    row = re.search(rf'data-compare-goal="{goal.id}">(.*?)</tr>', shown.text, re.S).group(1)
    assert "32 (20% of the way)" in row and "50 (50% of the way)" in row and "+18" in row
    day_a = (LAST_FRIDAY_11 - timedelta(days=7)).date().isoformat()
    assert f'name="a" id="compare-a" value="{day_a}"' in shown.text

    before = (LAST_FRIDAY_11 - timedelta(days=8)).date().isoformat()
    picked = page(client, clinic.aarav.id, a=before, b=LAST_FRIDAY_11.date().isoformat())
    row = re.search(rf'data-compare-goal="{goal.id}">(.*?)</tr>', picked.text, re.S).group(1)
    assert "Not measured yet" in row and "50 (50% of the way)" in row


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ACCOUNTANT])
def test_the_front_desk_and_the_accountant_are_refused(app, clinic, aarav, role):
    assert page(logged_in(app, clinic, role), aarav["patient"], q="bus").status_code == 403


def test_a_therapist_sees_only_their_own_patients_history(app, clinic, aarav):
    client = logged_in(app, clinic, Role.THERAPIST)
    assert page(client, aarav["patient"]).status_code == 200
    assert page(client, clinic.colleagues.patient_id).status_code == 404  # Ravi's Meera


def test_another_clinic_s_ids_find_nothing(app, clinic, aarav):
    client = logged_in(app, clinic, Role.ADMIN)

    assert page(client, clinic.b_session.patient_id).status_code == 404
    theirs = page(client, aarav["patient"], therapist=clinic.b_session.therapist_id)
    assert theirs.status_code == 200 and entries(theirs) == []
    assert "Dr. Bclinic" not in theirs.text


def test_the_clinical_text_and_the_search_stay_out_of_the_logs(app, clinic, aarav, caplog):
    caplog.set_level("DEBUG")
    shown = page(logged_in(app, clinic, Role.ADMIN), aarav["patient"], q="bus")

    assert entries(shown) == [f"note-{aarav['note']}"]
    assert "bus" not in caplog.text and SOAP.assessment not in caplog.text
