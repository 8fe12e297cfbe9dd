"""A clinic's logo: any PNG, JPEG or WebP upload is re-drawn to a small PNG and kept; it
heads the clinic's invoices, receipts and progress reports. Anything else, a huge picture
or a file that only claims to be one is refused and changes nothing."""

from __future__ import annotations

import dataclasses
import struct
import zlib
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import func, select

from models import AuditLog, Clinic, ClinicLogo
from services.billing.documents import render_invoice_pdf, render_receipt_pdf
from services.clinics import logo
from services.errors import InvalidInput
from tests.admin.test_admin import csrf_token, fresh, log_in, two_clinics
from tests.billing.test_documents import _invoice, _receipt
from tests.conftest import SYSTEM
from tests.pdfs import PICTURES, drawn

__all__ = ["two_clinics"]


def picture(size=(1200, 400), fmt="PNG", colour=(24, 188, 156), **save) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt, **save)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny file whose header says it is a width × height picture."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("upload", "shape"),
    [
        (picture((1200, 400)), (600, 200)),  # wide: fits the box's width
        (picture((300, 600), "JPEG", quality=80), (120, 240)),  # tall: fits its height
        (picture((200, 100), "WEBP"), (200, 100)),  # small: kept as it is
    ],
)
def test_a_picture_is_redrawn_into_a_small_png_with_its_shape(session, make_clinic, upload, shape):
    clinic = make_clinic()

    kept = logo.set_logo(session, clinic_id=clinic.id, picture=logo.redrawn(upload), actor=SYSTEM)

    with Image.open(BytesIO(kept.png)) as stored:
        assert (stored.format, stored.size) == ("PNG", shape)
    assert (kept.width, kept.height) == shape
    assert logo.logo_png(session, clinic.id) == kept.png


def test_a_new_logo_replaces_the_old_and_removing_it_leaves_none(session, make_clinic):
    clinic = make_clinic()
    logo.set_logo(session, clinic_id=clinic.id, picture=logo.redrawn(picture()), actor=SYSTEM)
    blue = logo.redrawn(picture(colour=(0, 0, 200)))
    logo.set_logo(session, clinic_id=clinic.id, picture=blue, actor=SYSTEM)

    assert session.scalar(select(func.count()).select_from(ClinicLogo)) == 1
    assert logo.logo_png(session, clinic.id) == blue.png
    assert logo.remove_logo(session, clinic_id=clinic.id, actor=SYSTEM)
    assert logo.logo_png(session, clinic.id) is None
    assert not logo.remove_logo(session, clinic_id=clinic.id, actor=SYSTEM)
    actions = session.scalars(
        select(AuditLog.action).where(AuditLog.action.like("clinic.logo%")).order_by(AuditLog.id)
    ).all()
    assert actions == ["clinic.logo_set", "clinic.logo_set", "clinic.logo_remove"]
    rows = session.scalars(select(AuditLog).where(AuditLog.action.like("clinic.logo%"))).all()
    assert all("png" not in (row.after or {}) and "png" not in (row.before or {}) for row in rows)


@pytest.mark.parametrize(
    "upload",
    [
        b"%PDF-1.4 not a picture",
        b"GIF89a" + b"\x00" * 40,
        picture(fmt="GIF"),  # a real picture, of a kind not taken
        png_claiming(30_000, 30_000),  # 900 million pixels claimed by a few bytes
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,  # a PNG's first bytes, then nothing
        b"x" * (logo.UPLOAD_MAX_BYTES + 1),
    ],
    ids=["pdf", "gif-bytes", "gif", "bomb", "broken-png", "too-big"],
)
def test_anything_but_a_sane_picture_is_refused(upload):
    with pytest.raises(InvalidInput):
        logo.redrawn(upload)


def test_the_logo_heads_invoices_receipts_and_reports_only_when_there_is_one():
    png = logo.redrawn(picture()).png

    assert drawn(render_invoice_pdf(_invoice()), PICTURES) == 0
    assert drawn(render_invoice_pdf(_invoice(logo=png)), PICTURES) == 1
    assert drawn(render_receipt_pdf(_receipt(logo=png)), PICTURES) == 1
    # The name stays readable beside it, and the bytes never reach the text-shaping guess.
    assert "logo" not in repr(dataclasses.replace(_invoice(), logo=png))


# --- the panel ----------------------------------------------------------------------------


def clinic_form(client, url: str, **fields) -> dict:
    return {
        "csrf_token": csrf_token(client, url),
        "name": "Clinic A",
        "timezone": "Asia/Kolkata",
        "currency": "INR",
        "phone_region": "IN",
        "language": "en",
        "active": "y",
        **fields,
    }


def test_a_clinic_admin_uploads_and_removes_the_logo(app, two_clinics, session):
    a = two_clinics["a"]
    client = app.test_client()
    log_in(client, "admin@a.example")
    url = f"/admin/clinic/edit/?id={a['clinic'].id}"

    client.post(url, data=clinic_form(client, url, logo=(BytesIO(picture()), "logo.png")))
    fresh(session)
    assert logo.logo_png(session, a["clinic"].id) is not None

    client.post(url, data=clinic_form(client, url, logo_remove="y"))
    fresh(session)
    assert logo.logo_png(session, a["clinic"].id) is None


def test_a_refused_logo_changes_nothing_else_and_another_clinic_is_out_of_reach(
    app, two_clinics, session
):
    a, b = two_clinics["a"], two_clinics["b"]
    client = app.test_client()
    log_in(client, "admin@a.example")
    url = f"/admin/clinic/edit/?id={a['clinic'].id}"

    page = client.post(
        url,
        data=clinic_form(
            client, url, name="Clinic A, renamed", logo=(BytesIO(b"%PDF-1.4"), "logo.png")
        ),
        follow_redirects=True,
    )
    assert "The logo must be a PNG, JPEG or WebP picture." in page.text
    other = f"/admin/clinic/edit/?id={b['clinic'].id}"
    client.post(
        other,
        data={**clinic_form(client, url), "logo": (BytesIO(picture()), "logo.png")},
    )

    fresh(session)
    assert session.get(Clinic, a["clinic"].id).name == "Clinic A"
    assert session.scalar(select(func.count()).select_from(ClinicLogo)) == 0
