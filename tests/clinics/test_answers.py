"""Questions answered from the clinic's own data, for an Indian and a UK clinic."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import func, select

from models import (
    AuditLog,
    Clinic,
    ClinicAnswer,
    ExceptionKind,
    Location,
    Therapist,
    TherapistServiceOverride,
)
from roshni.demo import DEMO_CLINICS, seed_clinic
from services import audit
from services.audit import Actor
from services.clinics import catalog
from services.clinics.answers import add_clinic_answer, match_staff_answer
from services.errors import InvalidInput
from services.reports.answers import answer
from tests.conftest import NOW

SYSTEM = Actor.system()
SATURDAY = date(2026, 11, 28)
SUNDAY = date(2026, 11, 29)
CHRISTMAS = date(2026, 12, 25)


@pytest.fixture
def roshni(session, make_clinic, make_therapist, make_service):
    """An Indian clinic: two speech therapists (one with her own price), weekdays and Saturday
    mornings, UPI, a holiday on Christmas."""
    clinic = make_clinic(name="Roshni Clinic")
    clinic.phone = "+918045678900"
    clinic.upi_vpa = "roshniclinic@okaxis"
    location = clinic.locations[0]
    location.address = "12 Main Street, Bengaluru"
    session.commit()
    priya = make_therapist(clinic, name="Dr. Priya Nair")
    make_therapist(clinic, name="Rahul Mehta", specialization="occupational")
    priya.gender, priya.languages = "female", ["en", "hi"]
    session.commit()
    speech = make_service(clinic, name="Speech Therapy Session", price=80000)
    make_service(
        clinic, name="Occupational Therapy Session", specialization="occupational", price=75000
    )
    session.add(
        TherapistServiceOverride(
            clinic_id=clinic.id, therapist_id=priya.id, service_id=speech.id, price_minor=100000
        )
    )
    session.commit()
    catalog.add_exception(
        session,
        clinic_id=clinic.id,
        kind=ExceptionKind.CLOSED,
        start_date=CHRISTMAS,
        end_date=CHRISTMAS,
        reason="Christmas",
        actor=SYSTEM,
    )
    return clinic


@pytest.fixture
def sunrise(session, make_clinic, make_therapist, make_service):
    """A London clinic: weekdays only, no UPI, one online service."""
    clinic = make_clinic(
        name="Sunrise Therapy Centre", timezone="Europe/London", currency="GBP", region="GB"
    )
    clinic.locations[0].address = "1 High Street, London"
    clinic.locations[0].map_url = "https://maps.app.goo.gl/sunrise"
    session.commit()
    emma = make_therapist(
        clinic, name="Emma Clarke", hours={d: (time(9), time(17)) for d in range(5)}
    )
    emma.gender = "female"
    session.commit()
    service = make_service(clinic, name="Speech and Language Therapy", minutes=50, price=6500)
    service.online = True
    session.commit()
    return clinic


def ask(session, clinic, topic, lang="en", **entities):
    found = answer(session, clinic, topic, lang=lang, now=NOW, **entities)
    return None if found is None else found.text


def test_fees_list_every_service_and_a_therapists_own_price(session, roshni):
    text = ask(session, roshni, "fee")
    assert text.splitlines() == [
        "Fees at Roshni Clinic:",
        "Speech Therapy Session — 45 min, ₹800",
        "   with Dr. Priya Nair: 45 min, ₹1,000",
        "Occupational Therapy Session — 45 min, ₹750",
    ]


def test_the_fee_of_one_named_service_is_only_its_line(session, roshni):
    service_id = session.scalar(
        select(TherapistServiceOverride.service_id).where(
            TherapistServiceOverride.clinic_id == roshni.id
        )
    )
    text = ask(session, roshni, "fee", service_id=service_id)
    assert text.splitlines() == [
        "Speech Therapy Session — 45 min, ₹800",
        "   with Dr. Priya Nair: 45 min, ₹1,000",
    ]


def test_a_uk_clinic_quotes_pounds(session, sunrise):
    assert (
        ask(session, sunrise, "fee").splitlines()[1] == "Speech and Language Therapy — 50 min, £65"
    )


def test_fees_in_hindi(session, roshni):
    lines = ask(session, roshni, "fee", lang="hi").splitlines()
    assert lines[0] == "Roshni Clinic की फ़ीस:"
    assert lines[1] == "Speech Therapy Session — 45 मिनट, ₹800"


def test_the_address_comes_with_a_map_link_and_the_clinic_phone(session, roshni, sunrise):
    assert ask(session, roshni, "address").splitlines() == [
        "Roshni Clinic is here:",
        "Main: 12 Main Street, Bengaluru",
        "📍 https://www.google.com/maps/search/?api=1&query=12+Main+Street%2C+Bengaluru",
        "📞 +91 80 4567 8900",
    ]
    # A map link the clinic chose wins over the search; no phone recorded, none shown.
    assert ask(session, sunrise, "address").splitlines()[2] == "📍 https://maps.app.goo.gl/sunrise"


def test_an_inactive_location_or_one_without_an_address_is_not_given(session, roshni):
    session.add(Location(clinic_id=roshni.id, name="Old branch", address="Gone", active=False))
    session.add(Location(clinic_id=roshni.id, name="Annexe"))
    session.commit()
    text = ask(session, roshni, "address")
    assert "Old branch" not in text and "Annexe" not in text


def test_no_address_recorded_is_no_answer(session, make_clinic):
    clinic = make_clinic()
    assert ask(session, clinic, "address") is None


def test_opening_hours_group_days_and_name_the_coming_holiday(session, roshni, sunrise):
    assert ask(session, roshni, "hours").splitlines() == [
        "Roshni Clinic's opening hours:",
        "Mon–Fri: 9:00 am–6:00 pm",
        "Sat: 9:00 am–1:00 pm",
        "Sun: closed",
    ]
    # Christmas is more than three weeks after 23 Nov: not yet mentioned.
    assert ask(session, sunrise, "hours").splitlines() == [
        "Sunrise Therapy Centre's opening hours:",
        "Mon–Fri: 9:00 am–5:00 pm",
        "Sat–Sun: closed",
    ]


def test_a_closure_in_the_next_weeks_is_listed(session, roshni):
    catalog.add_exception(
        session,
        clinic_id=roshni.id,
        kind=ExceptionKind.CLOSED,
        start_date=date(2026, 12, 1),
        end_date=date(2026, 12, 2),
        reason="Staff training",
        actor=SYSTEM,
    )
    lines = ask(session, roshni, "hours").splitlines()
    assert lines[-2:] == ["Closed on:", "Tue 1 Dec–Wed 2 Dec (Staff training)"]


def test_hours_in_hindi_name_the_days_in_hindi(session, roshni):
    lines = ask(session, roshni, "hours", lang="hi").splitlines()
    assert lines[0] == "Roshni Clinic के खुलने का समय:"
    assert lines[-1] == "रवि: बंद"


def test_open_on_sunday_is_no_and_on_saturday_yes_with_the_hours(session, roshni):
    assert ask(session, roshni, "open_day", day=SUNDAY) == (
        "Sorry, Roshni Clinic is closed on Sun 29 Nov."
    )
    assert ask(session, roshni, "open_day", day=SATURDAY) == (
        "Yes, Roshni Clinic is open on Sat 28 Nov: 9:00 am–1:00 pm."
    )


def test_a_holiday_closes_a_working_day_and_says_why(session, roshni):
    assert ask(session, roshni, "open_day", day=CHRISTMAS) == (
        "Sorry, Roshni Clinic is closed on Fri 25 Dec (Christmas)."
    )
    assert ask(session, roshni, "open_day", day=CHRISTMAS, lang="hi") == (
        "माफ़ कीजिए, Roshni Clinic शुक्र, 25 दिस॰ को बंद है (Christmas)।"
    )


def test_open_day_without_a_day_answers_with_the_week(session, sunrise):
    assert ask(session, sunrise, "open_day").splitlines()[1] == "Mon–Fri: 9:00 am–5:00 pm"


def test_services_and_online_sessions(session, roshni, sunrise):
    assert ask(session, roshni, "services").splitlines()[0] == "Roshni Clinic offers:"
    assert ask(session, roshni, "online") == (
        "Sorry, Roshni Clinic offers sessions in person only, not online."
    )
    assert ask(session, sunrise, "services").splitlines()[1] == (
        "Speech and Language Therapy — 50 min, £65 (also online)"
    )
    assert ask(session, sunrise, "online") == (
        "Yes, Sunrise Therapy Centre offers online (video) sessions for:\n"
        "Speech and Language Therapy"
    )


def test_therapists_with_gender_and_languages_where_recorded(session, roshni):
    assert ask(session, roshni, "therapists").splitlines() == [
        "Our therapists:",
        "Dr. Priya Nair (speech) · female · speaks English, Hindi",
        "Rahul Mehta (occupational)",
    ]
    assert ask(session, roshni, "therapists", lang="hi").splitlines()[1] == (
        "Dr. Priya Nair (speech) · महिला · भाषाएँ: अंग्रेज़ी, हिन्दी"
    )


def test_a_female_therapist_is_named(session, roshni, sunrise):
    found = answer(
        session, roshni, "therapist_gender", lang="en", now=NOW, therapist_gender="female"
    )
    assert found.text.splitlines() == [
        "Yes, Roshni Clinic has female therapists:",
        "Dr. Priya Nair (speech) · female · speaks English, Hindi",
    ]
    assert not found.notify_staff
    # Every therapist's gender recorded and none male: a plain no.
    assert ask(session, sunrise, "therapist_gender", therapist_gender="male").startswith(
        "Sorry, Sunrise Therapy Centre has no male therapist."
    )


def test_an_unrecorded_gender_is_passed_to_staff(session, roshni):
    found = answer(session, roshni, "therapist_gender", lang="en", now=NOW, therapist_gender="male")
    assert found.notify_staff
    assert found.text.endswith("I've asked Roshni Clinic to answer your question here.")


def test_payment_methods_follow_how_the_clinic_takes_payments(session, roshni, sunrise):
    assert ask(session, roshni, "payment_methods").splitlines() == [
        "You can pay Roshni Clinic:",
        "• by UPI to roshniclinic@okaxis",
        "• in cash or by card at the front desk",
    ]
    assert ask(session, sunrise, "payment_methods").splitlines() == [
        "You can pay Sunrise Therapy Centre:",
        "• in cash or by card at the front desk",
    ]
    roshni.razorpay_key_id, roshni.razorpay_key_secret_encrypted = "rzp_test_x", "sealed"
    assert "• online by card, UPI or net banking, with a payment link sent here" in ask(
        session, roshni, "payment_methods"
    )
    # Stripe (a London clinic's cards): no UPI or net banking to offer.
    sunrise.currency, sunrise.stripe_secret_key_encrypted = "GBP", "sealed"
    assert ask(session, sunrise, "payment_methods").splitlines()[1] == (
        "• online by card, with a payment link sent here"
    )
    assert "ऑनलाइन कार्ड से" in ask(session, sunrise, "payment_methods", lang="hi")


def test_policies_in_plain_words(session, make_clinic):
    clinic = make_clinic(cancellation_window_hours=12, reschedule_window_hours=24)
    assert ask(session, clinic, "cancellation_policy").startswith(
        "You can cancel a session here in the chat up to 12 hours before it starts"
    )
    assert ask(session, clinic, "reschedule_policy") == (
        "You can move a session here in the chat up to 24 hours before it starts; closer to "
        "the time, the clinic approves the change. New bookings need at least 2 hours' notice."
    )
    assert "12 घंटे पहले" in ask(session, clinic, "cancellation_policy", lang="hi")


# --- the staff's own answers -------------------------------------------------------------


@pytest.fixture
def parking(session, roshni):
    return add_clinic_answer(
        session,
        clinic_id=roshni.id,
        question="Is there parking?",
        keywords="parking, car, bike",
        question_hi="पार्किंग है क्या?",
        answer_en="Yes, free parking behind the building.",
        answer_hi="हाँ, इमारत के पीछे मुफ़्त पार्किंग है।",
        actor=SYSTEM,
    )


def test_parking_is_the_staffs_answer_matched_despite_a_typo(session, roshni, parking):
    found = answer(
        session, roshni, "parking", lang="en", now=NOW, question_text="is ther parkng nearby?"
    )
    assert found.text == "Yes, free parking behind the building."
    assert found.staff_answer_id == parking.id
    assert match_staff_answer(session, roshni, "where can i keep my car", "en") is not None


def test_a_staff_answer_in_hindi_when_written(session, roshni, parking):
    assert match_staff_answer(session, roshni, "पार्किंग है?", "hi").text == (
        "हाँ, इमारत के पीछे मुफ़्त पार्किंग है।"
    )
    # No Hindi written: the English answer.
    add_clinic_answer(
        session,
        clinic_id=roshni.id,
        question="Do you have a waiting room for parents?",
        keywords="waiting room",
        answer_en="Yes, with tea.",
        actor=SYSTEM,
    )
    assert match_staff_answer(session, roshni, "waiting rom?", "hi").text == "Yes, with tea."


def test_an_unrelated_question_matches_no_staff_answer(session, roshni, parking):
    assert match_staff_answer(session, roshni, "what is the fee", "en") is None
    assert match_staff_answer(session, roshni, "do you take care of toddlers", "en") is None
    assert ask(session, roshni, None, question_text="can my dog come along") is None
    assert ask(session, roshni, "parking") is None  # no text to match


def test_another_clinics_staff_answers_are_never_used(session, roshni, sunrise, parking):
    assert match_staff_answer(session, sunrise, "is there parking", "en") is None


def test_a_staff_answer_for_a_topic_replaces_the_built_in_one(session, roshni):
    add_clinic_answer(
        session,
        clinic_id=roshni.id,
        question="What are your fees?",
        answer_en="Please see roshni.example/fees.",
        topic="fee",
        actor=SYSTEM,
    )
    assert ask(session, roshni, "fee") == "Please see roshni.example/fees."


def test_a_staff_answer_is_audited(session, roshni, parking):
    row = session.scalar(select(AuditLog).where(AuditLog.action == "clinic_answer.create"))
    assert row is not None and row.clinic_id == roshni.id


# --- the demo clinics ----------------------------------------------------------------------


def test_the_demo_clinics_answer_from_their_seeded_data(session):
    for demo in DEMO_CLINICS:
        seed_clinic(session, demo, admin_password=None)
        seed_clinic(session, demo, admin_password=None)  # twice changes nothing
    roshni = session.scalar(select(Clinic).where(Clinic.slug == "roshni"))
    sunrise = session.scalar(select(Clinic).where(Clinic.slug == "sunrise"))
    assert session.scalar(select(func.count(ClinicAnswer.id))) == 3

    assert "12 Main Street, Indiranagar, Bengaluru 560038" in ask(session, roshni, "address")
    assert ask(session, roshni, "parking", lang="hi", question_text="parking hai kya") == (
        "हाँ: इमारत के पीछे कार और दोपहिया के लिए मुफ़्त पार्किंग है।"
    )
    assert "Dr. Kavya Rao (physiotherapy) · female · speaks English, Kannada" in ask(
        session, roshni, "therapist_gender", therapist_gender="female"
    )
    assert ask(session, sunrise, "online").endswith("Speech and Language Therapy")
    assert "pay-and-display" in ask(session, sunrise, "parking", question_text="car park?")


def test_a_part_day_closure_leaves_the_rest_of_the_day_open(session, roshni):
    catalog.add_exception(
        session,
        clinic_id=roshni.id,
        kind=ExceptionKind.CLOSED,
        start_date=SATURDAY,
        end_date=SATURDAY,
        start=time(11),
        end=time(13),
        reason="Staff meeting",
        actor=SYSTEM,
    )
    assert ask(session, roshni, "open_day", day=SATURDAY) == (
        "Yes, Roshni Clinic is open on Sat 28 Nov: 9:00 am–11:00 am."
    )
    assert ask(session, roshni, "hours").splitlines()[-1] == (
        "Sat 28 Nov, 11:00 am–1:00 pm (Staff meeting)"
    )


def test_what_the_panel_stores_for_answers_is_checked(session, roshni):
    location = roshni.locations[0]
    before = audit.snapshot(location)
    location.map_url = "javascript:alert(1)"
    with pytest.raises(InvalidInput, match="https://"):
        catalog.save_record(session, location, clinic_id=roshni.id, actor=SYSTEM, before=before)
    session.rollback()
    therapist = session.scalar(select(Therapist).where(Therapist.clinic_id == roshni.id))
    before = audit.snapshot(therapist)
    therapist.languages = " EN, hi,, en "
    catalog.save_record(session, therapist, clinic_id=roshni.id, actor=SYSTEM, before=before)
    assert therapist.languages == ["en", "hi"]
    therapist.gender = "other"
    with pytest.raises(InvalidInput, match="female, male or not recorded"):
        catalog.save_record(session, therapist, clinic_id=roshni.id, actor=SYSTEM, before=None)
    session.rollback()
