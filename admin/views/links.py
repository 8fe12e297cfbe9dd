"""Links to other pages of the panel, shown only to those the target page lets in.

``may_open("payment.refund")`` asks the target view's own guard
(``admin.views.access.may_open``: ``Guarded.allowed`` with the route's declared verb),
so a link and the page it opens can never disagree: the matrix is read in one place.
Templates get it as the Jinja global ``may_open``; row actions below use it too.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_admin.model.template import EndpointLinkRowAction

from admin.views import access
from admin.views.current import current_clinic_id
from models import AppointmentStatus, InvoiceStatus, Payment, PaymentState
from services.billing.credits import credit_balance
from services.billing.payments import session_payments


def may_open(endpoint: str) -> bool:
    """Would the signed-in user be let into ``endpoint`` ("view endpoint.route name")?"""
    views = [view for panel in current_app.extensions.get("admin", []) for view in panel._views]
    return access.may_open(views, endpoint)


def session_receipts(view: Any, appointment: Any) -> list[Payment]:
    """The receipted payments for a session, for its details page; none for those the
    receipt page would refuse."""
    if not may_open("payment.receipt"):
        return []
    paid = session_payments(view.session, current_clinic_id(), appointment.id)
    return [payment for payment in paid if payment.receipt_number is not None]


def session_credit(view: Any, appointment: Any) -> int:
    """Package-credit sessions that could pay this session (0 when it needs none, or the
    user may not draw on credit)."""
    if (
        appointment.status is AppointmentStatus.CANCELLED
        or appointment.payment_status.settled
        or not appointment.price_minor
        or not may_open("payment.pay_from_credit")
    ):
        return 0
    return credit_balance(view.session, appointment.patient_id, appointment.service_id)


def init_app(app: Any) -> None:
    app.jinja_env.globals.update(
        may_open=may_open, session_receipts=session_receipts, session_credit=session_credit
    )


class LinkRowAction(EndpointLinkRowAction):
    """A row's link to ``endpoint`` for rows ``applies(row)`` and users who may open it."""

    def __init__(self, icon: str, endpoint: str, title: str, id_arg: str) -> None:
        super().__init__(icon, endpoint, title=title, id_arg=id_arg)
        self.target = endpoint

    def applies(self, row: Any) -> bool:
        return True

    def render(self, context: Any, row_id: str, row: Any) -> Any:
        if not (self.applies(row) and may_open(self.target)):
            return ""
        return super().render(context, row_id, row)


class RefundRowAction(LinkRowAction):
    def __init__(self) -> None:
        super().__init__("fa fa-undo", "payment.refund", "Refund", "payment_id")

    def applies(self, row: Any) -> bool:
        return row.status is PaymentState.RECEIVED


class ReceiptRowAction(LinkRowAction):
    def __init__(self) -> None:
        super().__init__("fa fa-file-pdf-o", "payment.receipt", "Receipt (PDF)", "payment_id")

    def applies(self, row: Any) -> bool:
        return row.receipt_number is not None


class VoidRowAction(LinkRowAction):
    def __init__(self) -> None:
        super().__init__("fa fa-ban", "invoice.void", "Void", "invoice_id")

    def applies(self, row: Any) -> bool:
        return row.status is InvoiceStatus.ISSUED
