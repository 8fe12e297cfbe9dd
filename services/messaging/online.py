"""What a patient's message says of an online (video) session, and when the link goes out.

The confirmation (chat or a notice of what staff did) says the session is online and
carries its link, with no address. A reminder carries the link only when it goes out
close to the start (``LINK_LEAD``, 2 hours, or less); one sent earlier (the day-before
one) says the session is online and that the link follows shortly before. So that the
link always comes, an online session whose clinic has no reminder that close gets one
more, ``LAST_CALL`` (15 minutes) before the start (``outbox.schedule_reminders``).
Which link a session gets is ``services.scheduling.video``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from models import Appointment
from services.messaging.catalogue import say

LINK_LEAD = timedelta(hours=2)
LAST_CALL = timedelta(minutes=15)
# Notices that confirm a session (or its new time) carry the link like the chat's "booked".
CONFIRMING_NOTICES = frozenset(
    {"notice_booked", "notice_moved", "notice_length_changed", "notice_request_approved"}
)


def needs_last_call(offsets_hours: list[int] | None) -> bool:
    """Does an online session need the extra reminder, none of the clinic's being close?"""
    return not any(timedelta(hours=int(h)) <= LINK_LEAD for h in offsets_hours or [])


def link_due(appointment: Appointment, sent_at: datetime) -> bool:
    """May a reminder sent at ``sent_at`` carry the link (close enough to the start)?"""
    return appointment.start_at - sent_at <= LINK_LEAD


def online_line(lang: str, appointment: Appointment, *, with_link: bool) -> str:
    """The line that says the session is online: with its link, or that it will follow."""
    if with_link and appointment.video_url:
        return say(lang, "online_with_link", video_url=appointment.video_url)
    return say(lang, "online_link_later")


def place_text(lang: str, appointment: Appointment, in_person: str) -> str:
    """Where the session is, as a confirmation says it: the link for an online session
    (no address), else ``in_person`` (the clinic and its address)."""
    if appointment.online:
        return online_line(lang, appointment, with_link=True)
    return in_person
