"""The Content-Security-Policy allows no inline code, and every page lives with it.

Every admin page (the registered views' lists, create, edit and details forms and
custom pages, walked from the app so a view added later is walked too), the login
pages and the patients' payment pages: the header is there with a fresh nonce and
no 'unsafe-inline', every ``<script>`` and ``<style>`` carries that nonce, and no
element has an inline handler (``onclick=…``) or a ``style="…"`` attribute, which
the policy would refuse. The browser half (tests/browser/test_csp.py) clicks through
what used to be inline handlers and counts the violations Chromium reports.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from flask import url_for

from admin import permissions
from core.security import content_security_policy
from models import Payment, PaymentState
from tests.admin.test_admin import csrf_token, log_in
from tests.admin.test_roles import Walk, admin_views, view_routes, world  # noqa: F401 (a fixture)
from tests.conftest import NOW
from tests.payments_support import THU_10, add_service, book, rows

pytestmark = pytest.mark.usefixtures("frozen_clock")


class _Tags(HTMLParser):
    """Scripts, styles and the attributes the CSP refuses, from one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict[str, str | None]] = []
        self.styles: list[dict[str, str | None]] = []
        self.refused: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self.scripts.append(named)
        elif tag == "style":
            self.styles.append(named)
        for name, value in attrs:
            if name.startswith("on"):
                self.refused.append(f"<{tag} {name}={value!r}>")
            elif name == "style":
                self.refused.append(f"<{tag} style={value!r}>")

    handle_startendtag = handle_starttag


def directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def csp_problems(url: str, response) -> list[str]:
    """What is wrong with one HTML page under its own policy (empty: nothing)."""
    header = response.headers.get("Content-Security-Policy")
    if header is None:
        return [f"{url}: no Content-Security-Policy header"]
    policy = directives(header)
    problems = []
    nonces = {
        source[len("'nonce-") : -1]
        for source in policy.get("script-src", [])
        if source.startswith("'nonce-")
    }
    if len(nonces) != 1:
        return [f"{url}: script-src has no single nonce: {header}"]
    (nonce,) = nonces
    for name in ("script-src", "style-src", "default-src"):
        if "'unsafe-inline'" in policy.get(name, []) or "'unsafe-eval'" in policy.get(name, []):
            problems.append(f"{url}: {name} allows unsafe code: {header}")
    if f"'nonce-{nonce}'" not in policy.get("style-src", []):
        problems.append(f"{url}: style-src lacks the page's nonce: {header}")
    for name, value in (
        ("object-src", ["'none'"]),
        ("base-uri", ["'none'"]),
        ("frame-ancestors", ["'none'"]),
        ("form-action", ["'self'"]),
    ):
        if policy.get(name) != value:
            problems.append(f"{url}: {name} is {policy.get(name)}, expected {value}")
    tags = _Tags()
    tags.feed(response.get_data(as_text=True))
    for kind, found in (("script", tags.scripts), ("style", tags.styles)):
        for attrs in found:
            if attrs.get("nonce") != nonce:
                problems.append(f"{url}: a <{kind}> without the header's nonce: {attrs}")
    problems += [f"{url}: {attribute}" for attribute in tags.refused]
    return problems


def is_html(response) -> bool:
    return response.status_code == 200 and response.mimetype == "text/html"


# --- the policy itself -------------------------------------------------------------------


def test_every_response_has_a_fresh_nonce_and_no_unsafe_inline(app):
    client = app.test_client()
    first = client.get("/login").headers["Content-Security-Policy"]
    second = client.get("/login").headers["Content-Security-Policy"]
    assert first != second  # a nonce is used once
    policy = directives(first)
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["script-src"][0] == "'self'"
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert client.get("/healthz").headers["Content-Security-Policy"].startswith("default-src")


