"""A progress report as a PDF: pure rendering of a ``ReportDocument``, in the reader's
language (its labels are the patient catalogue's ``report_*`` messages).

Each goal is drawn as a bar from its baseline to its target, filled as far as the
latest value measured in the period went, with the numbers beside it; under it, when the
period measured it twice or more, a small chart of every value over the period's days
between the baseline's and the target's lines.
"""

from __future__ import annotations

from datetime import date

from babel.dates import get_day_names
from sqlalchemy.orm import Session

from core.formatting import babel_locale, format_full_day
from core.pdf import Pdf
from models import ProgressReport
from services.clinical.exercise_adherence import ProgrammeLine
from services.clinical.progress_reports import GoalLine, ReportDocument, report_document
from services.messaging.catalogue import say

BAR_WIDTH = 70.0  # mm
BAR_HEIGHT = 3.5
CHART_HEIGHT = 22.0  # mm
TEAL = (24, 188, 156)


def report_pdf(session: Session, report: ProgressReport, lang: str) -> bytes:
    """The report as its reader gets it (``lang``: theirs)."""
    return render_report_pdf(report_document(session, report), lang)


def render_report_pdf(doc: ReportDocument, lang: str) -> bytes:
    def day(value: object) -> str:
        return format_full_day(value, lang)  # the reader's months: "8 सित॰ 2026"

    title = say(lang, "report_title")
    pdf = Pdf(
        clinic_name=doc.clinic_name,
        reference=doc.reference,
        locale=doc.locale,
        on=doc.signed_on or doc.period_end,
        title=f"{title} {doc.reference}",
        text=repr(doc) + title,
        footer_note=say(lang, "report_footer"),
        page_word=say(lang, "report_page"),
    )
    pdf.letterhead(doc.clinic_name, doc.clinic_address, doc.logo)
    pdf.ln(2)
    pdf.rule(4)
    pdf.para(pdf.clean(title, 120), 18, bold=True, height=9)
    born = f" · {say(lang, 'report_born', day=day(doc.date_of_birth))}" if doc.date_of_birth else ""
    pdf.para(pdf.clean(f"{doc.patient_name}{born}", 200), 11, bold=True)
    period = say(lang, "report_period", start=day(doc.period_start), end=day(doc.period_end))
    pdf.para(pdf.clean(period, 200), 10, grey=True)
    sessions = say(lang, "report_sessions", attended=doc.attended, missed=doc.missed)
    pdf.para(pdf.clean(sessions, 200), 10)
    pdf.ln(3)
    if doc.goals:
        _heading(pdf, say(lang, "report_goals"))
        for goal in doc.goals:
            _goal(pdf, goal, lang, (doc.period_start, doc.period_end))
    for key, text in (
        ("report_summary", doc.summary),
        ("report_recommendations", doc.recommendations),
    ):
        if text:
            _heading(pdf, say(lang, key))
            pdf.para(pdf.clean(text, 5000, lines=True), 10)
            pdf.ln(2)
    if doc.home_programme or doc.exercises:
        _heading(pdf, say(lang, "report_home_programme"))
        pdf.para(pdf.clean(doc.home_programme, 5000, lines=True), 10)
        for line in doc.exercises:
            pdf.para(pdf.clean(_exercise(line, lang), 400), 10)
        pdf.ln(2)
    if doc.signed_on:
        pdf.ln(4)
        signed = say(lang, "report_signed", name=doc.signed_by, day=day(doc.signed_on))
        pdf.para(pdf.clean(signed, 200), 10, grey=True)
    return bytes(pdf.output())


def _heading(pdf: Pdf, text: str) -> None:
    if pdf.will_page_break(14):
        pdf.add_page()
    pdf.para(pdf.clean(text, 120), 12, bold=True, height=7)


def _goal(pdf: Pdf, goal: GoalLine, lang: str, period: tuple[date, date]) -> None:
    if pdf.will_page_break(18):
        pdf.add_page()
    pdf.para(pdf.clean(goal.behaviour, 400, lines=True), 10, bold=True)
    numbers = say(
        lang,
        "report_goal_numbers",
        measure=goal.measure,
        baseline=_number(goal.baseline),
        target=_number(goal.target),
        latest=_number(goal.latest) if goal.latest is not None else "–",
    )
    x, y = pdf.l_margin, pdf.get_y() + 1
    pdf.set_draw_color(150)
    pdf.set_fill_color(235)
    pdf.rect(x, y, BAR_WIDTH, BAR_HEIGHT, style="DF")
    if goal.progress is not None:
        pdf.set_fill_color(*TEAL)
        pdf.rect(x, y, max(0.5, BAR_WIDTH * goal.progress), BAR_HEIGHT, style="F")
    pdf.set_xy(x + BAR_WIDTH + 4, y - 0.8)
    pdf.style(9, grey=True)
    pdf.multi_cell(0, 5, pdf.clean(numbers, 300), new_x="LMARGIN", new_y="NEXT")
    if len(goal.points) >= 2:
        _chart(pdf, goal, period)
    pdf.ln(2)


def _chart(pdf: Pdf, goal: GoalLine, period: tuple[date, date]) -> None:
    """The period's values as a line over its days; dashed lines at baseline and target."""
    if pdf.will_page_break(CHART_HEIGHT + 4):
        pdf.add_page()
    left, top = pdf.l_margin + 2, pdf.get_y() + 4
    first, last = period
    span_days = max(1, (last - first).days)
    values = [goal.baseline, goal.target, *(value for _, value in goal.points)]
    pad = (max(values) - min(values)) * 0.08  # keeps the dots off the lines at the edges
    low, high = min(values) - pad, max(values) + pad

    def x(day: date) -> float:
        return left + BAR_WIDTH * min(1.0, max(0.0, (day - first).days / span_days))

    def y(value: float) -> float:
        return top + CHART_HEIGHT * (1 - (value - low) / (high - low))

    pdf.set_draw_color(200)
    pdf.set_line_width(0.2)
    pdf.line(left, top + CHART_HEIGHT, left + BAR_WIDTH, top + CHART_HEIGHT)
    pdf.set_dash_pattern(dash=1, gap=1)
    pdf.set_draw_color(150)
    pdf.line(left, y(goal.baseline), left + BAR_WIDTH, y(goal.baseline))
    pdf.set_draw_color(*TEAL)
    pdf.line(left, y(goal.target), left + BAR_WIDTH, y(goal.target))
    pdf.set_dash_pattern()
    pdf.set_draw_color(*TEAL)
    pdf.set_fill_color(*TEAL)
    pdf.set_line_width(0.5)
    corners = [(x(day), y(value)) for day, value in goal.points]
    pdf.polyline(corners)
    for cx, cy in corners:
        pdf.ellipse(cx - 0.8, cy - 0.8, 1.6, 1.6, style="F")
    pdf.set_line_width(0.2)
    pdf.set_y(top + CHART_HEIGHT + 2)


def _exercise(line: ProgrammeLine, lang: str) -> str:
    """ "• Lip rounding: Mon, Wed, Fri, 3× a day — done on 80% of the days asked"."""
    names = get_day_names("abbreviated", locale=babel_locale(lang))
    text = say(
        lang,
        "report_exercise",
        exercise=line.exercise,
        days=", ".join(names[day] for day in sorted(line.weekdays)),
        times=line.repetitions,
    )
    if line.percent is not None:
        text += " — " + say(lang, "report_exercise_done", percent=line.percent)
    return f"• {text}"


def _number(value: float) -> str:
    return f"{value:g}"
