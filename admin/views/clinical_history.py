"""The clinical page's history (a filtered, paged timeline) and its goal comparison.

Plain functions the clinical page (``admin.views.clinical``) calls with the request's
GET parameters; the queries are ``services.clinical.history`` and
``services.clinical.goals``. Days are the clinic's, turned into aware UTC here, at the
edge. Clinical text (record and note excerpts) is on the page only, never logged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.views.assessments import KIND_LABELS as ASSESSMENT_KINDS
from admin.views.documents import TAG_LABELS
from core.formatting import format_day, format_when
from models import AppointmentStatus, AssessmentKind, DocumentTag, Goal
from services.clinical import goals as goal_rules
from services.clinical.history import KINDS, Entry, HistoryFilter, Kind
from services.clinical.history import patient_history as history_query

KIND_LABELS = {
    Kind.SESSION: _l("Sessions"),
    Kind.NOTE: _l("Progress notes"),
    Kind.ASSESSMENT: _l("Assessments"),
    Kind.DOCUMENT: _l("Documents"),
    Kind.REPORT: _l("Progress reports"),
}
ENTRY_LABELS = {
    Kind.SESSION: _l("Session"),
    Kind.NOTE: _l("Progress note"),
    Kind.ASSESSMENT: _l("Assessment"),
    Kind.DOCUMENT: _l("Document"),
    Kind.REPORT: _l("Progress report"),
}
SESSION_LABELS = {
    AppointmentStatus.BOOKED: _l("Booked"),
    AppointmentStatus.CONFIRMED: _l("Confirmed"),
    AppointmentStatus.COMPLETED: _l("Completed"),
    AppointmentStatus.CANCELLED: _l("Cancelled"),
    AppointmentStatus.NO_SHOW: _l("No-show"),
    AppointmentStatus.REQUESTED: _l("Requested"),
}


def history_section(
    session: Any, clinic_id: int, patient_id: int, args: Mapping[str, Any], zone: str, lang: str
) -> dict[str, Any]:
    """The timeline's page and its filters, as the template shows them."""
    wanted, chosen = read_filter(args, zone)
    page = _number(args.get("page")) or 1
    found = history_query(session, clinic_id, patient_id, wanted, page=page)
    kept = {k: v for k, v in chosen.items() if v}
    compared = {k: args.get(k) for k in ("a", "b") if _day(args.get(k))}  # the goals' dates
    return {
        "rows": [_row(entry, patient_id, zone, lang) for entry in found.entries],
        "chosen": chosen,
        "therapists": found.therapists,
        "types": found.therapy_types,
        "kinds": [(k.value, KIND_LABELS[k]) for k in KINDS],
        "page": found.page,
        "pages": found.pages,
        "total": found.total,
        "compared": compared,
        "newer": _link(patient_id, kept | compared, found.page - 1) if found.page > 1 else None,
        "older": (
            _link(patient_id, kept | compared, found.page + 1) if found.page < found.pages else None
        ),
        "filtered": bool(kept),
    }


def read_filter(args: Mapping[str, Any], zone: str) -> tuple[HistoryFilter, dict[str, Any]]:
    """The filter from GET parameters (what does not parse is left out), and the values
    to show back in the form."""
    therapist = _number(args.get("therapist"))
    since, until = _day(args.get("from")), _day(args.get("to"))
    listed = args.getlist("kind") if hasattr(args, "getlist") else []
    kinds = [k for k in listed if k in Kind._value2member_map_]
    search = " ".join(str(args.get("q") or "").split())[:100]
    wanted = HistoryFilter(
        therapist_id=therapist,
        therapy_type=str(args.get("type") or "").strip() or None,
        since=day_start(since, zone) if since else None,
        until=day_start(until + timedelta(days=1), zone) if until else None,
        kinds=frozenset(Kind(k) for k in kinds) if kinds else frozenset(KINDS),
        search=search or None,
    )
    chosen = {
        "therapist": therapist,
        "type": wanted.therapy_type or "",
        "from": since.isoformat() if since else "",
        "to": until.isoformat() if until else "",
        "kind": kinds,
        "q": search,
    }
    return wanted, chosen


