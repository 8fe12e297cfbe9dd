"""Reports: a chosen period's revenue (by therapist, service, payment method), GST summary
and sessions by outcome, each table with bars and as a CSV or XLSX download.

The numbers are ``services.reports.period_report`` (one service, aggregate SQL). This
module only lays them out as tables: the page and the downloads are built from the same
:class:`Table`, so a file holds exactly the page's numbers, as values (amounts in major
units with a Currency column, ``admin.views.formatters.money_value``).

Who: the matrix's "financial" reports (admin, accountant); the menu shows the page to
them alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, request, url_for
from flask_admin import BaseView, expose
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user

from admin.i18n import panel_lang
from admin.views.access import Guarded, SessionPage, requires
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.formatters import clinic_money, money_value
from admin.views.spreadsheet import SPREADSHEET_TYPES, spreadsheet_response
from core import clinic_time
from core.clock import utcnow
from core.formatting import format_day
from services import audit
from services.reports import period_report
from services.reports.period_report import PeriodReport

FINANCIAL = "financial"
TEXT, COUNT, MONEY, PERCENT = "text", "count", "money", "percent"


@dataclass
class Table:
    """One table of the page: its columns (name, kind), rows of raw values (money in minor
    units) and, per row, the bar segments drawn beside it (x, width in %, class)."""

    key: str
    title: str
    note: str
    columns: list[tuple[str, str]]
    rows: list[list[Any]]
    bars: list[list[tuple[float, float, str]]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    total: list[Any] | None = None

    def file_rows(self, currency: str) -> tuple[list[str], list[list[Any]]]:
        """Headers and rows for a download: money as numbers, then the currency. A file's
        words are English whoever downloads it (the page's are the reader's)."""
        has_money = any(kind == MONEY for _name, kind in self.columns)
        with force_locale("en"):
            headers = [str(name) for name, _kind in self.columns]
            rows = []
            for row in self.rows:
                cells = [
                    money_value(value, currency) if kind == MONEY else english(value)
                    for value, (_name, kind) in zip(row, self.columns, strict=True)
                ]
                rows.append(cells + ([currency] if has_money else []))
        return headers + (["Currency"] if has_money else []), rows


def english(value: Any) -> Any:
    """A lazily translated word (a total row's "Total") as English; other values as they are."""
    return str(value) if isinstance(value, LazyString) else value


def _bars(values: list[int], css: str) -> list[list[tuple[float, float, str]]]:
    top = max([v for v in values if v > 0], default=0)
    return [[(0.0, 100.0 * max(v, 0) / top if top else 0.0, css)] for v in values]


def _stacked(parts: list[list[int]], classes: list[str]) -> list[list[tuple[float, float, str]]]:
    top = max((sum(row) for row in parts), default=0)
    out = []
    for row in parts:
        x, segments = 0.0, []
        for value, css in zip(row, classes, strict=True):
            width = 100.0 * value / top if top else 0.0
            if width:
                segments.append((x, width, css))
            x += width
        out.append(segments)
    return out


def _column_totals(rows: list[list[int]]) -> list[Any] | None:
    return ["Total", *(sum(column) for column in zip(*rows, strict=True))] if rows else None


def report_tables(numbers: PeriodReport) -> list[Table]:
    """The page's tables, in order, from the service's numbers."""
    revenue_note = _l(
        "Sessions invoiced in the period (invoices issued and not void), before GST. "
        "Refunds are not taken off here: they show under payment methods."
    )
    tables = []
    for key, title, rows in (
        ("therapists", _l("Revenue by therapist"), numbers.by_therapist),
        ("services", _l("Revenue by service"), numbers.by_service),
    ):
        label = _l("Therapist") if key == "therapists" else _l("Service")
        tables.append(
            Table(
                key=key,
                title=title,
                note=revenue_note,
                columns=[(label, TEXT), (_l("Sessions"), COUNT), (_l("Amount"), MONEY)],
                rows=[[r.label, r.sessions, r.amount_minor] for r in rows],
                bars=_bars([r.amount_minor for r in rows], "bar-money"),
                total=[
                    _l("Total"),
                    sum(r.sessions for r in rows),
                    sum(r.amount_minor for r in rows),
                ],
            )
        )
    methods = numbers.by_method
    tables.append(
        Table(
            key="methods",
            title=_l("Revenue by payment method"),
            note=_l(
                "Net of refunds: money received in the period less refunds processed in it, "
                "by the method of the refunded payment. Sessions drawn from package credit "
                "are not new money (the package sale was)."
            ),
            columns=[
                (_l("Method"), TEXT),
                (_l("Received"), MONEY),
                (_l("Refunded"), MONEY),
                (_l("Net"), MONEY),
            ],
            rows=[
                [r.method.label, r.received_minor, r.refunded_minor, r.net_minor] for r in methods
            ],
            bars=_bars([r.net_minor for r in methods], "bar-money"),
            total=[
                _l("Total"),
                sum(r.received_minor for r in methods),
                sum(r.refunded_minor for r in methods),
                sum(r.net_minor for r in methods),
            ],
        )
    )
    gst = numbers.gst
    tables.append(
        Table(
            key="gst",
            title=_l("GST summary"),
            note=_l("Invoices issued in the period and not void, by tax rate."),
            columns=[
                (_l("Tax"), TEXT),
                (_l("Rate %"), PERCENT),
                (_l("Invoices"), COUNT),
                (_l("Taxable value"), MONEY),
                (_l("GST"), MONEY),
                (_l("Total"), MONEY),
            ],
            rows=[
                [
                    r.label,
                    Decimal(r.rate_bp).scaleb(-2),
                    r.invoices,
                    r.taxable_minor,
                    r.tax_minor,
                    r.total_minor,
                ]
                for r in gst
            ],
            total=[
                _l("Total"),
                None,
                sum(r.invoices for r in gst),
                sum(r.taxable_minor for r in gst),
                sum(r.tax_minor for r in gst),
                sum(r.total_minor for r in gst),
            ],
        )
    )
    sessions = numbers.sessions
    outcome_classes = ["bar-held", "bar-no-show", "bar-cancelled", "bar-open"]
    tables.append(
        Table(
            key="sessions",
            title=_l("Sessions by therapist"),
            note=_l("Sessions that start in the period, by what became of them."),
            columns=[
                (_l("Therapist"), TEXT),
                (_l("Held"), COUNT),
                (_l("No-show"), COUNT),
                (_l("Cancelled"), COUNT),
                (_l("Not yet marked"), COUNT),
                (_l("Total"), COUNT),
                (_l("Of which online"), COUNT),
            ],
            rows=[
                [r.therapist, r.completed, r.no_show, r.cancelled, r.not_marked, r.total, r.online]
                for r in sessions
            ],
            bars=_stacked(
                [[r.completed, r.no_show, r.cancelled, r.not_marked] for r in sessions],
                outcome_classes,
            ),
            legend=list(
                zip(
                    outcome_classes,
                    [_l("Held"), _l("No-show"), _l("Cancelled"), _l("Not yet marked")],
                    strict=True,
                )
            ),
            total=_column_totals(
                [
                    [r.completed, r.no_show, r.cancelled, r.not_marked, r.total, r.online]
                    for r in sessions
                ]
            ),
        )
    )
    return tables


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


class ReportsView(Guarded, SessionPage, BaseView):
    """The clinic's numbers for a period in its own days (default: this month)."""

    resource = "reports"

    def is_accessible(self) -> bool:
        # The matrix's "financial" reports: money is not for the desk or the therapists.
        return self.allowed(FINANCIAL)

    def _numbers(self) -> PeriodReport:
        zone = ZoneInfo(current_timezone())
        default_first, default_last = clinic_time.month_of(utcnow().astimezone(zone).date())
        raw_first, raw_last = request.args.get("from"), request.args.get("to")
        first, last = _day(raw_first), _day(raw_last)
        if (raw_first and first is None) or (raw_last and last is None):
            flash(_("Please give dates as YYYY-MM-DD; showing this month."), "error")
            first, last = None, None
        first, last = first or default_first, last or default_last
        if abs((last - first).days) > period_report.MAX_DAYS:
            flash(_("Please choose at most three years; showing this month."), "error")
            first, last = default_first, default_last
        return period_report.period_report(
            self.session, current_clinic_id(), first=first, last=last, zone=zone
        )

    @expose("/")
    @requires(FINANCIAL)
    def index(self) -> str:
        numbers = self._numbers()
        p = numbers.period
        args = {"from": p.first.isoformat(), "to": p.last.isoformat()}
        return self.render(
            "admin/reports.html",
            period=p,
            tables=report_tables(numbers),
            money=clinic_money,
            day=lambda d: f"{format_day(d, panel_lang())} {d.year}",
            download=lambda key, kind: url_for(".download", export_type=kind, table=key, **args),
            spreadsheet_types=SPREADSHEET_TYPES,
        )

    @expose("/download/<export_type>/")
    @requires(FINANCIAL)
    def download(self, export_type: str) -> Any:
        if export_type not in SPREADSHEET_TYPES:
            abort(404)
        numbers = self._numbers()
        key = request.args.get("table", "therapists")
        table = next((t for t in report_tables(numbers) if t.key == key), None)
        if table is None:
            abort(404)
        headers, rows = table.file_rows(current_user.clinic.currency)
        p = numbers.period
        audit.record(
            self.session,
            clinic_id=current_clinic_id(),
            actor=staff_actor(),
            action=f"export.{export_type}",
            entity=current_user.clinic,
            after={"report": key, "from": p.first.isoformat(), "to": p.last.isoformat()},
        )
        self.session.commit()
        filename = f"{key}_{p.first.isoformat()}_{p.last.isoformat()}"
        return spreadsheet_response(export_type, filename, headers, rows)
