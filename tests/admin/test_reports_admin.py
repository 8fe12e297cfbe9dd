"""The reports page (admin.views.reports): who may open it, the period it shows and its
downloads, which hold the page's numbers as values (CSV and XLSX read back)."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from models import AuditLog, Role
from tests.admin.test_admin import PASSWORD, log_in
from tests.conftest import staff_logins
from tests.reports.test_period_report import build

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def staff(session, make_clinic, make_therapist, make_service, make_patient):
    makers = (session, make_clinic, make_therapist, make_service, make_patient)
    a = build(*makers, slug="a")
    build(*makers, slug="b", gst=False)
    users = staff_logins(session, a.id, password=PASSWORD, domain="reports.example")
    session.commit()
    return users


def client_as(app, staff, role: Role):
    client = app.test_client()
    assert log_in(client, staff[role].email).status_code == 302
    return client


def section(page: str, key: str) -> str:
    match = re.search(rf'<section [^>]*id="report-{key}">(.*?)</section>', page, re.S)
    assert match, f"no {key} table"
    return match.group(1)


def cells(html: str) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in rows
    ]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.ACCOUNTANT])
def test_admins_and_accountants_open_reports_from_the_money_menu(app, staff, role):
    client = client_as(app, staff, role)
    home = client.get("/admin/").text
    assert 'href="/admin/reports/"' in home
    page = client.get("/admin/reports/", query_string=NOVEMBER)
    assert page.status_code == 200
    assert "Net of refunds" in page.text


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.THERAPIST])
def test_the_desk_and_therapists_get_no_money_reports(app, staff, role):
    client = client_as(app, staff, role)
    assert 'href="/admin/reports/"' not in client.get("/admin/").text
    assert client.get("/admin/reports/").status_code == 403
    assert client.get("/admin/reports/download/csv/?table=methods").status_code == 403


def test_the_page_shows_the_periods_numbers_with_bars(app, staff):
    page = client_as(app, staff, Role.ADMIN).get("/admin/reports/", query_string=NOVEMBER).text
    therapists = cells(section(page, "therapists"))
    assert [row[:3] for row in therapists] == [
        ["Priya Nair", "2", "₹1,600.00"],
        ["Ravi Kumar", "1", "₹1,000.00"],
    ]
    methods = cells(section(page, "methods"))
    assert ["UPI", "₹944.00", "₹100.00", "₹844.00"] in [row[:4] for row in methods]
    gst = cells(section(page, "gst"))
    assert [row[:6] for row in gst] == [["GST", "18.00", "3", "₹2,600.00", "₹468.00", "₹3,068.00"]]
    sessions = cells(section(page, "sessions"))
    assert [row[:6] for row in sessions] == [
        ["Priya Nair", "3", "1", "1", "1", "6"],
        ["Ravi Kumar", "2", "0", "1", "0", "3"],
    ]
    # Bars scale to the largest row: Priya's ₹1,600 is full width, Ravi's ₹1,000 5/8 of it.
    widths = re.findall(
        r'<rect class="bar-money" x="0.00" width="([\d.]+)"', section(page, "therapists")
    )
    assert widths == ["100.00", "62.50"]
    assert "Clinic b" not in page


def test_the_period_defaults_to_this_month_in_the_clinics_days(app, staff, frozen_clock):
    page = client_as(app, staff, Role.ACCOUNTANT).get("/admin/reports/").text
    assert 'value="2026-11-01"' in page and 'value="2026-11-30"' in page
    assert len(cells(section(page, "sessions"))) == 2
    october = client_as(app, staff, Role.ACCOUNTANT).get(
        "/admin/reports/", query_string={"from": "2026-10-01", "to": "2026-10-31"}
    )
    assert "Nothing in this period." in section(october.text, "therapists")


def test_a_bad_date_falls_back_to_this_month_with_a_word(app, staff, frozen_clock):
    page = client_as(app, staff, Role.ADMIN).get(
        "/admin/reports/", query_string={"from": "yesterday"}
    )
    assert page.status_code == 200
    assert "YYYY-MM-DD" in page.text and 'value="2026-11-01"' in page.text


def test_downloads_hold_the_pages_numbers_as_values(app, staff, session):
    client = client_as(app, staff, Role.ACCOUNTANT)
    query = {**NOVEMBER, "table": "methods"}
    csv_response = client.get("/admin/reports/download/csv/", query_string=query)
    xlsx_response = client.get("/admin/reports/download/xlsx/", query_string=query)
    assert csv_response.status_code == xlsx_response.status_code == 200
    assert "attachment" in xlsx_response.headers["Content-Disposition"]

    csv_rows = list(csv.reader(io.StringIO(csv_response.text)))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_response.data)).active
    xlsx_rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert csv_rows[0] == xlsx_rows[0] == ["Method", "Received", "Refunded", "Net", "Currency"]
    assert ["UPI", "944.00", "100.00", "844.00", "INR"] in csv_rows
    assert ["UPI", 944, 100, 844, "INR"] in xlsx_rows  # numbers in the workbook
    assert len(csv_rows) == len(xlsx_rows) == 4  # headers, UPI, cash, card

    gst = list(
        csv.reader(
            io.StringIO(
                client.get(
                    "/admin/reports/download/csv/", query_string={**NOVEMBER, "table": "gst"}
                ).text
            )
        )
    )
    assert gst == [
        ["Tax", "Rate %", "Invoices", "Taxable value", "GST", "Total", "Currency"],
        ["GST", "18.00", "3", "2600.00", "468.00", "3068.00", "INR"],
    ]
    session.rollback()
    actions = session.scalars(select(AuditLog.action).where(AuditLog.entity_type == "Clinic"))
    assert {"export.csv", "export.xlsx"} <= set(actions)


def test_an_unknown_table_or_type_is_not_found(app, staff):
    client = client_as(app, staff, Role.ADMIN)
    assert client.get("/admin/reports/download/csv/?table=salaries").status_code == 404
    assert client.get("/admin/reports/download/pdf/").status_code == 404
