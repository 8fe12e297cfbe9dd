"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from models.appointment import Appointment, AppointmentCounter
from models.audit import AuditLog
from models.availability import AvailabilityException, WeeklyHours
from models.base import Base, ClinicOwned
from models.catalog import Service, Therapist, TherapistServiceOverride
from models.clinic import Clinic, ClinicPolicy, Location, SenderNumber
from models.enums import (
    ActorType,
    AppointmentStatus,
    BookingSource,
    Channel,
    ExceptionKind,
    PaymentStatus,
    Relation,
    Role,
)
from models.people import Contact, Patient
from models.staff import StaffUser

__all__ = [
    "ActorType",
    "Appointment",
    "AppointmentCounter",
    "AppointmentStatus",
    "AuditLog",
    "AvailabilityException",
    "Base",
    "BookingSource",
    "Channel",
    "Clinic",
    "ClinicOwned",
    "ClinicPolicy",
    "Contact",
    "ExceptionKind",
    "Location",
    "Patient",
    "PaymentStatus",
    "Relation",
    "Role",
    "SenderNumber",
    "Service",
    "StaffUser",
    "Therapist",
    "TherapistServiceOverride",
    "WeeklyHours",
]
