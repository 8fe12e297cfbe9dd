"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from models.appointment import Appointment, AppointmentCounter
from models.audit import AuditLog
from models.availability import AvailabilityException, WeeklyHours
from models.base import Base, ClinicOwned
from models.catalog import Service, Therapist, TherapistServiceOverride
from models.clinic import Clinic, ClinicPolicy, Location, SenderNumber
from models.conversation import Conversation, InboundMessage
from models.enums import (
    ActorType,
    AppointmentStatus,
    BookingSource,
    Channel,
    ExceptionKind,
    MessageSource,
    PaymentStatus,
    Relation,
    Role,
)
from models.messaging import MessageKind, MessageTemplate, OutboundMessage, OutboundStatus
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
    "Conversation",
    "ExceptionKind",
    "InboundMessage",
    "Location",
    "MessageKind",
    "MessageSource",
    "MessageTemplate",
    "OutboundMessage",
    "OutboundStatus",
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