def day_start(day: date, zone: str) -> datetime:
    """Midnight starting ``day`` in the clinic's zone, in UTC."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _row(entry: Entry, patient_id: int, zone: str, lang: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "kind": entry.kind.value,
        "label": ENTRY_LABELS[entry.kind],
        "id": entry.id,
        "when": format_when(entry.at, zone, lang),
        "excerpt": entry.excerpt,
        "record": entry.record,
        "who": entry.author,
        "url": None,
    }
    if entry.kind is Kind.SESSION:
        row["what"] = f"{entry.what} · {entry.therapist}"
        row["status"] = SESSION_LABELS[AppointmentStatus(entry.status)]
        row["url"] = url_for("appointment.notes_view", appointment_id=entry.id)
    elif entry.kind is Kind.NOTE:
        row["what"] = f"{entry.what} · {entry.therapist}"
        row["url"] = url_for("appointment.notes_view", appointment_id=entry.appointment_id)
    elif entry.kind is Kind.ASSESSMENT:
        row["what"] = f"{ASSESSMENT_KINDS[AssessmentKind(entry.name)]} ({entry.what})"
        row["record"] = entry.status
        row["url"] = url_for(".assessment_view", patient_id=patient_id, which=entry.id)
    elif entry.kind is Kind.DOCUMENT:
        row["what"] = f"{entry.name} · {TAG_LABELS[DocumentTag(entry.status)]}"
        row["url"] = url_for(".document_download", patient_id=patient_id, document_id=entry.id)
    else:
        first, last = entry.period or (None, None)
        row["what"] = _(
            "%(first)s to %(last)s", first=format_day(first, lang), last=format_day(last, lang)
        )
        row["record"] = entry.status
        row["url"] = url_for(".report_view", patient_id=patient_id, report_id=entry.id)
    return row


def _link(patient_id: int, kept: Mapping[str, Any], page: int) -> str:
    return url_for(".clinical_view", patient_id=patient_id, page=page, **kept) + "#history"


# --- goals at two dates ----------------------------------------------------------------


def comparison_section(
    goals: Sequence[Goal], args: Mapping[str, Any], zone: str, lang: str, today: date
) -> dict[str, Any] | None:
    """Each measured goal's latest value on or before day A and day B (defaults: the first
    measure's day and today), the change, and how far along the way each was."""
    first = goal_rules.first_measured(goals)
    if first is None:
        return None
    day_a = _day(args.get("a")) or first.astimezone(ZoneInfo(zone)).date()
    day_b = _day(args.get("b")) or today
    # "On or before a day": before the next day begins, in the clinic's zone.
    compared = goal_rules.compare(
        [g for g in goals if g.measures],
        day_start(day_a + timedelta(days=1), zone),
        day_start(day_b + timedelta(days=1), zone),
    )
    return {
        "a": day_a.isoformat(),
        "b": day_b.isoformat(),
        "a_label": format_day(day_a, lang),
        "b_label": format_day(day_b, lang),
        "rows": [
            {
                "id": c.goal.id,
                "behaviour": c.goal.behaviour,
                "a": _value(c.a.value) if c.a else None,
                "b": _value(c.b.value) if c.b else None,
                "change": None if c.change is None else f"{c.change:+g}",
                "share_a": None if c.share_a is None else round(c.share_a * 100),
                "share_b": None if c.share_b is None else round(c.share_b * 100),
            }
            for c in compared
        ],
    }


def _value(value: float) -> str:
    return f"{value:g}"


def _day(raw: Any) -> date | None:
    try:
        return date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def _number(raw: Any) -> int | None:
    text = str(raw or "")
    return int(text) if text.isdigit() and len(text) < 10 else None
