"""A patient's documents in the panel: the "Documents" section of the clinical page
(``admin/_patient_documents.html``), its upload and delete forms, and the download.

A mixin for ``PatientView``, next to ``ClinicalMixin``. Uploading and deleting need the
matrix's "clinical" verb on patients (the admin and the patient's therapists; the service
asks again: ``services.clinical.documents``). The download needs only "read" on patients,
so a document uploaded for all staff reaches the front desk and the accountant too; a
clinical one is refused to them (403), and the service audits every access. The download
answers with a redirect to a link valid for a few minutes (``core.storage.download_link``):
a bucket's presigned GET, or this view's ``document_file`` route with a signed token for
the local file storage (for the staff member and clinic it was made for; expired,
tampered or for a document deleted since: a page saying so).
Every id is looked up within the patient (the view's scoped query: the clinic's, and a
therapist's own patients), so another clinic's or another patient's document is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms.fields import SelectField

from admin.i18n import panel_lang
from admin.views.access import requires
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.formatting import format_when
from core.storage import (
    LinkRefused,
    StorageError,
    attachment,
    download_link,
    media_store,
    read_token,
)
from models import DocumentAccess, DocumentTag, Patient
from services.clinical import documents
from services.clinical.document_files import LARGEST_DOCUMENT_BYTES, document_limit
from services.clinical.documents import DocumentMissing, DocumentRefused
from services.errors import NotFound

CLINICAL = "clinical"
UPLOAD_ENDPOINT = "patient.documents_upload"
LINK_PURPOSE = "document"
# Room for the form's other fields and the multipart framing around the file.
UPLOAD_OVERHEAD = 64 * 1024

TAG_LABELS = {
    DocumentTag.REFERRAL: _l("Referral letter"),
    DocumentTag.PRIOR_REPORT: _l("Prior report"),
    DocumentTag.CONSENT: _l("Consent form"),
    DocumentTag.SCHOOL_REPORT: _l("School report"),
    DocumentTag.OTHER: _l("Other"),
}
ACCESS_LABELS = {
    DocumentAccess.CLINICAL: _l("Clinical: the admin and the patient's therapists"),
    DocumentAccess.ALL_STAFF: _l("All staff: the front desk and the accountant too"),
}


def kind_and_access() -> tuple[SelectField, SelectField]:
    """A document's kind and who may open it: the fields every way of filing one asks
    (made where they are used, so they follow that form's own first fields)."""
    return (
        SelectField(
            _l("Kind"),
            choices=[(tag.value, label) for tag, label in TAG_LABELS.items()],
            default=DocumentTag.OTHER.value,
        ),
        SelectField(
            _l("Who may open it"),
            choices=[(level.value, label) for level, label in ACCESS_LABELS.items()],
            default=DocumentAccess.CLINICAL.value,
        ),
    )


class DocumentForm(FlaskForm):
    file = FileField(_l("File"))  # its description names the clinic's limit
    tag, access = kind_and_access()


def allow_document_uploads(app: Flask) -> None:
    """The app's request limit is 1 MB; the upload route takes the largest a clinic may
    allow (the service holds each clinic to its own). Set before any hook reads the form
    (URL value preprocessors run before them)."""

    @app.url_value_preprocessor
    def _document_upload_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
        if endpoint == UPLOAD_ENDPOINT:
            request.max_content_length = LARGEST_DOCUMENT_BYTES + UPLOAD_OVERHEAD


class DocumentsMixin:
    """The documents routes for the patients' model view (``get_query`` scopes it)."""

    session: Any
    get_query: Callable[[], Any]
    allowed: Callable[[str], bool]

    def documents_section(self, patient: Patient) -> dict[str, Any]:
        """What ``_patient_documents.html`` shows (called from the clinical page)."""
        zone, lang = current_timezone(), panel_lang()
        listed = documents.documents_for_patient(
            self.session,
            clinic_id=current_clinic_id(),
            patient_id=patient.id,
            reader_id=current_user.id,
        )
        form = DocumentForm(formdata=None)
        limit = document_limit(self.session, current_clinic_id())
        form.file.description = _(
            "PDF, JPEG, PNG, HEIC or MP4, up to %(mb)s MB.", mb=limit // (1024 * 1024)
        )
        return {
            "form": form,
            "may_change": self.allowed(CLINICAL),
            "rows": [
                {
                    "id": d.id,
                    "name": d.file_name,
                    "tag": TAG_LABELS[d.tag],
                    "all_staff": d.access is DocumentAccess.ALL_STAFF,
                    "size": _size(d.size_bytes),
                    "by": d.uploaded_by.name if d.uploaded_by else "",
                    "when": format_when(d.created_at, zone, lang),
                    "url": url_for(".document_download", patient_id=patient.id, document_id=d.id),
                    "delete_url": url_for(
                        ".documents_delete", patient_id=patient.id, document_id=d.id
                    ),
                }
                for d in listed
            ],
        }

    def _document_patient(self, patient_id: int) -> Patient:
        patient = self.get_query().filter(Patient.id == patient_id).one_or_none()
        if patient is None:
            abort(404)
        return patient

    @expose("/clinical/<int:patient_id>/documents", methods=("POST",))
    @requires(CLINICAL)
    def documents_upload(self, patient_id: int) -> Any:
        patient = self._document_patient(patient_id)
        back = url_for(".clinical_view", patient_id=patient.id, _anchor="documents")
        form = DocumentForm()
        if not form.validate_on_submit():
            flash(_("The form expired; please try again."), "error")
            return redirect(back)
        sent = form.file.data
        if sent is None or not getattr(sent, "filename", None):
            flash(_("Please choose a file to upload."), "error")
            return redirect(back)
        # One byte past the limit is enough to refuse it; nothing is stored before that.
        limit = document_limit(self.session, current_clinic_id())
        data = sent.read(limit + 1)
        if len(data) > limit:
            data += sent.read()  # the size in the refusal is the whole file's
        with refused_as_flash(self.session) as outcome:
            documents.upload_document(
                self.session,
                media_store(current_app.config["ROSHNI"]),
                clinic_id=current_clinic_id(),
                patient_id=patient.id,
                data=data,
                file_name=sent.filename,
                tag=DocumentTag(form.tag.data),
                access=DocumentAccess(form.access.data),
                now=utcnow(),
                actor=staff_actor(),
                author_id=current_user.id,
            )
        if outcome.ok:
            flash(_("Document uploaded."), "success")
        return redirect(back)

    @expose("/clinical/<int:patient_id>/documents/<int:document_id>/delete", methods=("POST",))
    @requires(CLINICAL)
    def documents_delete(self, patient_id: int, document_id: int) -> Any:
        patient = self._document_patient(patient_id)
        if not FlaskForm().validate_on_submit():
            flash(_("The form expired; please try again."), "error")
            return redirect(url_for(".clinical_view", patient_id=patient.id))
        with refused_as_flash(self.session) as outcome:
            try:
                documents.delete_document(
                    self.session,
                    clinic_id=current_clinic_id(),
                    patient_id=patient.id,
                    document_id=document_id,
                    now=utcnow(),
                    actor=staff_actor(),
                    author_id=current_user.id,
                )
            except NotFound:
                abort(404)
        if outcome.ok:
            flash(_("Document deleted."), "success")
        return redirect(url_for(".clinical_view", patient_id=patient.id, _anchor="documents"))

    @expose("/document/<int:patient_id>/<int:document_id>")
    def document_download(self, patient_id: int, document_id: int) -> Response:
        """To staff who may open the document (audited): a redirect to a link to its file
        valid for a few minutes (``core.storage.download_link``)."""
        patient = self._document_patient(patient_id)
        config = current_app.config["ROSHNI"]
        clinic_id = current_clinic_id()
        try:
            document = documents.grant_document(
                self.session,
                clinic_id=clinic_id,
                patient_id=patient.id,
                document_id=document_id,
                now=utcnow(),
                actor=staff_actor(),
                reader_id=current_user.id,
            )
        except NotFound:
            self.session.rollback()
            abort(404)
        except DocumentRefused:
            self.session.rollback()
            abort(403)
        key = document.storage_key or ""
        try:
            link = download_link(
                config,
                media_store(config),
                key=key,
                file_name=document.file_name,
                content_type=document.content_type,
                purpose=LINK_PURPOSE,
                payload={"c": clinic_id, "d": document.id, "k": key, "s": current_user.id},
                local_url=lambda token: url_for(".document_file", token=token),
            )
        except StorageError:
            abort(503)
        response = redirect(link)
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @expose("/document/file/<token>")
    def document_file(self, token: str) -> Any:
        """The file a link from ``document_download`` names, to the staff member it was
        made for, while it lasts (the local file storage; a bucket serves its own)."""
        config = current_app.config["ROSHNI"]
        try:
            payload = read_token(config, token, purpose=LINK_PURPOSE)
        except LinkRefused as refused:
            return self._link_refused(expired=refused.expired)
        if payload.get("c") != current_clinic_id() or payload.get("s") != current_user.id:
            return self._link_refused(expired=False, code=403)
        try:
            opened = documents.linked_document(
                self.session,
                media_store(config),
                clinic_id=current_clinic_id(),
                document_id=int(payload.get("d") or 0),
                storage_key=str(payload.get("k") or ""),
            )
        except NotFound:
            abort(404)
        except DocumentMissing:
            abort(503)
        response = Response(opened.data, mimetype=opened.content_type)
        response.headers["Content-Disposition"] = attachment(opened.file_name)
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def _link_refused(self, *, expired: bool, code: int | None = None) -> Any:
        if expired:
            title = _("This download link has expired")
            text = _(
                "A link to a document works for a few minutes. Open the document again "
                "from the patient's page."
            )
        else:
            title = _("This download link does not work")
            text = _(
                "It is not a link the panel made for you. Open the document from the "
                "patient's page."
            )
        code = code or (403 if expired else 404)
        page = self.render("admin/error.html", code=code, title=title, text=text)  # type: ignore[attr-defined]
        return page, code, {"Cache-Control": "no-store"}


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return _("%(n)s MB", n=f"{size / (1024 * 1024):.1f}")
    return _("%(n)s KB", n=max(1, round(size / 1024)))
