"""Hostile requests from a signed-in staff member get a 4xx or a page, never a 5xx.

The walker reads every registered admin view from the app (``tests.admin.test_roles``), so a
view added later is walked too: its list with NUL bytes, absurd page numbers and sort
columns, ids that are huge, negative or not numbers (in the query string, in the URL and
in a list action's ``rowid``), and filters fed the same.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from flask import url_for
from flask_admin.model import BaseModelView
from markupsafe import Markup
from sqlalchemy import func, select

from core.db import get_db
from core.spreadsheet_cells import FORMULA_STARTS, safe_cell
from models import ProviderEvent, Service, Therapist
from roshni.app import create_app
from tests.admin.test_admin import csrf_token, log_in
from tests.admin.test_roles import _furnish, _person, admin_views, view_routes
from tests.admin.test_roles import world as world
from tests.conftest import NOW
from tests.reconciliation.test_payment_webhooks import post_raw

HUGE = "99999999999999999999"
HOSTILE_VALUES = ("\x00", "a\x00b", str(10**30), "-1", "0", "abc", HUGE, "²", "1e3", " 1")
HOSTILE_QUERIES = [
    {"page": "\x00"},
    {"page": str(10**30)},
    {"page": "-1"},
    {"page": "abc"},
    {"sort": "999"},
    {"sort": "-1"},
    {"sort": "\x00"},
    {"desc": "\x00"},
    {"search": "a\x00b"},
    {"search": "%\x00%"},
    {"sq": "\x00"},
    {"id": HUGE},
    {"id": "-1"},
    {"id": "\x00"},
    {"page_size": str(10**30)},
    {"page_size": "-5"},
    # the calendar's and the booking form's own arguments
    {"date": "9999-12-31"},
    {"date": "0001-01-01"},
    {"date": "\x00"},
    {"start": "9999-12-31T23:59"},
    {"start": "0001-01-01T00:00"},
    {"therapist": HUGE},
    {"location": HUGE},
    {"service": HUGE},
    {"show": "therapist:" + HUGE},
    {"show": "location:-1"},
    {"contact": HUGE},
    {"contact_id": HUGE},
    {"appointment_id": "²"},
]


def hostile_queries(view) -> list[dict[str, str]]:
    queries = list(HOSTILE_QUERIES)
    # Every filter of the list (``flt0_<n>``), fed each hostile value.
    for index in range(len(getattr(view, "_filters", None) or [])):
        for value in HOSTILE_VALUES:
            queries.append({f"flt0_{index}": value})
    return queries


@pytest.fixture
def app(app):
    """The panel answering as in production: an exception is a 500, not a test crash, so
    a walk lists every route that fails."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


@pytest.fixture
def as_admin(app, world):
    client = app.test_client()
    assert log_in(client, world.emails["admin"]).status_code == 302
    return client


@pytest.fixture
def as_superadmin(app, world):
    client = app.test_client()
    assert log_in(client, world.emails["superadmin"]).status_code == 302
    return client


def walk_lists(app, client) -> list[str]:
    """Every page of every view that takes no path argument (lists, the calendar, forms,
    exports) with every hostile query; returns what answered 5xx."""
    failures = []
    pages = []
    with app.test_request_context():
        for view in admin_views(app):
            for _name, rule in view_routes(app, view):
                if "GET" in rule.methods and not rule.arguments:
                    pages.append((view, rule.rule))
    for view, url in pages:
        for query in hostile_queries(view):
            response = client.get(url, query_string=query)
            if response.status_code >= 500:
                failures.append(f"GET {url} {query!r} → {response.status_code}")
    return failures


@pytest.mark.parametrize("who", ["as_admin", "as_superadmin"])
def test_every_admin_list_survives_hostile_query_strings(app, who, request):
    client = request.getfixturevalue(who)
    failures = walk_lists(app, client)
    assert not failures, "\n".join(failures)