def test_the_checker_catches_inline_code(app):
    """The page check below is not a rubber stamp: each kind of inline code is caught."""
    header = content_security_policy("abc")
    good = '<script nonce="abc" src="/x.js"></script><style nonce="abc"></style><p>ok</p>'
    bad_pages = [
        '<script src="/x.js"></script>',
        '<script nonce="other">alert(1)</script>',
        "<style>p {}</style>",
        '<a href="#" onclick="go()">go</a>',
        '<button onClick="return confirm(1)">x</button>',
        '<div style="color: red">x</div>',
    ]
    with app.test_request_context():
        ok = app.response_class(good, mimetype="text/html")
        ok.headers["Content-Security-Policy"] = header
        assert csp_problems("good", ok) == []
        for body in bad_pages:
            page = app.response_class(body, mimetype="text/html")
            page.headers["Content-Security-Policy"] = header
            assert csp_problems("bad", page), body
        lax = app.response_class(good, mimetype="text/html")
        lax.headers["Content-Security-Policy"] = header.replace(
            "script-src 'self'", "script-src 'self' 'unsafe-inline'"
        )
        assert csp_problems("lax", lax)


# --- every page --------------------------------------------------------------------------


def test_the_login_pages_live_within_the_policy(app):
    client = app.test_client()
    for url in ("/login",):
        response = client.get(url)
        assert is_html(response), url
        assert csp_problems(url, response) == []


@pytest.mark.parametrize("role", ["admin", "superadmin"])
def test_every_admin_page_lives_within_the_policy(app, world, session, role):  # noqa: F811
    client = app.test_client()
    assert log_in(client, world.emails[role]).status_code == 302
    walk = Walk(
        app=app,
        client=client,
        role=role,
        world=world,
        session=session,
        token=csrf_token(client, "/admin/"),
    )
    checked: set[str] = set()
    problems: list[str] = []
    for view in admin_views(app):
        if getattr(view, "resource", None) not in permissions.MATRIX:
            continue
        for name, rule in view_routes(app, view):
            if "GET" not in rule.methods or name == "export":
                continue
            url = walk.url(view, name, rule, "a")
            if url is None:
                continue
            response = client.get(url)
            if is_html(response):
                checked.add(f"{view.endpoint}.{name}")
                problems += csp_problems(url, response)
    setup = client.get("/auth/totp/setup")  # the two-step setup page (auth/_page.html)
    assert is_html(setup)
    problems += csp_problems("/auth/totp/setup", setup)
    assert not problems, "\n".join(problems)
    if role == "admin":
        # The walk saw the pages that matter: lists, forms, details and custom pages.
        for page in (
            "admin.index",
            "appointment.index_view",
            "appointment.details_view",
            "patient.index_view",
            "patient.edit_view",
            "contact.details_view",
            "service.create_view",
            "service.edit_view",
            "payment.index_view",
            "calendar.index",
            "conversations.index",
            "simulator.index",
            "profile.index",
        ):
            assert page in checked, sorted(checked)
        assert len(checked) > 60, len(checked)
    else:
        assert {"clinic.index_view", "clinic.edit_view", "staffuser.index_view"} <= checked


def test_the_list_templates_carry_no_inline_handlers(app, world, session):  # noqa: F811
    """The overridden Flask-Admin macros: actions, the delete button and the filters."""
    client = app.test_client()
    log_in(client, world.emails["admin"])
    listing = client.get("/admin/appointment/").get_data(as_text=True)
    assert 'data-model-action="confirm"' in listing  # "With selected → Confirm"
    assert 'class="dropdown-item filter"' in listing  # "Add filter" entries
    assert "/admin-assets/panel.js" in listing
    page = client.get("/admin/availabilityexception/").get_data(as_text=True)
    assert 'data-model-action="delete"' in page  # "With selected → Delete"
    assert 'data-confirm="Are you sure you want to delete this record?"' in page  # a row's
    assert "onclick" not in page + listing


# --- the patients' pages -----------------------------------------------------------------


def test_the_payment_pages_live_within_the_policy(
    app, session, make_clinic, make_therapist, make_patient
):
    clinic = make_clinic(name="Sunrise Clinic")
    make_therapist(clinic)
    clinic.upi_vpa = "clinic@okaxis"
    session.commit()
    service = add_service(session, clinic, prepay=True)
    book(session, clinic, make_patient(clinic), service, THU_10, now=NOW)
    [payment] = rows(session, Payment)
    assert payment.status is PaymentState.AWAITING_CONFIRMATION
    client = app.test_client()
    with app.test_request_context():
        urls = [
            url_for("pages.upi_page", token=payment.public_token),
            url_for("pages.razorpay_return", razorpay_payment_link_id="plink_x"),
        ]
    for url in urls:
        response = client.get(url)
        assert response.mimetype == "text/html", url
        assert "<style" in response.get_data(as_text=True), url
        assert csp_problems(url, response) == [], url
