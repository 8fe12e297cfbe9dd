"""Assessment templates: the structured items an assessment of each therapy type asks for.

Every clinic starts with the defaults below (speech, occupational, physiotherapy: the
specializations its services and therapists carry); its admin may save the clinic's own
copy for a therapy type, which new assessments then use. An assessment copies the items
when it is started (``services.clinical.assessments``), so an edit here never changes one
already written. Template edits are settings, audited in full (no patient data in them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import require_aware
from core.db import write_transaction
from models import AssessmentTemplate, ItemKind, Role, Service, StaffUser, Therapist
from services import audit
from services.audit import Actor
from services.clinical.notes import NoteRefused
from services.errors import N_, InvalidInput

LABEL_MAX = 80
ITEMS_MAX = 40


@dataclass(frozen=True)
class TemplateItem:
    label: str
    kind: ItemKind
    low: float | None = None  # a score's range, when it has one
    high: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "kind": self.kind.value, "min": self.low, "max": self.high}


def _score(label: str, low: float | None = None, high: float | None = None) -> TemplateItem:
    return TemplateItem(label, ItemKind.SCORE, low, high)


def _text(label: str) -> TemplateItem:
    return TemplateItem(label, ItemKind.TEXT)


# The templates every clinic starts with, by therapy type (the specializations services
# and therapists carry). Data, not panel words: they are copied into assessments as
# written, so they stay in English here and a clinic edits its own copy.
DEFAULT_TEMPLATES: dict[str, tuple[TemplateItem, ...]] = {
    "speech": (
        _text("Oral motor examination"),
        _text("Articulation"),
        _score("Speech intelligibility (percent)", 0, 100),
        _text("Receptive language"),
        _text("Expressive language"),
        _text("Fluency"),
        _text("Voice"),
        _text("Pragmatics and social communication"),
        _text("Standardised tests used"),
    ),
    "occupational": (
        _text("Fine motor"),
        _text("Gross motor"),
        _text("Sensory processing"),
        _text("Visual perception"),
        _text("Activities of daily living (ADLs)"),
        _text("Handwriting"),
        _text("Attention and behaviour"),
        _text("Standardised tests used"),
    ),
    "physiotherapy": (
        _score("Pain score", 0, 10),
        _score("Range of motion (degrees)", 0, 360),
        _text("Range of motion: joints and notes"),
        _score("Muscle strength (MRC grade)", 0, 5),
        _text("Gait"),
        _text("Balance"),
        _text("Posture"),
        _text("Functional mobility"),
        _text("Standardised tests used"),
    ),
}


def therapy_types(session: Session, clinic_id: int) -> list[str]:
    """The clinic's therapy types: its services' and therapists' specializations."""
    found = set(
        session.scalars(select(Service.specialization).where(Service.clinic_id == clinic_id))
    ) | set(
        session.scalars(select(Therapist.specialization).where(Therapist.clinic_id == clinic_id))
    )
    return sorted(found)


def template_for(session: Session, clinic_id: int, therapy_type: str) -> list[TemplateItem]:
    """The clinic's own template for the therapy type, else the default (none: no items)."""
    own = session.scalar(
        select(AssessmentTemplate.items).where(
            AssessmentTemplate.clinic_id == clinic_id,
            AssessmentTemplate.therapy_type == therapy_type,
        )
    )
    if own is None:
        return list(DEFAULT_TEMPLATES.get(therapy_type, ()))
    return [TemplateItem(i["label"], ItemKind(i["kind"]), i.get("min"), i.get("max")) for i in own]


def has_own_template(session: Session, clinic_id: int, therapy_type: str) -> bool:
    return (
        session.scalar(
            select(AssessmentTemplate.id).where(
                AssessmentTemplate.clinic_id == clinic_id,
                AssessmentTemplate.therapy_type == therapy_type,
            )
        )
        is not None
    )


