"""The panel's Questions & answers: the clinic admin's, scoped to the clinic, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditLog, ClinicAnswer, Role, Service, Therapist
from services.clinics.answers import add_clinic_answer
from tests.admin.test_admin import PASSWORD, csrf_token, fresh, log_in
from tests.conftest import SYSTEM, staff_logins

pytestmark = pytest.mark.usefixtures("frozen_clock")
URL = "/admin/clinicanswer/"


@pytest.fixture
def clinics(session, make_clinic, make_therapist):
    out = {}
    for key in ("a", "b"):
        clinic = make_clinic(name=f"Clinic {key.upper()}", slug=f"clinic-{key}")
        make_therapist(clinic, name=f"Therapist {key.upper()}")
        staff_logins(session, clinic.id, password=PASSWORD, domain=f"{key}.example")
        entry = add_clinic_answer(
            session,
            clinic_id=clinic.id,
            question=f"Parking at clinic {key.upper()}?",
            keywords="parking",
            answer_en=f"Answer {key.upper()}",
            actor=SYSTEM,
        )
        out[key] = {"clinic": clinic, "answer": entry}
    return out


def _form(token: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "question": "Is there a lift?",
        "keywords": "lift, elevator, wheelchair",
        "question_hi": "लिफ़्ट है क्या?",
        "answer_en": "Yes, the lift is next to the entrance.",
        "answer_hi": "हाँ, लिफ़्ट प्रवेश द्वार के पास है।",
        "topic": "",
        "active": "y",
        **fields,
    }


def test_the_admin_adds_an_answer_with_an_audit_row(app, clinics, session):
    client = app.test_client()
    log_in(client, "admin@a.example")
    token = csrf_token(client, URL + "new/")
    client.post(URL + "new/", data=_form(token))
    fresh(session)
    entry = session.scalar(select(ClinicAnswer).where(ClinicAnswer.question == "Is there a lift?"))
    assert entry.clinic_id == clinics["a"]["clinic"].id
    assert entry.answer_hi == "हाँ, लिफ़्ट प्रवेश द्वार के पास है।" and entry.topic is None
    row = session.scalar(
        select(AuditLog).where(
            AuditLog.action == "clinic_answer.create", AuditLog.entity_id == str(entry.id)
        )
    )
    assert row.clinic_id == clinics["a"]["clinic"].id


def test_an_answer_without_english_text_or_with_an_unknown_topic_is_refused(app, clinics, session):
    client = app.test_client()
    log_in(client, "admin@a.example")
    token = csrf_token(client, URL + "new/")
    client.post(URL + "new/", data=_form(token, answer_en="  ", question="Empty?"))
    client.post(URL + "new/", data=_form(token, topic="weather", question="Weather?"))
    fresh(session)
    assert session.scalar(select(ClinicAnswer).where(ClinicAnswer.question == "Empty?")) is None
    assert session.scalar(select(ClinicAnswer).where(ClinicAnswer.question == "Weather?")) is None


def test_a_form_without_its_csrf_token_is_rejected(app, clinics, session):
    client = app.test_client()
    log_in(client, "admin@a.example")
    response = client.post(URL + "new/", data=_form(""))
    assert response.status_code in (200, 400)
    fresh(session)
    assert (
        session.scalar(select(ClinicAnswer).where(ClinicAnswer.question == "Is there a lift?"))
        is None
    )


def test_another_clinics_answers_are_invisible_and_not_editable(app, clinics, session):
    b = clinics["b"]["answer"]
    client = app.test_client()
    log_in(client, "admin@a.example")
    listing = client.get(URL)
    assert "Parking at clinic A?" in listing.text
    assert "Parking at clinic B?" not in listing.text
    page = client.get(f"{URL}edit/?id={b.id}", follow_redirects=True)
    assert "Answer B" not in page.text
    token = csrf_token(client, URL + "new/")
    client.post(f"{URL}edit/?id={b.id}", data=_form(token, answer_en="Hijacked"))
    client.post(f"{URL}delete/", data={"csrf_token": token, "id": str(b.id)})
    fresh(session)
    assert session.get(ClinicAnswer, b.id).answer_en == "Answer B"


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.THERAPIST, Role.ACCOUNTANT])
def test_only_the_clinic_admin_edits_answers(app, clinics, session, role):
    client = app.test_client()
    log_in(client, f"{role.value}@a.example")
    assert client.get(URL).status_code == 403
    token = csrf_token(client, "/admin/")
    client.post(URL + "new/", data=_form(token))
    fresh(session)
    assert (
        session.scalar(select(ClinicAnswer).where(ClinicAnswer.question == "Is there a lift?"))
        is None
    )


def test_the_therapist_form_records_gender_and_languages(app, clinics, session):
    therapist_id = session.scalar(select(Therapist.id).where(Therapist.name == "Therapist A"))
    client = app.test_client()
    log_in(client, "admin@a.example")
    url = f"/admin/therapist/edit/?id={therapist_id}"
    token = csrf_token(client, url)
    client.post(
        url,
        data={
            "csrf_token": token,
            "name": "Therapist A",
            "specialization": "speech",
            "gender": "female",
            "languages": "en, HI, kn",
            "active": "y",
        },
    )
    fresh(session)
    therapist = session.get(Therapist, therapist_id)
    assert (therapist.gender, therapist.languages) == ("female", ["en", "hi", "kn"])
    assert "en, hi, kn" in client.get(url).text


def test_the_service_form_records_other_names_patients_use(app, clinics, session, make_service):
    service = make_service(clinics["a"]["clinic"])
    client = app.test_client()
    log_in(client, "admin@a.example")
    url = f"/admin/service/edit/?id={service.id}"
    token = csrf_token(client, url)
    form = {
        "csrf_token": token,
        "name": "Speech Therapy Session",
        "specialization": "speech",
        "duration_minutes": "45",
        "price_minor": "80000",
        "capacity": "1",
        "hold_minutes": "30",
        "active": "y",
        "in_person": "y",  # given in person (a service is given in person, online or both)
    }
    client.post(url, data={**form, "aliases": "baat cheet, Bolna ,baat cheet"})
    fresh(session)
    assert session.get(Service, service.id).aliases == ["baat cheet", "Bolna"]
    assert "baat cheet, Bolna" in client.get(url).text
    client.post(url, data={**form, "aliases": "<a href=x>click</a>"})  # refused, kept
    fresh(session)
    assert session.get(Service, service.id).aliases == ["baat cheet", "Bolna"]
    client.post(url, data={**form, "aliases": ""})
    fresh(session)
    assert session.get(Service, service.id).aliases is None
