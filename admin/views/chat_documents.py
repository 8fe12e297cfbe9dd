"""Filing a chat attachment to a patient's documents, from the conversation view.

A mixin for ``ConversationsView``. Under each fetched attachment of a document type (by
the chat's type here; the service checks the bytes again) the transcript shows where it
is filed already ("Filed to <patient>'s documents", a link to the clinical page) and,
to those who may, a small form: which of the chat contact's patients, the kind, who may
open it. Filing needs the "clinical" verb (the admin; therapists are not on the chat
desk, and the service asks again that the author is one of the patient's clinicians);
the front desk sees the conversation, not the form, and a POST from it is refused.
Another clinic's or another chat's attachment, or a patient who is not the contact's, is
a 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import abort, current_app, flash, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields import SelectField

from admin.views.access import requires
from admin.views.current import current_clinic_id, staff_actor
from admin.views.documents import kind_and_access
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.storage import media_store
from models import Conversation, DocumentAccess, DocumentTag, InboundMedia, InboundMessage, Patient
from services.clinical import chat_documents
from services.clinical.document_files import ACCEPTED_TYPES
from services.errors import NotFound

CLINICAL = "clinical"


class FileForm(FlaskForm):
    patient_id = SelectField(_l("Patient"), coerce=int, validate_choice=False)
    tag, access = kind_and_access()


def prefix(media_id: int) -> str:
    """One form per attachment on the page: the prefix keeps their fields apart."""
    return f"file{media_id}"


class ChatDocumentsMixin:
    session: Any
    allowed: Callable[[str], bool]
    may_open: Callable[[str], bool]

    def chat_filing(self, conversation: Conversation, attachments: Iterable[Any]) -> dict[int, Any]:
        """For each fetched attachment that may be a document: where it is filed, and the
        form (for those who may file, while a patient of the contact is left)."""
        ids = [a.id for a in attachments if a.served and a.content_type in ACCEPTED_TYPES]
        if not ids:
            return {}
        clinic_id = current_clinic_id()
        filed = chat_documents.filed_from_chat(self.session, clinic_id, ids)
        patients = self._contact_patients(conversation)
        names = {p.id: p.name for p in patients}
        may_file = self.allowed(CLINICAL)
        may_open = self.may_open("patient.clinical_view")
        shown: dict[int, Any] = {}
        for media_id in ids:
            done = filed.get(media_id, {})
            left = [p for p in patients if p.id not in done]
            form = None
            if may_file and left:
                form = FileForm(formdata=None, prefix=prefix(media_id))
                form.patient_id.choices = [(p.id, p.name) for p in left]
            shown[media_id] = {
                "filed": [
                    {
                        "name": names.get(patient_id, ""),
                        "url": url_for(
                            "patient.clinical_view", patient_id=patient_id, _anchor="documents"
                        )
                        if may_open
                        else "",
                    }
                    for patient_id in sorted(done)
                ],
                "form": form,
                "action": url_for(
                    ".file_attachment", conversation_id=conversation.id, media_id=media_id
                ),
            }
        return shown

    @expose("/<int:conversation_id>/media/<int:media_id>/file", methods=("POST",))
    @requires(CLINICAL)
    def file_attachment(self, conversation_id: int, media_id: int) -> Response:
        clinic_id = current_clinic_id()
        found = self.session.scalar(
            select(InboundMedia.id)
            .join(InboundMessage, InboundMessage.id == InboundMedia.message_id)
            .join(Conversation, Conversation.id == InboundMessage.conversation_id)
            .where(
                InboundMedia.id == media_id,
                InboundMedia.clinic_id == clinic_id,
                Conversation.id == conversation_id,
                Conversation.clinic_id == clinic_id,
            )
        )
        if found is None:
            abort(404)
        back = url_for(".transcript_view", conversation_id=conversation_id)
        form = FileForm(prefix=prefix(media_id))
        if not form.validate_on_submit() or not form.patient_id.data:
            flash(_("The form expired; please try again."), "error")
            return redirect(back)
        with refused_as_flash(self.session) as outcome:
            try:
                document = chat_documents.file_from_chat(
                    self.session,
                    media_store(current_app.config["ROSHNI"]),
                    clinic_id=clinic_id,
                    media_id=media_id,
                    patient_id=form.patient_id.data,
                    tag=DocumentTag(form.tag.data),
                    access=DocumentAccess(form.access.data),
                    now=utcnow(),
                    actor=staff_actor(),
                    author_id=current_user.id,
                )
            except NotFound:
                self.session.rollback()
                abort(404)
        if outcome.ok:
            patient = self.session.get(Patient, document.patient_id)
            flash(
                _("Filed to %(name)s's documents.", name=patient.name if patient else ""),
                "success",
            )
        return redirect(back)

    def _contact_patients(self, conversation: Conversation) -> list[Patient]:
        if conversation.contact_id is None:
            return []
        return list(
            self.session.scalars(
                select(Patient)
                .where(
                    Patient.clinic_id == current_clinic_id(),
                    Patient.contact_id == conversation.contact_id,
                )
                .order_by(Patient.name, Patient.id)
            )
        )
