"""The panel's alerts badge (waiting chats, pending reschedule requests) and its global
search box, on the roles walk's world: clinic A with a session, a chat waiting for a person
and a pending request for each of its two therapists, clinic B with one of each."""

from __future__ import annotations

import re

from sqlalchemy import select

from core.db import get_db
from models import Appointment, Channel, Conversation, StaffUser
from services.audit import Actor
from services.messaging import handoff
from services.reports.desk_alerts import desk_alerts
from services.scheduling import reschedule_requests
from tests.admin import test_roles
from tests.admin.test_admin import log_in
from tests.admin.test_roles import login
from tests.conftest import NOW, SYSTEM, counting_statements

world = test_roles.world  # the roles walk's world, a fixture


def alerts(client) -> dict:
    response = client.get("/admin/alerts/")
    assert response.status_code == 200, response.status_code
    assert "no-store" in response.headers["Cache-Control"]
    return response.get_json()


def badges(page: str) -> dict[str, str]:
    """The menu's badges: what each counts → the number shown."""
    return dict(re.findall(r'data-alert-for="([\w ]+)" aria-label="\d+ waiting">(\d+)<', page))


def search(client, token: str, text: str) -> str:
    response = client.post("/admin/search/", data={"csrf_token": token, "q": text})
    assert response.status_code == 200
    return response.text


# --- the badge ------------------------------------------------------------------------------


def test_the_badge_counts_the_clinic_s_waiting_chats_and_pending_requests(app, world):
    client, _ = login(app, world, "operator")
    # Their own notifications too (none): every clinic role may be told (test_roles); and
    # chat booking requests (none) on Appointments, for who may approve them.
    assert alerts(client) == {
        "conversations": 2,
        "requests": 2,
        "notifications": 0,
        "appointment": 0,
        "total": 4,
    }
    shown = badges(client.get("/admin/").text)
    # On the entries, and on the People category holding Conversations.
    assert shown["conversations"] == "2"
    assert shown["requests"] == "2"
    assert any("conversations" in key.split() and " " in key for key in shown)


def test_the_badge_follows_the_lists_rules_as_chats_are_handed_back_and_requests_decided(
    app, world, session
):
    client, _ = login(app, world, "admin")
    chat = session.scalar(
        select(Conversation).where(
            Conversation.clinic_id == world.a.id, handoff.waiting_for_staff()
        )
    )
    handoff.hand_back(session, clinic_id=world.a.id, conversation_id=chat.id, now=NOW, actor=SYSTEM)
    request = world.rows["own"]["request"]
    admin = session.scalar(select(StaffUser.id).where(StaffUser.email == world.emails["admin"]))
    reschedule_requests.reject_request(
        session,
        clinic_id=world.a.id,
        request_id=request.id,
        note="No",
        now=NOW,
        actor=Actor.staff(admin),
    )
    session.commit()
    assert alerts(client) == {
        "conversations": 1,
        "requests": 1,
        "notifications": 0,
        "appointment": 0,
        "total": 2,
    }
    # What the lists show agrees.
    assert 'id="waiting-count">1<' in client.get("/admin/conversations/").text
    assert client.get("/admin/requests/").text.count(">Reject<") == 1


def test_a_therapist_counts_requests_about_their_own_sessions_and_no_chats(app, world):
    """And their own unread notifications: their session booked, its request made."""
    client, _ = login(app, world, "therapist")
    assert alerts(client) == {
        "conversations": None,
        "requests": 1,
        "notifications": 2,
        "total": 3,
    }
    shown = badges(client.get("/admin/").text)
    assert "conversations" not in shown and shown["requests"] == "1"
    assert shown["notifications"] == "2"


def test_the_accountant_reads_both_and_the_superadmin_has_no_clinic_to_count(app, world):
    client, _ = login(app, world, "accountant")
    assert alerts(client) == {"conversations": 2, "requests": 2, "notifications": 0, "total": 4}
    client, _ = login(app, world, "superadmin")
    assert alerts(client) == {"conversations": None, "requests": None, "total": 0}
    assert 'id="panel-menu"' not in client.get("/admin/").text


