"""The Notifications page (a staff member's own, unread first, linked to the session) and
My profile's "tell me by WhatsApp", on the roles walk's world: clinic A's therapist login is
Dr. Tara Own's, whose session was booked and then asked to be moved (two notifications);
Dr. Omar Second's session and clinic B's are someone else's."""

from __future__ import annotations

from sqlalchemy import select

from models import AuditLog, NotificationKind, StaffNotification, StaffUser, Therapist
from services.messaging.staff_notices import notify_therapist
from tests.admin import test_roles
from tests.admin.test_admin import log_in
from tests.admin.test_roles import NOT_MINE, OTHER_CLINIC, login
from tests.conftest import NOW, SYSTEM

world = test_roles.world  # the roles walk's world, a fixture


def user(session, world, role: str) -> StaffUser:
    return session.scalar(select(StaffUser).where(StaffUser.email == world.emails[role]))


def test_my_notifications_list_my_own_with_links_to_the_session(app, world, session):
    client, _ = login(app, world, "therapist")
    page = client.get("/admin/notifications/")
    assert page.status_code == 200
    own = world.rows["own"]["appointment"]
    assert page.text.count('data-unread="yes"') == 2
    assert f"/admin/appointment/details/?id={own.id}" in page.text
    assert "Olivia Ownpatient" in page.text and "Reschedule request awaiting" in page.text
    assert NOT_MINE not in page.text.lower() and OTHER_CLINIC not in page.text.lower()
    assert 'href="/admin/notifications/"' in page.text  # in the therapist's menu


def test_mark_all_read_marks_only_mine(app, world, session):
    # The other therapist's login (the admin, linked to Dr. Omar Second) has one too.
    omar = session.scalar(select(Therapist).where(Therapist.name == "Dr. Omar Second"))
    admin = user(session, world, "admin")
    omar.staff_user_id = admin.id
    session.commit()
    other = world.rows["other"]["appointment"]
    notify_therapist(session, other, NotificationKind.CANCELLED, SYSTEM, now=NOW)
    session.commit()

    client, token = login(app, world, "therapist")
    response = client.post("/admin/notifications/read", data={"csrf_token": token})
    assert response.status_code == 302
    page = client.get("/admin/notifications/").text
    assert 'data-unread="yes"' not in page and page.count('data-unread="no"') == 2
    unread = session.scalars(
        select(StaffNotification.staff_user_id).where(StaffNotification.read_at.is_(None))
    ).all()
    assert unread == [admin.id]
    assert (
        session.scalars(select(AuditLog).where(AuditLog.action == "staff_notification.read_all"))
        .one()
        .actor_id
        == user(session, world, "therapist").id
    )
    # The admin sees only their own (the other therapist's patient), not Tara's.
    admin_client, _ = login(app, world, "admin")
    theirs = admin_client.get("/admin/notifications/").text
    assert theirs.count('data-unread="yes"') == 1 and "Ownpatient" not in theirs


def test_without_a_csrf_token_nothing_is_marked(app, world, session):
    client, _ = login(app, world, "therapist")
    client.post("/admin/notifications/read", data={})
    assert (
        session.scalars(
            select(StaffNotification).where(StaffNotification.read_at.is_not(None))
        ).all()
        == []
    )


def test_another_clinic_s_admin_sees_none_of_clinic_a_s(app, world):
    client = app.test_client()
    assert log_in(client, "admin@bclinic.example").status_code == 302
    page = client.get("/admin/notifications/")
    assert page.status_code == 200 and 'id="no-notifications"' in page.text


def test_my_profile_sets_my_phone_and_whatsapp_choice(app, world, session):
    client, token = login(app, world, "therapist")
    profile = client.get("/admin/profile/").text
    assert 'id="notify-whatsapp-form"' in profile
    refused = client.post(
        "/admin/notifications/whatsapp",
        data={"csrf_token": token, "phone": "", "notify_whatsapp": "y"},
        follow_redirects=True,
    )
    assert "Give a mobile number" in refused.text
    saved = client.post(
        "/admin/notifications/whatsapp",
        data={"csrf_token": token, "phone": "98123 45678", "notify_whatsapp": "y"},
        follow_redirects=True,
    )
    assert "Your notification choice is saved." in saved.text
    me = user(session, world, "therapist")
    session.refresh(me)
    assert (me.phone, me.notify_whatsapp) == ("+919812345678", True)
    assert 'value="+919812345678"' in saved.text and 'value="y" checked' in saved.text
    assert (
        session.scalars(select(AuditLog).where(AuditLog.action == "staff.notifications"))
        .one()
        .actor_id
        == me.id
    )
