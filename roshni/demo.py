"""The two demo clinics `roshni seed-demo` creates. Seeding twice changes nothing."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from models import (
    Channel,
    Clinic,
    ClinicAnswer,
    MessageTemplate,
    Package,
    Role,
    Service,
    StaffUser,
    Therapist,
)
from services import audit
from services.audit import Actor
from services.clinical.exercise_library import seed_library
from services.clinics import catalog
from services.clinics import settings as clinics
from services.clinics.answers import add_clinic_answer
from services.staff import accounts as staff

SYSTEM = Actor.system()


@dataclass(frozen=True)
class DemoClinic:
    name: str
    slug: str
    timezone: str
    currency: str
    region: str
    whatsapp: str
    sms: str
    phone: str  # the front desk's own number, given in "help"
    admin_email: str
    location: tuple[str, str]
    therapists: tuple[tuple[str, str], ...]
    services: tuple[tuple[str, str, int, int, int], ...]  # name, spec, minutes, price, capacity
    hours: dict[int, tuple[time, time]]
    prepaid_service: str | None = None  # paid in advance from the chat
    package_service: str | None = None  # sold as a 10-session package
    upi_vpa: str | None = None
    # What the bot answers patients with (services.reports.answers): each therapist's
    # gender and languages, the services given either way (in person or online: the
    # patient chooses, and an online session gets a Jitsi room), and the staff's own Q&A
    # (question, keywords, answer, Hindi question, Hindi answer).
    therapist_details: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    online_services: tuple[str, ...] = ()
    answers: tuple[tuple[str, str, str, str | None, str | None], ...] = ()

    @property
    def staff_logins(self) -> tuple[tuple[str, Role], ...]:
        """One login per role, on the admin's domain: operator@roshni.example, …"""
        domain = self.admin_email.split("@", 1)[1]
        others = ((f"{role.value}@{domain}", role) for role in STAFF_ROLES)
        return ((self.admin_email, Role.ADMIN), *others)

    @property
    def linked_therapist(self) -> str:
        """The therapist the therapist login is: the clinic's (first) speech therapist."""
        return next(name for name, spec in self.therapists if spec == "speech")


STAFF_ROLES = (Role.OPERATOR, Role.THERAPIST, Role.ACCOUNTANT)
WEEKDAYS = {d: (time(9), time(18)) for d in range(5)}
DEMO_CLINICS = (
    DemoClinic(
        name="Roshni Clinic",
        slug="roshni",
        timezone="Asia/Kolkata",
        currency="INR",
        region="IN",
        whatsapp="+14155238886",
        sms="+15017122661",
        phone="+918045678900",
        admin_email="admin@roshni.example",
        location=("Main Street", "12 Main Street, Indiranagar, Bengaluru 560038"),
        therapists=(
            ("Dr. Priya Nair", "speech"),
            ("Rahul Mehta", "occupational"),
            ("Dr. Kavya Rao", "physiotherapy"),
        ),
        services=(
            ("Speech Therapy Session", "speech", 45, 80000, 1),
            ("Occupational Therapy Session", "occupational", 45, 75000, 1),
            ("Physiotherapy Session", "physiotherapy", 45, 70000, 1),
            ("Group Speech Therapy", "speech", 60, 50000, 6),
            ("Assessment Session", "speech", 90, 120000, 1),
        ),
        hours={**WEEKDAYS, 5: (time(9), time(13))},
        prepaid_service="Assessment Session",
        package_service="Speech Therapy Session",
        upi_vpa="roshniclinic@okaxis",
        therapist_details={
            "Dr. Priya Nair": ("female", ("en", "hi", "ml")),
            "Rahul Mehta": ("male", ("en", "hi")),
            "Dr. Kavya Rao": ("female", ("en", "kn")),
        },
        answers=(
            (
                "Is there parking?",
                "parking, car, scooter, bike",
                "Yes: free parking for cars and two-wheelers behind the building.",
                "पार्किंग है क्या?",
                "हाँ: इमारत के पीछे कार और दोपहिया के लिए मुफ़्त पार्किंग है।",
            ),
            (
                "Can I wait at the clinic during my child's session?",
                "wait, waiting room, parents",
                "Yes, parents wait in our waiting room; there is water and a play corner.",
                "क्या बच्चे के सेशन के दौरान मैं क्लिनिक में रुक सकती हूँ?",
                "हाँ, माता-पिता हमारे वेटिंग रूम में रुकते हैं; वहाँ पानी और खेलने का कोना है।",
            ),
        ),
    ),
    DemoClinic(
        name="Sunrise Therapy Centre",
        slug="sunrise",
        timezone="Europe/London",
        currency="GBP",
        region="GB",
        whatsapp="+447700900123",
        sms="+447700900456",
        phone="+442079460000",
        admin_email="admin@sunrise.example",
        location=("Sunrise House", "1 High Street, London SW1A 1AA"),
        therapists=(("Emma Clarke", "speech"), ("Oliver Hughes", "physiotherapy")),
        services=(
            ("Speech and Language Therapy", "speech", 50, 6500, 1),
            ("Physiotherapy Session", "physiotherapy", 45, 5500, 1),
        ),
        hours=dict(WEEKDAYS),
        therapist_details={
            "Emma Clarke": ("female", ("en",)),
            "Oliver Hughes": ("male", ("en", "fr")),
        },
        online_services=("Speech and Language Therapy",),
        answers=(
            (
                "Is there parking?",
                "parking, car",
                "There is pay-and-display parking on High Street; the nearest station is a "
                "five-minute walk.",
                None,
                None,
            ),
        ),
    ),
)


