"""The panel in the staff member's language: English or Hindi, chosen on My profile.

NOW is Mon 23 Nov 2026, 09:00 in the clinic (Asia/Kolkata); the panel's clock here is two
hours later (CLOCK), so today's 10:00 session shows on Today with its buttons.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from admin.views import dashboard as dashboard_view
from admin.views import session_page
from core.db import get_db
from models import AuditLog, Role, StaffUser
from roshni.app import create_app
from services.staff.accounts import choose_language, create_staff_user
from tests.admin.test_admin import PASSWORD, csrf_token, log_in
from tests.admin.test_appointments_admin import alerts, book, fresh, local
from tests.conftest import NOW, SYSTEM

CLOCK = NOW + timedelta(hours=2)


@pytest.fixture
def app(payments_config, monkeypatch):
    for module in (dashboard_view, session_page):
        monkeypatch.setattr(module, "utcnow", lambda: CLOCK)
    app = create_app(payments_config)
    yield app
    get_db(app).dispose()


@pytest.fixture
def desk(session, make_clinic, make_therapist, make_service, make_patient):
    clinic = make_clinic(name="Clinic A", slug="clinic-a")
    desk = type("Desk", (), {})()
    desk.clinic = clinic
    desk.priya = make_therapist(clinic, name="Dr. Priya Nair")
    desk.speech = make_service(clinic)
    desk.aarav = make_patient(clinic, name="Aarav Sharma", phone="+919876500001")
    desk.users = {
        name: create_staff_user(
            session,
            email=f"{name}@a.example",
            password=PASSWORD,
            role=Role.ADMIN,
            clinic_id=clinic.id,
            actor=SYSTEM,
        )
        for name in ("hindi", "english")
    }
    choose_language(session, user_id=desk.users["hindi"].id, locale="hi", actor=SYSTEM)
    desk.session = book(session, desk, desk.aarav, local(23, 10), now=NOW - timedelta(days=1))
    session.commit()
    return desk


def signed_in(app, name: str):
    client = app.test_client()
    assert log_in(client, f"{name}@a.example").status_code == 302
    return client


def test_a_hindi_reader_sees_today_the_session_and_lists_in_hindi(app, desk):
    client = signed_in(app, "hindi")
    today = client.get("/admin/").text
    assert "आज के सेशन" in today and "लॉगआउट" in today
    assert "अपॉइंटमेंट" in today and "पैसा" in today  # the menu: a view and a category
    assert 'id="today-arrive-' in today and "आ गए" in today
    assert "नव॰" in today  # the week's days through Babel's hi_IN ("सोम, 23 नव॰")
    assert "Today's sessions" not in today and "Log out" not in today

    page = client.get(f"/admin/appointment/details/?id={desk.session.id}").text
    assert "अभिभावक" in page and "पूरा रिकॉर्ड" in page
    assert ">सूची<" in page  # Flask-Admin's own "List" tab, from our "admin" domain

    listed = client.get("/admin/patient/").text
    assert "सूची" in listed and "नया बनाएँ" in listed  # Flask-Admin's List and Create
    assert "Aarav Sharma" in listed  # names are never translated


@pytest.mark.parametrize(
    ("url", "hindi", "english"),
    [
        # Columns no view labels itself: one table of field names (admin.views.labels).
        ("/admin/clinicpolicy/", "कम से कम नोटिस (घंटे)", "Min Notice Hours"),
        ("/admin/clinic/", "टाइम ज़ोन", "Timezone"),
        ("/admin/location/", "पता", "Address"),
        # A view's own labels, list actions and filters, now marked for the catalogue.
        ("/admin/service/", "मिनट", "Minutes"),
        ("/admin/staffuser/", "आख़िरी लॉगिन", "Last login"),
        ("/admin/appointment/", "रिमाइंडर फिर भेजें", "Resend reminder"),
        ("/admin/appointment/", 'data-label="थेरेपिस्ट"', 'data-label="Therapist"'),
        ("/admin/auditlog/", "किसने (प्रकार)", "Actor type"),
        ("/admin/weeklyhours/", "सोमवार", "Monday"),
        ("/admin/contact/", "अभी नहीं", "not yet"),
        ("/admin/reports/", "थेरेपिस्ट के हिसाब से कमाई", "Revenue by therapist"),
        # Form labels, descriptions and choices.
        ("/admin/patient/new/", "अभिभावक का नाम", "Guardian's name"),
        ("/admin/patient/new/", "पति/पत्नी", ">Spouse<"),
        ("/admin/service/new/", "सेशन से पहले पेमेंट ज़रूरी", "Payment required before"),
        ("/admin/staffuser/new/", "अकाउंटेंट", ">Accountant<"),
        ("/admin/clinicanswer/new/", "हिंदी में जवाब (ज़रूरी नहीं)", "Answer in Hindi"),
        ("/admin/appointment/new/", "कोई भी खाली थेरेपिस्ट", "Any available therapist"),
        ("/admin/simulator/", "टेस्ट संपर्क", "Test contact"),
    ],
)
def test_settings_lists_and_reports_read_hindi_too(app, desk, url, hindi, english):
    page = signed_in(app, "hindi").get(url)
    assert page.status_code == 200
    assert hindi in page.text and english not in page.text


def test_an_english_reader_sees_the_same_pages_in_english(app, desk):
    client = signed_in(app, "english")
    today = client.get("/admin/").text
    assert "Today's sessions" in today and "Log out" in today and "Arrived" in today
    assert "आज" not in today
    page = client.get(f"/admin/appointment/details/?id={desk.session.id}").text
    assert "Guardian" in page and ">List<" in page and "अभिभावक" not in page


def test_money_and_times_follow_the_language_but_files_stay_plain(app, desk):
    hindi = signed_in(app, "hindi")
    page = hindi.get(f"/admin/appointment/details/?id={desk.session.id}").text
    assert "सोम, 23 नव॰" in page  # the session's day, Babel's Hindi
    assert "बुक" in page  # its status as a word
    listed = hindi.get("/admin/appointment/").text
    assert "नंबर" in listed and "कब" in listed  # the list's column headings
    rows = list(csv.reader(io.StringIO(hindi.get("/admin/appointment/export/csv/").text)))
    assert rows[0][:2] == ["Number", "When"]  # a file's headings are English for everyone
    text = "\n".join(",".join(row) for row in rows)
    assert "booked" in text and not any("\u0900" <= ch <= "\u097f" for ch in text)


def test_the_choice_on_my_profile_is_saved_audited_and_read_at_once(app, desk, session):
    client = signed_in(app, "english")
    token = csrf_token(client, "/admin/profile/")
    response = client.post("/admin/profile/language", data={"csrf_token": token, "locale": "hi"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert "आपकी भाषा सेव हो गई।" in alerts(page) and "मेरी प्रोफ़ाइल" in page.text

    fresh(session)
    me = session.get(StaffUser, desk.users["english"].id)
    assert me.locale == "hi"
    audit = session.scalar(
        select(AuditLog)
        .where(AuditLog.action == "staff.language", AuditLog.entity_id == str(me.id))
        .order_by(AuditLog.id.desc())
    )
    assert audit is not None and audit.actor_id == me.id

    # A language the panel does not speak changes nothing.
    client.post("/admin/profile/language", data={"csrf_token": token, "locale": "fr"})
    fresh(session)
    assert session.get(StaffUser, me.id).locale == "hi"

    # "The clinic's language": none of one's own, so the clinic's (English here) is read.
    client.post("/admin/profile/language", data={"csrf_token": token, "locale": ""})
    fresh(session)
    assert session.get(StaffUser, me.id).locale is None
    assert "Today's sessions" in client.get("/admin/").text


def test_no_choice_reads_the_clinics_language(app, desk, session):
    desk.clinic.language = "hi"
    session.commit()
    assert "आज के सेशन" in signed_in(app, "english").get("/admin/").text


def test_the_login_page_follows_the_browser(app):
    client = app.test_client()
    hindi = client.get("/login", headers={"Accept-Language": "hi-IN,hi;q=0.9,en;q=0.5"}).text
    assert "Roshni स्टाफ लॉगिन" in hindi and 'lang="hi"' in hindi
    english = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"}).text
    assert "Roshni staff login" in english
    assert "Roshni staff login" in client.get("/login", headers={"Accept-Language": "fr"}).text


def test_error_pages_speak_the_language_too(app, desk):
    page = signed_in(app, "hindi").get("/admin/no-such-page/")
    assert page.status_code == 404
    assert "नहीं मिला" in page.text and "आज पर वापस" in page.text


def test_the_calendar_speaks_the_language_too(app, desk):
    board = signed_in(app, "hindi").get("/admin/calendar/").text
    assert "दिन की शीट (प्रिंट)" in board
    setup = json.loads(re.search(r'id="calendar-setup">(.*?)</script>', board, re.S)[1])
    assert setup["locale"] == "hi" and setup["words"]["today"] == "आज"  # calendar.js's
    sheet = signed_in(app, "hindi").get("/admin/calendar/sheet").text
    assert "प्रिंट" in sheet and "हफ़्ता" in sheet
    assert "Day sheet (print)" in signed_in(app, "english").get("/admin/calendar/").text