def test_ids_in_urls_that_are_huge_or_not_numbers_are_not_found(app, as_admin):
    failures = []
    for view in admin_views(app):
        for name, rule in view_routes(app, view):
            if "GET" not in rule.methods:
                continue
            int_args = [
                arg for arg in rule.arguments if "Integer" in type(rule._converters[arg]).__name__
            ]
            if int_args:
                # Werkzeug's int converter takes any length of digits: build the path by hand.
                path = rule.rule
                for arg in int_args:
                    path = re.sub(rf"<int:{arg}>", HUGE, path)
                if "<" in path:
                    continue
                urls = [path]
            elif name in ("details_view", "edit_view", "cancel_view") or "id" in name:
                base = rule.rule
                if "<" in base:
                    continue
                urls = [f"{base}?id={value}" for value in (HUGE, "-1", "abc", "\x00", "²")]
            else:
                continue
            for url in urls:
                response = as_admin.get(url)
                if response.status_code >= 500:
                    failures.append(f"GET {url!r} → {response.status_code}")
    assert not failures, "\n".join(failures)


def test_list_actions_ignore_rowids_that_cannot_be_ids(app, as_admin, world):
    failures = []
    for view in admin_views(app):
        actions = getattr(view, "_actions", None)
        if not isinstance(view, BaseModelView) or not actions:
            continue
        with app.test_request_context():
            action_url = url_for(f"{view.endpoint}.action_view")
        token = csrf_token(as_admin, "/admin/profile/")
        for action_name, _label in actions:
            response = as_admin.post(
                action_url,
                data={
                    "action": action_name,
                    "rowid": [HUGE, "-1", "abc", "\x00", "²", str(10**30), "1"],
                    "csrf_token": token,
                },
            )
            if response.status_code >= 500:
                failures.append(f"POST {action_url} {action_name} → {response.status_code}")
    assert not failures, "\n".join(failures)


def test_search_posts_with_nul_bytes_are_refused(app, as_admin):
    token = csrf_token(as_admin, "/admin/profile/")
    response = as_admin.post(
        "/admin/patient/search/", data={"search": "Asha\x00", "csrf_token": token}
    )
    assert response.status_code == 400
    assert as_admin.get("/admin/patient/", query_string={"search": "a\x00"}).status_code == 400


# --- exports that cannot run formulas -------------------------------------------------------

EVIL = "=cmd|' /C calc'!A0"  # a DDE formula (a name may not hold a link since names are checked)


def test_safe_cell_neutralises_text_that_starts_a_formula_and_leaves_numbers():
    for text in (EVIL, "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell(Markup("=1<2")) == "'=1<2"  # Markup too, without HTML escaping
    assert safe_cell("Asha - mother") == "Asha - mother"
    assert safe_cell(-500) == -500  # a real number stays a number
    assert safe_cell(-1.5) == -1.5
    assert safe_cell(None) is None
    assert safe_cell(True) is True

    class Row:
        def __str__(self) -> str:
            return EVIL

    assert safe_cell(Row()) == "'" + EVIL  # a related row is exported as its text


@pytest.fixture
def evil_family(session, world):
    """A contact and child who named themselves with a spreadsheet formula, with a booking,
    an invoice and a payment: a row in every export."""
    patient = _person(session, world.a, EVIL, EVIL, "+919876500099")
    therapist = session.scalar(select(Therapist).where(Therapist.name == "Dr. Tara Own"))
    service = session.scalar(select(Service).where(Service.clinic_id == world.a.id))
    start = (NOW + timedelta(days=1)).replace(hour=7, minute=0)  # 12:30 in Kolkata
    _furnish(session, world.a, therapist, service, patient, start, "evil")
    return patient


def test_every_csv_export_neutralises_formulas(app, as_admin, evil_family):
    exported = []
    for view in admin_views(app):
        if not getattr(view, "csv_export", False):
            continue
        with app.test_request_context():
            url = url_for(f"{view.endpoint}.export", export_type="csv")
        response = as_admin.get(url)
        assert response.status_code == 200, url
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        cells = [cell for row in rows[1:] for cell in row]
        assert "'" + EVIL in cells or any(c.startswith("'" + EVIL) for c in cells), url
        dangerous = [c for c in cells if c.startswith(FORMULA_STARTS)]
        assert dangerous == [], url
        exported.append(view.endpoint)
    assert {"appointment", "patient", "contact", "payment", "invoice"} <= set(exported)


# --- the payment webhook and pages -------------------------------------------------------------


@pytest.fixture
def pay_app(db, make_clinic, make_therapist, connect_razorpay, payments_config):
    clinic = make_clinic(name="Roshni Clinic")
    make_therapist(clinic)
    connect_razorpay(clinic)
    app = create_app(payments_config)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    yield app
    get_db(app).dispose()


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # past the JSON parser's recursion limit
        b'{"a":' * 40_000 + b"1" + b"}" * 40_000,
        b'{"event":"payment_link.paid","payload":' + b"[" * 40 + b"]" * 40 + b"}",  # parses
    ],
    ids=["deep-array", "deep-object", "forty-levels"],
)
def test_a_signed_webhook_of_deeply_nested_json_is_400(session, pay_app, body):
    response = post_raw(pay_app.test_client(), body)
    assert response.status_code == 400
    assert session.scalar(select(func.count()).select_from(ProviderEvent)) == 0