def template_lines(items: Sequence[TemplateItem]) -> str:
    """The template as the editor shows it: one item a line, "Pain score | score | 0 | 10"."""
    lines = []
    for item in items:
        parts = [item.label, item.kind.value]
        if item.low is not None or item.high is not None:
            parts += [number(item.low), number(item.high)]
        lines.append(" | ".join(parts).rstrip(" |"))
    return "\n".join(lines)


def parse_template_lines(text: str) -> list[TemplateItem]:
    """The editor's lines as items: "Label | score | min | max" or "Label | text" (a line
    without a kind is text). Refused with the line's number when a line does not read."""
    items: list[TemplateItem] = []
    seen: set[str] = set()
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        label, kind_word = parts[0], (parts[1].lower() if len(parts) > 1 else "text")
        if not label or len(label) > LABEL_MAX:
            raise InvalidInput(
                N_("Line %(line)s: a label of 1 to %(most)s characters comes first."),
                line=number,
                most=LABEL_MAX,
            )
        if kind_word not in ItemKind._value2member_map_:
            raise InvalidInput(N_("Line %(line)s: the kind is score or text."), line=number)
        kind = ItemKind(kind_word)
        bounds = parts[2:]
        if kind is ItemKind.TEXT and any(bounds):
            raise InvalidInput(N_("Line %(line)s: only a score has a range."), line=number)
        try:
            low, high = (float(b) if b else None for b in [*bounds, "", ""][:2])
        except ValueError:
            raise InvalidInput(
                N_("Line %(line)s: a score's lowest and highest values are numbers."),
                line=number,
            ) from None
        if len(bounds) > 2 or (low is not None and high is not None and low >= high):
            raise InvalidInput(
                N_("Line %(line)s: a score's range is its lowest value, then its highest."),
                line=number,
            )
        if label.casefold() in seen:
            raise InvalidInput(N_("Line %(line)s: that label is already used."), line=number)
        seen.add(label.casefold())
        items.append(TemplateItem(label, kind, low, high))
    if not items:
        raise InvalidInput(detail=N_("A template needs at least one item."))
    if len(items) > ITEMS_MAX:
        raise InvalidInput(
            N_("A template can have up to %(most)s items; this one has %(count)s."),
            most=ITEMS_MAX,
            count=len(items),
        )
    return items


def save_template(
    session: Session,
    *,
    clinic_id: int,
    therapy_type: str,
    items: Sequence[TemplateItem],
    now: datetime,
    actor: Actor,
    author_id: int,
) -> AssessmentTemplate:
    """The clinic's own template for the therapy type (created on first save); only the
    clinic's admin edits it. Assessments already started keep the items they had."""
    now = require_aware(now, "now").astimezone(UTC)
    if not items:
        raise InvalidInput(detail=N_("A template needs at least one item."))
    author = session.get(StaffUser, author_id)
    if (
        author is None
        or not author.active
        or author.clinic_id != clinic_id
        or author.role is not Role.ADMIN
        or (actor.is_staff and actor.id != author_id)
    ):
        raise NoteRefused(detail=N_("Only the clinic's admin edits assessment templates."))
    if therapy_type not in therapy_types(session, clinic_id):
        raise InvalidInput(detail=N_("Please choose one of the clinic's therapy types."))
    wanted = [item.as_json() for item in items]
    with write_transaction(session):
        template = session.scalar(
            select(AssessmentTemplate)
            .where(
                AssessmentTemplate.clinic_id == clinic_id,
                AssessmentTemplate.therapy_type == therapy_type,
            )
            .with_for_update()
        )
        before = None if template is None else list(template.items)
        if template is None:
            template = AssessmentTemplate(
                clinic_id=clinic_id, therapy_type=therapy_type, created_at=now
            )
            session.add(template)
        if before != wanted:
            template.items = wanted
            template.updated_at = now
            session.flush()
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="assessment_template.save",
                entity=template,
                before=None if before is None else {"items": before},
                after={"therapy_type": therapy_type, "items": wanted},
            )
    return template


def number(value: float | None) -> str:
    """A score or bound as written: 10, not 10.0."""
    return "" if value is None else f"{value:g}"