def seed_demo(session: Session, admin_password: str | None = None) -> str | None:
    """Create the demo clinics if missing. Returns a generated password, if one was made."""
    generated = None
    if admin_password is None:
        missing = [
            email
            for c in DEMO_CLINICS
            for email, _role in c.staff_logins
            if session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is None
        ]
        if missing:
            generated = admin_password = secrets.token_urlsafe(12)
    for demo in DEMO_CLINICS:
        seed_clinic(session, demo, admin_password)
    session.commit()
    return generated


# Placeholders shaped like Twilio's: a real clinic enters the Content SIDs of its
# approved WhatsApp templates (and, in India, its DLT-registered SMS texts) in the admin.
DEMO_TEMPLATES: dict[str, tuple[list[str], str]] = {
    "reminder": (
        ["patient", "service", "therapist", "when", "number"],
        "Reminder: {patient} has {service} with {therapist} {when} ({number}). "
        "Reply 1 to confirm, 2 to reschedule, 3 to cancel. - {clinic}",
    ),
    "notice_booked": (
        ["service", "patient", "therapist", "when", "number"],
        "{clinic} booked {service} for {patient} with {therapist}, {when} ({number}).",
    ),
    "notice_moved": (
        ["patient", "service", "when", "therapist", "number"],
        "{clinic} moved {patient}'s {service} to {when} with {therapist} ({number}).",
    ),
    "notice_cancelled": (
        ["patient", "service", "when", "number"],
        "{clinic} cancelled {patient}'s {service} on {when} ({number}).",
    ),
    "dues_reminder": (["amount"], "{clinic}: you have {amount} outstanding for sessions."),
    "payment_link_booking": (
        ["amount", "patient", "service", "number", "until", "url"],
        "{clinic}: pay {amount} for {patient}'s {service} ({number}) by {until}: {url}",
    ),
    "payment_link_dues": (["amount", "url"], "{clinic}: pay {amount} here: {url}"),
    "payment_upi": (["amount", "vpa", "upi_url"], "{clinic}: pay {amount} by UPI to {vpa}."),
    "progress_report": (
        ["patient", "period", "report_url"],
        "{clinic}: {patient}'s progress report for {period}.",
    ),
    "payment_receipt": (
        ["amount", "receipt", "receipt_url"],
        "{clinic} received {amount}, thank you. Receipt {receipt}.",
    ),
    "late_payment_rebooked": (
        ["patient", "service", "when", "number"],
        "{clinic} received your late payment: {patient}'s {service} on {when} ({number}) "
        "is booked again.",
    ),
    "late_payment_slot_gone": (
        ["amount", "patient", "service", "when", "number"],
        "{clinic} received {amount} after {patient}'s {service} on {when} ({number}) was "
        "released; that time is taken. The clinic will refund or move you.",
    ),
    "notice_hold_expired": (
        ["patient", "service", "when", "number"],
        "{clinic} released {patient}'s {service} on {when} ({number}): payment not received.",
    ),
    # A freed time offered to the next on the waitlist (services.scheduling.waitlist).
    "waitlist_offer": (
        ["patient", "service", "therapist", "when", "minutes"],
        "{clinic}: a place opened for {patient}: {service} with {therapist}, {when}. "
        "Held {minutes} min. Reply 1 to book, 2 to pass.",
    ),
    # A home exercise's nudge (services.clinical.exercise_nudges).
    "exercise_nudge": (
        ["patient", "exercise", "repetitions"],
        "{clinic}: time for {patient}'s home exercise, {exercise} ({repetitions}x today). "
        "Reply done, skipped or how many, like 1 of {repetitions}.",
    ),
    # Staff answering a chat after WhatsApp's 24-hour window (services.messaging.handoff).
    "staff_follow_up": (
        ["name"],
        "Hello {name}, {clinic} has a reply to your message. Please answer YES to continue.",
    ),
}