def test_signed_out_the_alerts_are_refused(app, world):
    response = app.test_client().get("/admin/alerts/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_count_is_one_statement_however_many_are_waiting(app, world, session):
    for n in range(5):
        session.add(
            Conversation(
                clinic_id=world.a.id,
                channel=Channel.WHATSAPP,
                phone=f"+91987650010{n}",
                state="handoff",
                handoff_at=NOW,
            )
        )
    session.commit()
    with counting_statements(session.get_bind()) as statements:
        found = desk_alerts(session, world.a.id, chats=True, requests=True)
    session.commit()
    assert (found.waiting_chats, found.pending_requests) == (7, 2)
    assert len([s for s in statements if s != "BEGIN"]) == 1

    # Through the panel: clinic A (7 waiting) costs what clinic B (1 waiting) does.
    engine = get_db(app).engine
    spent = {}
    for email, waiting in (("admin@a.example", 7), ("admin@bclinic.example", 1)):
        client = app.test_client()
        assert log_in(client, email).status_code == 302
        with counting_statements(engine) as seen:
            assert alerts(client)["conversations"] == waiting
        spent[email] = len(seen)
    assert len(set(spent.values())) == 1, spent


# --- global search --------------------------------------------------------------------------


def test_search_finds_patients_guardians_and_phones_in_any_form(app, world):
    client, token = login(app, world, "operator")
    by_name = search(client, token, "olivia")
    assert "Olivia Ownpatient" in by_name and "/admin/contact/details/" in by_name
    by_guardian = search(client, token, "Ownguardian")
    assert "Asha Ownguardian" in by_guardian and "/admin/contact/details/" in by_guardian
    # Each result opens its page.
    for link in re.findall(r'href="(/admin/contact/details/\?id=\d+)"', by_guardian):
        assert client.get(link).status_code == 200, link
    # +91 9876500001, stored +919876500001, typed as people type it.
    for typed in ("+91 98765 00001", "098765-00001", "(+91) 09876500001", "9876500001", "500001"):
        page = search(client, token, typed)
        assert "Olivia Ownpatient" in page and "Asha Ownguardian" in page, typed
        assert "Oscar Notmine" not in page, typed


def test_search_finds_an_appointment_by_number_part_of_it_or_id(app, world):
    client, token = login(app, world, "operator")
    appointment = world.rows["own"]["appointment"]
    details = f"/admin/appointment/details/?id={appointment.id}"
    for typed in (appointment.number, appointment.number.split("-")[-1], str(appointment.id)):
        page = search(client, token, typed)
        assert appointment.number in page and details.replace("&", "&amp;") in page, typed
    assert client.get(details).status_code == 200


def test_search_never_shows_another_clinic(app, world, session):
    client, token = login(app, world, "admin")
    theirs = session.scalar(select(Appointment).where(Appointment.clinic_id == world.b.id))
    for typed in ("Bclinic", "+91 98765 00003", "500003", theirs.number, str(theirs.id)):
        page = search(client, token, typed)
        assert "Bclinic Patient" not in page and "Bclinic Guardian" not in page, typed
        assert f'/admin/appointment/details/?id={theirs.id}"' not in page, typed


def test_a_therapist_finds_only_their_own_patients_and_sessions(app, world):
    client, token = login(app, world, "therapist")
    assert "Olivia Ownpatient" in search(client, token, "Olivia")
    page = search(client, token, "Notmine")
    assert "Oscar Notmine" not in page and "Gita Notmine" not in page
    assert "Nothing found" in page
    other = world.rows["other"]["appointment"]
    assert f'/admin/appointment/details/?id={other.id}"' not in search(client, token, other.number)
    assert world.rows["own"]["appointment"].number in search(
        client, token, world.rows["own"]["appointment"].number
    )


def test_the_accountant_finds_people_and_sessions_but_the_term_never_reaches_the_url(app, world):
    client, token = login(app, world, "accountant")
    page = client.get("/admin/")
    assert 'id="global-search"' in page.text and 'method="post"' in page.text
    assert "Olivia Ownpatient" in search(client, token, "olivia")
    # Without the form's token the search is refused, like every other POST.
    refused = client.post("/admin/search/", data={"q": "olivia"})
    assert "Olivia Ownpatient" not in refused.text
