"""Who may do what in the staff panel: the roles matrix as data.

Every admin view names the ``resource`` it shows; ``admin.views.access.Guarded``
asks :func:`allowed` before a list, a form, an action, an export or a custom
page runs. The walker in ``tests/admin/test_roles.py`` reads the same table, so a row
changed here changes what the panel allows and what the test expects.

The issue's matrix, row by row (resource names in brackets):

| Resource                    | Admin | Operator            | Therapist              | Accountant |
|-----------------------------|-------|---------------------|------------------------|------------|
| Staff users, settings       | all   | –                   | own profile            | –          |
|   [staff, settings, profile]|       |                     |                        |            |
| Patients, contacts          | all   | all                 | read (own patients),   | read       |
|   [patients, conversations] |       |                     | clinical (own)         |            |
| Services, pricing [catalog] | all   | read                | read                   | read       |
| Availability [availability] | all   | all                 | own                    | read       |
| Appointments [appointments, | all   | create, read,update | read own, complete,    | read       |
|   reschedule_requests]      |       |                     | notes                  |            |
| Payments, refunds, packages | all   | read, record, remind| read                   | all        |
|   [payments]                |       |                     |                        |            |
| Reports [reports]           | all   | basic               | own stats              | financial  |

A superadmin belongs to no clinic: it manages clinics and their staff and reads
the audit log, and sees no clinic's patients, bookings or money.

Verbs are plain words. ``read``, ``create``, ``update``, ``delete`` and
``export`` (CSV) are the model-view verbs; an action or page names its own verb
(``complete``, ``refund``, ``record``…). :data:`IMPLIED_BY` says which
broader grant covers a narrower verb: an operator's ``update`` on appointments
covers ``confirm``, ``cancel`` and ``complete``, while a therapist holds
``complete`` alone; ``notes`` (progress notes, clinical), ``clinical`` (a patient's
goals and records), ``export_data`` and
``erase`` (a contact's data rights) are implied by nothing.
``*`` grants every verb. :data:`OWN` in a role's grants limits that role to its
own rows (a therapist's patients, sessions, hours).
"""

from __future__ import annotations

from collections.abc import Mapping

from models import PaymentMethod, Role

ALL = "*"
OWN = "own"  # not a verb: "only the rows that are the user's own"

READ = "read"
CREATE = "create"
UPDATE = "update"
DELETE = "delete"
EXPORT = "export"
CRUD = frozenset({READ, CREATE, UPDATE, DELETE})
BASE_VERBS = CRUD | {EXPORT}

SUPERADMIN, ADMIN, OPERATOR, THERAPIST, ACCOUNTANT = (
    Role.SUPERADMIN,
    Role.ADMIN,
    Role.OPERATOR,
    Role.THERAPIST,
    Role.ACCOUNTANT,
)
CLINIC_ROLES = frozenset({ADMIN, OPERATOR, THERAPIST, ACCOUNTANT})


def _grants(**by_role: set[str] | frozenset[str]) -> dict[Role, frozenset[str]]:
    return {Role(name): frozenset(verbs) for name, verbs in by_role.items()}