def _seed_templates(session: Session, clinic: Clinic) -> None:
    for key, (order, sms_text) in DEMO_TEMPLATES.items():
        digest = hashlib.sha256(f"{clinic.slug}:{key}".encode()).hexdigest()
        session.add(
            MessageTemplate(
                clinic_id=clinic.id,
                channel=Channel.WHATSAPP,
                key=key,
                content_sid=f"HX{digest[:32]}",
                variable_order=order,
            )
        )
        if clinic.phone_region == "IN":
            session.add(
                MessageTemplate(
                    clinic_id=clinic.id,
                    channel=Channel.SMS,
                    key=key,
                    body=sms_text,
                    dlt_template_id=f"1107{int(digest[:12], 16) % 10**15:015d}",
                )
            )
    session.commit()


def seed_clinic(session: Session, demo: DemoClinic, admin_password: str | None) -> None:
    clinic = session.scalar(select(Clinic).where(Clinic.slug == demo.slug))
    if clinic is None:
        clinic = clinics.create_clinic(
            session,
            name=demo.name,
            slug=demo.slug,
            actor=SYSTEM,
            timezone=demo.timezone,
            currency=demo.currency,
            phone_region=demo.region,
            phone=demo.phone,
        )
        location = clinics.add_location(
            session,
            clinic_id=clinic.id,
            name=demo.location[0],
            address=demo.location[1],
            actor=SYSTEM,
        )
        clinics.add_sender_number(
            session,
            clinic_id=clinic.id,
            channel=Channel.WHATSAPP,
            address=demo.whatsapp,
            actor=SYSTEM,
        )
        clinics.add_sender_number(
            session, clinic_id=clinic.id, channel=Channel.SMS, address=demo.sms, actor=SYSTEM
        )
        for name, spec in demo.therapists:
            therapist = catalog.create_therapist(
                session, clinic_id=clinic.id, name=name, specialization=spec, actor=SYSTEM
            )
            for weekday, (start, end) in demo.hours.items():
                catalog.add_weekly_hours(
                    session,
                    clinic_id=clinic.id,
                    therapist_id=therapist.id,
                    location_id=location.id,
                    weekday=weekday,
                    start=start,
                    end=end,
                    actor=SYSTEM,
                )
        _seed_templates(session, clinic)
        for name, spec, minutes, price, capacity in demo.services:
            service = catalog.create_service(
                session,
                clinic_id=clinic.id,
                name=name,
                specialization=spec,
                duration_minutes=minutes,
                price_minor=price,
                capacity=capacity,
                actor=SYSTEM,
            )
            if name == demo.prepaid_service:
                service.prepay_required = True
                session.commit()
            if name == demo.package_service:
                session.add(
                    Package(
                        clinic_id=clinic.id,
                        name=f"10 × {name}",
                        service_id=service.id,
                        sessions=10,
                        price_minor=price * 9,  # one session free
                    )
                )
                session.commit()
        clinic.upi_vpa = demo.upi_vpa
        clinic.upi_payee_name = demo.name if demo.upi_vpa else None
        session.commit()
    _seed_answers(session, demo, clinic)
    # The demo has no patients; its clinics start with the suggested home exercises.
    seed_library(session, clinic_id=clinic.id, now=utcnow(), actor=SYSTEM)
    _seed_staff(session, demo, clinic, admin_password)


