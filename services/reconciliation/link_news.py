"""What every payment provider's sync does with a link row, whoever collects it:
claim it before asking the provider to make it, finish it when that cannot be done,
and apply the provider's news (billing records it, then the booking follows).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from core.db import write_transaction
from models import LinkStatus, PaymentLink
from services.billing import payments
from services.billing.payments import ProviderPayment
from services.reconciliation import late_payments
from services.scheduling import holds

MAX_ATTEMPTS = 5


def of_clinic(column: Any, clinic_id: int | None) -> tuple[ColumnElement[bool], ...]:
    return () if clinic_id is None else (column == clinic_id,)


def take_link_news(
    session: Session,
    link: PaymentLink,
    *,
    status: str,
    amount_paid_minor: int,
    reported: list[ProviderPayment],
    now: datetime,
) -> None:
    """The provider's view of a link: billing records it, then the booking follows:
    released when the link ended unpaid, booked again when a payment came after its
    release."""
    newly_paid = payments.apply_link(
        session,
        link,
        status=status,
        amount_paid_minor=amount_paid_minor,
        payments=reported,
        now=now,
    )
    holds.release_for_link(session, link, now=now)
    if newly_paid:
        late_payments.settle_late_payment(session, link, now=now)


def claim_link(session: Session, link_id: int) -> bool:
    """Bump attempts only if still pending, so two workers never both create it."""
    with write_transaction(session):
        return bool(
            session.execute(
                update(PaymentLink)
                .where(PaymentLink.id == link_id, PaymentLink.status == LinkStatus.PENDING)
                .where(PaymentLink.attempts < MAX_ATTEMPTS)
                .values(attempts=PaymentLink.attempts + 1)
            ).rowcount
        )


def locked_link(session: Session, link_id: int) -> PaymentLink | None:
    return session.scalar(select(PaymentLink).where(PaymentLink.id == link_id).with_for_update())


def note_error(session: Session, link_id: int, message: str) -> None:
    """A provider that could not be reached: the link stays pending for the next run."""
    with write_transaction(session):
        session.execute(
            update(PaymentLink).where(PaymentLink.id == link_id).values(last_error=message[:300])
        )


def finish_link(
    session: Session, link_id: int, status: LinkStatus, reason: str, now: datetime
) -> None:
    with write_transaction(session):
        link = locked_link(session, link_id)
        assert link is not None
        link.status = status
        link.last_error = reason[:300]
        if status is LinkStatus.FAILED:
            holds.drop_hold(session, link.appointment_id)
        else:
            holds.release_hold(session, link.appointment_id, now=now)
