"""A patient's history (services.clinical.history): every kind of clinical entry on one
timeline, newest first, filtered, searched and paged in a fixed number of statements;
and goals compared at two dates (services.clinical.goals).

The session records' world (clinic A: Priya's patient Aarav, his session last Friday;
Ravi's patient Meera; clinic B). Sessions and "now" are pinned around ``NOW``.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models import BookingSource, Role
from services.clinical import goals as goal_rules
from services.clinical.goals import goals_for_patient
from services.clinical.history import HistoryFilter, Kind, patient_history
from services.clinical.history_rows import EXCERPT, excerpt
from services.clinical.session_records import RecordTexts
from services.scheduling.appointments import book_appointment
from tests.clinical.test_assessments import write as assess
from tests.clinical.test_documents import store, upload
from tests.clinical.test_goals import set_for
from tests.clinical.test_progress_notes import add, clinic
from tests.clinical.test_progress_reports import draft
from tests.clinical.test_session_records import LAST_FRIDAY_11, SOAP, _book_at, past, write
from tests.conftest import NOW, SYSTEM, counting_statements

__all__ = ["clinic", "past", "store"]

ZONE = ZoneInfo("Asia/Kolkata")
FRIDAY = LAST_FRIDAY_11.astimezone(ZONE).date()


def midnight(day) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZONE).astimezone(UTC)


def history(session, clinic, patient=None, **wanted):
    page = wanted.pop("page", 1)
    size = wanted.pop("page_size", 50)
    session.rollback()
    session.expire_all()
    return patient_history(
        session,
        clinic.a.id,
        (patient or clinic.aarav).id,
        HistoryFilter(**wanted),
        page=page,
        page_size=size,
    )


def keys(found) -> list[tuple[Kind, int]]:
    return [(e.kind, e.id) for e in found.entries]


def with_ravi(session, clinic, start):
    """Aarav's session with Ravi (Meera's therapist), booked a week before."""
    return book_appointment(
        session,
        clinic_id=clinic.a.id,
        patient_id=clinic.aarav.id,
        service_id=clinic.speech.id,
        therapist_id=clinic.colleagues.therapist_id,
        start=start,
        now=start - timedelta(days=7),
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )


@pytest.fixture
def world(session, clinic, past, store):
    """Aarav's history, oldest first: Friday's session with a signed record; Saturday a
    session with Ravi; this morning a note on Friday's session, an assessment, a document
    and a progress report; tomorrow's session (``clinic.own``). Meera's session and clinic
    B's are someone else's."""
    write(session, clinic, past, sign=True)
    ravi = with_ravi(session, clinic, LAST_FRIDAY_11 + timedelta(days=1))
    note = add(session, clinic, past, Role.THERAPIST, "Tried 50% of 10_tries 'bus'", NOW)
    assessment = assess(session, clinic)  # at NOW, by Priya's login
    document = upload(session, store, clinic)
    report = draft(session, clinic, role=Role.ADMIN, now=NOW + timedelta(minutes=1))
    add(session, clinic, clinic.colleagues, Role.ADMIN, "Meera's, not Aarav's")
    return {
        "past": past,
        "ravi": ravi,
        "note": note,
        "assessment": assessment,
        "document": document,
        "report": report,
    }


def test_every_kind_is_on_the_timeline_newest_first_with_the_record_s_excerpt(
    session, clinic, world
):
    found = history(session, clinic)

    assert keys(found) == [
        (Kind.SESSION, clinic.own.id),
        (Kind.REPORT, world["report"].id),
        (Kind.NOTE, world["note"].id),  # at NOW, like the assessment and the document
        (Kind.ASSESSMENT, world["assessment"].id),
        (Kind.DOCUMENT, world["document"].id),
        (Kind.SESSION, world["ravi"].id),
        (Kind.SESSION, world["past"].id),
    ]
    assert found.total == 7 and found.pages == 1
    past = found.entries[-1]
    assert (past.record, past.therapist) == ("signed", "Dr. Priya Nair")
    assert past.excerpt == f"{SOAP.assessment} · {SOAP.plan}"
    assert found.entries[0].record is None
    assert found.entries[2].excerpt == "Tried 50% of 10_tries 'bus'"
    assert found.entries[4].name == "Referral letter.pdf"
    assert found.therapists == [
        (clinic.priya.id, "Dr. Priya Nair"),
        (clinic.colleagues.therapist_id, "Dr. Ravi Menon"),
    ]
    assert found.therapy_types == ["speech"]


def test_a_long_text_is_cut_to_an_excerpt_on_one_line():
    assert excerpt(None, "  ") is None
    assert excerpt("a\n b", "c") == "a b · c"
    cut = excerpt("x" * 500)
    assert len(cut) == EXCERPT and cut.endswith("…")


def test_the_therapist_filter_keeps_their_sessions_notes_and_what_their_login_wrote(
    session, clinic, world
):
    priya = history(session, clinic, therapist_id=clinic.priya.id)
    ravi = history(session, clinic, therapist_id=clinic.colleagues.therapist_id)

    assert keys(priya) == [
        (Kind.SESSION, clinic.own.id),
        (Kind.NOTE, world["note"].id),
        (Kind.ASSESSMENT, world["assessment"].id),
        (Kind.DOCUMENT, world["document"].id),  # uploaded by Priya's login
        (Kind.SESSION, world["past"].id),
    ]  # not the admin's report, not Ravi's session
    assert keys(ravi) == [(Kind.SESSION, world["ravi"].id)]


def test_another_clinic_s_therapist_or_another_patient_finds_nothing(session, clinic, world):
    theirs = history(session, clinic, therapist_id=clinic.b_session.therapist_id)
    assert theirs.entries == [] and theirs.total == 0
    assert (clinic.b_session.therapist_id, "Dr. Bclinic") not in theirs.therapists

    b_patient = history(session, clinic, patient=clinic.b_session.patient)  # as clinic A
    assert b_patient.entries == [] and b_patient.therapists == []


def test_the_therapy_type_filter_leaves_out_documents_and_reports(session, clinic, world):
    speech = history(session, clinic, therapy_type="speech")
    assert {k for k, _ in keys(speech)} == {Kind.SESSION, Kind.NOTE, Kind.ASSESSMENT}
    assert speech.total == 5
    assert history(session, clinic, therapy_type="occupational").entries == []


def test_the_dates_are_the_clinic_s_days_from_and_to_included(session, clinic, world):
    friday = history(session, clinic, since=midnight(FRIDAY), until=midnight(FRIDAY + timedelta(1)))
    weekend = history(session, clinic, since=midnight(FRIDAY + timedelta(days=1)), until=NOW)

    assert keys(friday) == [(Kind.SESSION, world["past"].id)]
    assert keys(weekend) == [(Kind.SESSION, world["ravi"].id)]  # NOW itself is excluded


def test_entry_types_pick_the_kinds(session, clinic, world):
    found = history(session, clinic, kinds=frozenset({Kind.NOTE, Kind.REPORT}))
    assert keys(found) == [(Kind.REPORT, world["report"].id), (Kind.NOTE, world["note"].id)]


@pytest.mark.parametrize(
    ("search", "finds"),
    [
        ("WORDS CORRECT", {"past"}),  # the record's objective, whatever the case
        ("tried", {"note"}),
        ("50%", {"note"}),
        ("%", {"note"}),  # a literal percent sign, not "anything"
        ("0_t", {"note"}),  # a literal underscore
        ("_", {"note"}),
        ("'bus'", {"note"}),  # quotes as written
        ("5_%", set()),
        ("\\", set()),
        ("Meera", set()),  # another patient's note
        ("Fronting", set()),  # assessments are not searched
    ],
)
def test_search_reads_records_and_notes_and_takes_wildcards_literally(
    session, clinic, world, search, finds
):
    found = history(session, clinic, search=search)
    assert set(keys(found)) == {
        (Kind.SESSION if name == "past" else Kind.NOTE, world[name].id) for name in finds
    }


def test_pages_of_the_timeline_and_the_same_statements_for_few_rows_or_many(
    session, db, clinic, world
):
    first = history(session, clinic, page_size=3)
    second = history(session, clinic, page_size=3, page=2)
    third = history(session, clinic, page_size=3, page=3)
    everything = keys(history(session, clinic))

    assert (first.total, first.pages) == (7, 3)
    assert keys(first) + keys(second) + keys(third) == everything
    assert history(session, clinic, page_size=3, page=9).entries == []

    for n in range(6):
        add(session, clinic, world["ravi"], Role.ADMIN, f"Note {n}", NOW - timedelta(hours=n))
    clinic_id, meera, aarav = clinic.a.id, clinic.colleagues.patient_id, clinic.aarav.id

    def statements(patient_id) -> int:
        session.rollback()
        session.expire_all()
        with counting_statements(db.engine) as sent:
            patient_history(session, clinic_id, patient_id, HistoryFilter())
        return len([s for s in sent if s.lstrip().upper().startswith(("SELECT", "WITH"))])

    few = statements(meera)  # one session, one note
    many = statements(aarav)
    assert few == many == 1 + 1 + 5 + 2  # keys, count, a load per kind, the two choices


# --- goals at two dates -----------------------------------------------------------------


def test_goals_compared_at_two_dates_take_the_latest_measure_on_or_before_each(
    session, clinic, past
):
    goal = set_for(session, clinic)  # baseline 20, target 80
    earlier = _book_at(
        session, clinic, LAST_FRIDAY_11 - timedelta(days=7), booked=NOW - timedelta(days=14)
    )
    write(session, clinic, earlier, texts=RecordTexts(plan="p"), measures={goal.id: 30})
    write(session, clinic, past, texts=RecordTexts(plan="p"), measures={goal.id: 50}, sign=True)
    [loaded] = goals_for_patient(session, clinic.a.id, clinic.aarav.id)
    week_before = FRIDAY - timedelta(days=7)

    [c] = goal_rules.compare(
        [loaded], midnight(week_before + timedelta(days=1)), midnight(FRIDAY + timedelta(days=1))
    )
    assert (c.a.value, c.b.value, c.change) == (30, 50, 20)
    assert (c.share_a, c.share_b) == (pytest.approx(1 / 6), pytest.approx(0.5))

    # The day itself counts ("on or before"); the day before a measure does not.
    [before] = goal_rules.compare([loaded], midnight(week_before), midnight(FRIDAY))
    assert (before.a, before.b.value, before.change, before.share_a) == (None, 30, None, None)
    assert goal_rules.first_measured([loaded]) == LAST_FRIDAY_11 - timedelta(days=7)
    assert goal_rules.first_measured([]) is None
    assert goal_rules.share(loaded, 200) == 1.0 and goal_rules.share(loaded, -5) == 0.0
