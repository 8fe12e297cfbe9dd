"""What billing puts in an email: the receipt's PDF for a receipt email (the same PDF
as the receipt link, ``billing_documents.receipt_pdf``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from models import OutboundEmail, Payment, PaymentState
from services.billing.billing_documents import receipt_pdf


def attachments(session: Session, email: OutboundEmail) -> Sequence[tuple[str, bytes]]:
    if email.payment_id is None:
        return ()
    payment = session.get(Payment, email.payment_id)
    if payment is None or payment.status is not PaymentState.RECEIVED:
        return ()
    return [(f"receipt-{payment.receipt_number or payment.id}.pdf", receipt_pdf(session, payment))]
