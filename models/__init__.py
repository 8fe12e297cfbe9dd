"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from models.answers import ClinicAnswer
from models.appointment import Appointment, AppointmentCounter, AppointmentSeries
from models.assessments import Assessment, AssessmentKind, AssessmentTemplate, ItemKind
from models.audit import AuditLog
from models.availability import AvailabilityException, WeeklyHours
from models.base import Base, ClinicOwned
from models.billing import (
    CreditEntry,
    DocumentCounter,
    Invoice,
    InvoiceLine,
    Package,
    Payment,
    PaymentAllocation,
    PaymentLink,
    ProviderEvent,
    Refund,
)
from models.catalog import Service, Therapist, TherapistServiceOverride
from models.clinic import (
    Clinic,
    ClinicLogo,
    ClinicPolicy,
    Location,
    SenderNumber,
    SettingsVersion,
)
from models.conversation import Conversation, InboundMedia, InboundMessage
from models.documents import DocumentAccess, DocumentTag, PatientDocument
from models.email import OutboundEmail
from models.enums import (
    ActorType,
    AppointmentStatus,
    BookingSource,
    Channel,
    CreditKind,
    EmailPreference,
    ExceptionKind,
    InvoiceLineKind,
    InvoiceStatus,
    LinkStatus,
    MediaStatus,
    MessageSource,
    PaymentMethod,
    PaymentState,
    PaymentStatus,
    RefundStatus,
    Relation,
    Role,
)
from models.exercises import Exercise, ExerciseAssignment, ExerciseOutcome, ExerciseReply
from models.goals import Goal, GoalMeasure, GoalStatus, GoalTerm
from models.messaging import (
    ContentTemplate,
    MessageKind,
    MessageTemplate,
    OutboundMessage,
    OutboundStatus,
)
from models.notes import Attendance, ProgressNote, ProgressReport, RecordStatus, SessionRecord
from models.people import Contact, Patient
from models.reschedule import RequesterType, RescheduleRequest, RescheduleStatus
from models.staff import StaffUser
from models.staff_notification import NotificationKind, StaffNotification
from models.waitlist import WaitlistEntry, WaitlistStatus
from models.worker import WorkerHeartbeat

__all__ = [
    "ActorType",
    "Appointment",
    "AppointmentCounter",
    "AppointmentSeries",
    "AppointmentStatus",
    "Assessment",
    "AssessmentKind",
    "AssessmentTemplate",
    "Attendance",
    "AuditLog",
    "AvailabilityException",
    "Base",
    "BookingSource",
    "Channel",
    "Clinic",
    "ClinicAnswer",
    "ClinicLogo",
    "ClinicOwned",
    "ClinicPolicy",
    "Contact",
    "ContentTemplate",
    "Conversation",
    "CreditEntry",
    "CreditKind",
    "DocumentAccess",
    "DocumentCounter",
    "DocumentTag",
    "EmailPreference",
    "ExceptionKind",
    "Exercise",
    "ExerciseAssignment",
    "ExerciseOutcome",
    "ExerciseReply",
    "Goal",
    "GoalMeasure",
    "GoalStatus",
    "GoalTerm",
    "InboundMedia",
    "InboundMessage",
    "Invoice",
    "InvoiceLine",
    "InvoiceLineKind",
    "InvoiceStatus",
    "ItemKind",
    "LinkStatus",
    "Location",
    "MediaStatus",
    "MessageKind",
    "MessageSource",
    "MessageTemplate",
    "NotificationKind",
    "OutboundEmail",
    "OutboundMessage",
    "OutboundStatus",
    "Package",
    "Patient",
    "PatientDocument",
    "Payment",
    "PaymentAllocation",
    "PaymentLink",
    "PaymentMethod",
    "PaymentState",
    "PaymentStatus",
    "ProgressNote",
    "ProgressReport",
    "ProviderEvent",
    "RecordStatus",
    "Refund",
    "RefundStatus",
    "Relation",
    "RequesterType",
    "RescheduleRequest",
    "RescheduleStatus",
    "Role",
    "SenderNumber",
    "Service",
    "SessionRecord",
    "SettingsVersion",
    "StaffNotification",
    "StaffUser",
    "Therapist",
    "TherapistServiceOverride",
    "WaitlistEntry",
    "WaitlistStatus",
    "WeeklyHours",
    "WorkerHeartbeat",
]