def _seed_answers(session: Session, demo: DemoClinic, clinic: Clinic) -> None:
    """What the bot answers from: therapists' gender and languages, online services and the
    staff's Q&A; only what is missing (a clinic seeded before them gets them once)."""
    therapists = session.scalars(select(Therapist).where(Therapist.clinic_id == clinic.id))
    for therapist in therapists:
        details = demo.therapist_details.get(therapist.name)
        if details is None or therapist.gender is not None or therapist.languages:
            continue
        before = audit.snapshot(therapist)
        therapist.gender, therapist.languages = details[0], list(details[1])
        audit.record(
            session,
            clinic_id=clinic.id,
            actor=SYSTEM,
            action="therapist.update",
            entity=therapist,
            before=before,
        )
    for service in session.scalars(
        select(Service).where(Service.clinic_id == clinic.id, Service.online.is_(False))
    ):
        if service.name in demo.online_services:
            before = audit.snapshot(service)
            service.online = True
            audit.record(
                session,
                clinic_id=clinic.id,
                actor=SYSTEM,
                action="service.update",
                entity=service,
                before=before,
            )
    session.commit()
    if session.scalar(select(ClinicAnswer.id).where(ClinicAnswer.clinic_id == clinic.id)):
        return
    for question, keywords, answer_en, question_hi, answer_hi in demo.answers:
        add_clinic_answer(
            session,
            clinic_id=clinic.id,
            question=question,
            keywords=keywords,
            answer_en=answer_en,
            question_hi=question_hi,
            answer_hi=answer_hi,
            actor=SYSTEM,
        )


def _seed_staff(session: Session, demo: DemoClinic, clinic: Clinic, password: str | None) -> None:
    """One login per role, the therapist's linked to the speech therapist; only what is missing."""
    for email, role in demo.staff_logins:
        exists = session.scalar(select(StaffUser.id).where(StaffUser.email == email))
        if exists is None and password is not None:
            staff.create_staff_user(
                session,
                email=email,
                password=password,
                role=role,
                clinic_id=clinic.id,
                name=f"{demo.name} {role.value}",
                actor=SYSTEM,
            )
    therapist_login = next(email for email, role in demo.staff_logins if role is Role.THERAPIST)
    user_id = session.scalar(select(StaffUser.id).where(StaffUser.email == therapist_login))
    therapist = session.scalar(
        select(Therapist).where(
            Therapist.clinic_id == clinic.id, Therapist.name == demo.linked_therapist
        )
    )
    if user_id is not None and therapist is not None and therapist.staff_user_id is None:
        before = audit.snapshot(therapist)
        therapist.staff_user_id = user_id
        audit.record(
            session,
            clinic_id=clinic.id,
            actor=SYSTEM,
            action="therapist.update",
            entity=therapist,
            before=before,
        )
        session.commit()
