"""A contact's email in the panel: the address, how they want the clinic's messages
(chat, email, or both), and whether the address bounced or they unsubscribed.

A mixin for ``ContactView`` (``/admin/contact/email/?id=…``); the change goes through
``services.people.contact_email.set_contact_email``, which checks the address, starts a
new one clean and audits it. Front-desk roles that may edit a contact may set it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.fields import BooleanField, SelectField, StringField
from wtforms.validators import Length

from admin.permissions import UPDATE
from admin.views.access import requires
from admin.views.current import current_clinic_id, staff_actor
from admin.views.refusals import refused_as_flash
from core.formatting import format_phone
from core.ids import parse_id
from models import Contact, EmailPreference
from services.people.contact_email import set_contact_email

PREFERENCES = [
    (EmailPreference.CHAT.value, _l("In the chat only")),
    (EmailPreference.EMAIL.value, _l("By email instead of the chat")),
    (EmailPreference.BOTH.value, _l("By email and in the chat")),
]


class ContactEmailForm(FlaskForm):
    email = StringField(_l("Email address"), validators=[Length(max=254)])
    preference = SelectField(
        _l("Confirmations, receipts and statements"),
        choices=PREFERENCES,
        default=EmailPreference.CHAT.value,
    )
    clear_bounce = BooleanField(_l("The address works again: send to it again"))


class ContactEmailMixin:
    """``email_view`` for the contact view."""

    # Provided by the view this is mixed into (annotations only: nothing is shadowed).
    session: Any
    get_query: Callable[[], Any]
    render: Callable[..., Any]

    @expose("/email/", methods=("GET", "POST"))
    @requires(UPDATE)
    def email_view(self) -> Any:
        key = parse_id(request.args.get("id"))
        contact = (
            self.get_query().filter(Contact.id == key).one_or_none() if key is not None else None
        )
        if contact is None or contact.erased_at is not None:
            abort(404)
        back = url_for(".details_view", id=contact.id)
        form = ContactEmailForm(
            data={"email": contact.email or "", "preference": contact.email_preference.value}
        )
        if request.method == "POST":
            form = ContactEmailForm()
        if form.validate_on_submit():
            with refused_as_flash(self.session) as outcome:
                set_contact_email(
                    self.session,
                    clinic_id=current_clinic_id(),
                    contact_id=contact.id,
                    email=form.email.data,
                    preference=EmailPreference(form.preference.data),
                    actor=staff_actor(),
                    clear_bounce=bool(form.clear_bounce.data),
                )
            if outcome.ok:
                flash(_("Email settings saved."), "success")
                return redirect(back)
        return self.render(
            "admin/contact_email.html",
            form=form,
            contact=contact,
            phone=format_phone(contact.phone),
            email_on=current_app.config["ROSHNI"].smtp is not None,
            back=back,
        )
