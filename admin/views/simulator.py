"""The chat simulator: staff chat with the real engine as a test contact of their clinic.

Messages go in through ``flows.receive`` (the one way in, as from Twilio) marked
``MessageSource.SIMULATOR``, from the staff user's fictional test number
(``services.messaging.simulator``). Whatever the clinic sends that number through the
outbox is never handed to a provider (``services.messaging.delivery``); it is shown here.
"""

from __future__ import annotations

import uuid

from flask import current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from admin.i18n import panel_lang
from admin.permissions import CREATE
from admin.views.access import Guarded, SessionPage, requires
from admin.views.conversations import transcript
from admin.views.current import current_clinic_id
from core.clock import utcnow
from core.formatting import format_phone, format_when
from core.public_links import links_for
from flows.receive import Delivery, receive
from models import Channel, Clinic, Conversation, MessageSource, SenderNumber
from services.messaging.delivery import deliver_due_to_simulator
from services.messaging.simulator import TEST_CONTACTS, simulator_phone

MAX_TEXT = 4096  # WhatsApp's body limit: the engine reads long messages (flows.engine)


class SimulatorForm(FlaskForm):
    text = StringField(_l("Message"), validators=[DataRequired(), Length(max=MAX_TEXT)])
    contact = IntegerField(validators=[NumberRange(1, TEST_CONTACTS)], default=1)


class SimulatorView(Guarded, SessionPage, BaseView):
    """Staff who may book (admin, operator) try the chat here; nothing reaches Twilio."""

    resource = "simulator"

    @expose("/")
    def index(self) -> str:
        slot = self._slot(request.args.get("contact"))
        clinic = self._clinic()
        phone = simulator_phone(current_user.id, slot)
        now = utcnow()
        # What the clinic queued for the test contact since (a staff reply, a notice):
        # settled now rather than at the next outbox sweep.
        deliver_due_to_simulator(self.session, clinic_id=clinic.id, phone=phone, now=now)
        conversation = self.session.scalar(
            select(Conversation)
            .options(joinedload(Conversation.contact))
            .where(
                Conversation.clinic_id == clinic.id,
                Conversation.channel == Channel.WHATSAPP,
                Conversation.phone == phone,
            )
        )
        entries = transcript(self.session, conversation, now=now)[0] if conversation else []
        form = SimulatorForm(contact=slot)
        return self.render(
            "admin/simulator.html",
            clinic=clinic,
            phone=format_phone(phone),
            slot=slot,
            slots=range(1, TEST_CONTACTS + 1),
            conversation=conversation,
            entries=entries,
            form=form,
            when=lambda value: format_when(value, clinic.timezone, panel_lang()),
        )

    @expose("/send", methods=("POST",))
    @requires(CREATE)
    def send(self) -> Response:
        form = SimulatorForm()
        slot = self._slot(request.form.get("contact"))
        if not form.validate_on_submit():
            for errors in form.errors.values():
                for error in errors:
                    flash(str(error), "error")
            return redirect(url_for(".index", contact=slot))
        clinic = self._clinic()
        phone = simulator_phone(current_user.id, slot)
        to = self.session.scalar(
            select(SenderNumber.address).where(
                SenderNumber.clinic_id == clinic.id, SenderNumber.channel == Channel.WHATSAPP
            )
        )
        now = utcnow()
        receive(
            self.session,
            clinic=clinic,
            delivery=Delivery(
                channel=Channel.WHATSAPP,
                source=MessageSource.SIMULATOR,
                sid=f"SIM{uuid.uuid4().hex}",
                from_phone=phone,
                to_address=to or "simulator",
                body=form.text.data or "",
            ),
            now=now,
            links=links_for(current_app.config["ROSHNI"], request.url_root),
        )
        return redirect(url_for(".index", contact=slot, _anchor="latest"))

    def _clinic(self) -> Clinic:
        clinic = self.session.get(Clinic, current_clinic_id())
        assert clinic is not None
        return clinic

    @staticmethod
    def _slot(raw: str | None) -> int:
        try:
            slot = int(raw or 1)
        except ValueError:
            return 1
        return slot if 1 <= slot <= TEST_CONTACTS else 1