MATRIX: Mapping[str, Mapping[Role, frozenset[str]]] = {
    # The home page every signed-in user lands on; what it shows comes from "reports".
    "home": _grants(
        superadmin={READ}, admin={READ}, operator={READ}, therapist={READ}, accountant={READ}
    ),
    # Reports: "basic" is the front desk's day and week, "financial" revenue and dues;
    # a therapist's reports are their own (OWN).
    "reports": _grants(
        admin={ALL},
        operator={READ, "basic"},
        therapist={READ, OWN},
        accountant={READ, "financial"},
    ),
    # One's own name, password and second factor. The matrix grants therapists their
    # own profile; operators and accountants need to change their own password too,
    # which shows nobody else's data.
    "profile": _grants(
        superadmin={READ, UPDATE},
        admin={READ, UPDATE},
        operator={READ, UPDATE},
        therapist={READ, UPDATE},
        accountant={READ, UPDATE},
    ),
    # Staff accounts: a clinic's admin for its clinic, the superadmin for all.
    "staff": _grants(superadmin={ALL}, admin={ALL}),
    # Clinics: only the superadmin creates one; an admin edits their own (settings).
    "clinics": _grants(superadmin={ALL}, admin={READ, UPDATE}),
    # The clinic's settings: policies, message templates, locations, credentials.
    "settings": _grants(admin={ALL}),
    "audit": _grants(superadmin={READ}, admin={READ}),
    "patients": _grants(
        admin={ALL},
        operator=CRUD,  # "all" at the desk; bulk export is for admin and accountant
        therapist={READ, "clinical", OWN},
        accountant={READ, EXPORT},
    ),
    # Chats, transcripts and the message log are the contacts' data. Therapists are
    # not on the chat desk: a transcript is not scoped to one therapist's patients.
    "conversations": _grants(admin={ALL}, operator=CRUD, accountant={READ}),
    # The chat simulator: trying the bot as a test contact of the clinic.
    "simulator": _grants(admin={ALL}, operator={READ, CREATE}),
    # Services, prices, therapists, therapist prices.
    "catalog": _grants(admin={ALL}, operator={READ}, therapist={READ}, accountant={READ}),
    "availability": _grants(admin={ALL}, operator=CRUD, therapist=CRUD | {OWN}, accountant={READ}),
    "appointments": _grants(
        admin={ALL},
        operator={READ, CREATE, UPDATE},
        therapist={READ, "complete", "notes", OWN},
        accountant={READ, EXPORT},
    ),
    # Approving or rejecting is an update; a therapist asks for their own sessions.
    "reschedule_requests": _grants(
        admin={ALL},
        operator={READ, CREATE, UPDATE},
        therapist={READ, CREATE, OWN},
        accountant={READ},
    ),
    # Payments, refunds, invoices, packages, dues. A therapist reads their own
    # patients' (a payment names its patient). An operator records every kind of money
    # the desk takes (RECORDED_METHODS) and reminds a contact of their dues; refunds,
    # voids and package sales are for accountants and admins.
    "payments": _grants(
        admin={ALL},
        operator={READ, "record", "remind"},
        therapist={READ, OWN},
        accountant={ALL},
    ),
}

# A narrower verb is granted by the broader one named here (looked up repeatedly:
# "record" <- "create"); None: only that verb itself, or "*". Any
# other verb that is not a base verb (an action such as "confirm", "cancel",
# "retry", "refund", "sell") is an update.
IMPLIED_BY: Mapping[str, str | None] = {
    "record": CREATE,
    "basic": None,
    "financial": None,
    # Progress notes are clinical records: the session's therapist and the admin write
    # and read them; the desk's "update" on appointments does not reach them.
    "notes": None,
    # A patient's clinical page (goals, their measures, the session records): the same
    # people as notes, for the patient as a whole.
    "clinical": None,
    # Data rights (services.privacy.data_export, services.privacy.erasure): the whole record of a
    # contact, or its erasure, is the admin's alone; no desk grant reaches them.
    "export_data": None,
    "erase": None,
}


# What "record" on payments lets staff record by hand: every kind of money the desk
# takes. Online payments and package credit are recorded by the system (a Razorpay
# capture, a session drawn from credit), never typed in.
RECORDED_METHODS: tuple[PaymentMethod, ...] = (
    PaymentMethod.CASH,
    PaymentMethod.UPI,
    PaymentMethod.CARD,
    PaymentMethod.BANK_TRANSFER,
)


def grants(resource: str, role: Role | None) -> frozenset[str]:
    """What ``role`` holds on ``resource`` (empty for an unknown resource or no role)."""
    if role is None:
        return frozenset()
    return MATRIX.get(resource, {}).get(role, frozenset())


def allowed(resource: str, role: Role | None, verb: str) -> bool:
    """May ``role`` do ``verb`` on ``resource``? Unknown resources allow nothing."""
    held = grants(resource, role)
    if ALL in held:
        return True
    seen: set[str] = set()
    current: str | None = verb
    while current is not None and current not in seen:
        if current in held:
            return True
        seen.add(current)
        if current in IMPLIED_BY:
            current = IMPLIED_BY[current]
        else:
            current = None if current in BASE_VERBS else UPDATE
    return False


def own_only(resource: str, role: Role | None) -> bool:
    """True when ``role`` sees only its own rows of ``resource``."""
    return OWN in grants(resource, role)


def roles_allowed(resource: str, verb: str) -> frozenset[Role]:
    return frozenset(role for role in Role if allowed(resource, role, verb))