# --- token pages are rate limited ------------------------------------------------------------

UNKNOWN_TOKEN = "A" * 22


def open_token_pages(client, times: int) -> list[int]:
    pages = (f"/pay/upi/{UNKNOWN_TOKEN}", f"/pay/upi/{UNKNOWN_TOKEN}.png")
    pages += (f"/pay/receipt/{UNKNOWN_TOKEN}.pdf",)
    return [client.get(pages[n % 3]).status_code for n in range(times)]


def test_token_pages_allow_30_opens_a_minute_per_address_then_429(pay_app, frozen_clock):
    guesser = pay_app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert open_token_pages(guesser, 30) == [404] * 30  # unknown tokens count too
    refused = guesser.get(f"/pay/upi/{UNKNOWN_TOKEN}")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Too many tries from your connection. Please wait a minute." in refused.text
    assert guesser.get(f"/pay/receipt/{UNKNOWN_TOKEN}.pdf").status_code == 429
    # Another address is not affected.
    patient = pay_app.test_client()
    patient.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert patient.get(f"/pay/upi/{UNKNOWN_TOKEN}").status_code == 404


def test_token_page_limits_are_shared_through_redis(db, payments_config, frozen_clock):
    from redis import Redis

    from core.config import Config
    from tests.jobs_support import REDIS_URL

    redis = Redis.from_url(REDIS_URL)
    for key in redis.scan_iter("roshni:limit:*"):
        redis.delete(key)
    config = Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": db.url,
            "SECRET_KEY": "x" * 40,
            "ROSHNI_INSTANCE_DIR": str(payments_config.instance_dir),
            "REDIS_URL": REDIS_URL,
        }
    )
    first, second = create_app(config), create_app(config)  # two web processes
    try:
        assert open_token_pages(first.test_client(), 20) == [404] * 20
        assert open_token_pages(second.test_client(), 10) == [404] * 10
        assert second.test_client().get(f"/pay/upi/{UNKNOWN_TOKEN}").status_code == 429
        assert list(redis.scan_iter("roshni:limit:*"))  # the counts live in Redis
    finally:
        for app in (first, second):
            get_db(app).dispose()
        for key in redis.scan_iter("roshni:limit:*"):
            redis.delete(key)


def test_a_login_with_a_nul_byte_is_400_before_any_query(app):
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={"email": "admin\x00@a.example", "password": "x" * 12, "csrf_token": token},
    )
    assert response.status_code == 400
    assert client.get("/login", query_string={"next": "/admin/\x00"}).status_code == 400
