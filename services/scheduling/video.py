"""Online (video) sessions: whether a session is online, and which link it gets.

A service is delivered in person, online, or either (``Service.in_person`` and
``Service.online``; the patient or staff choose for "either"). An online session's
link comes from the clinic's choice (``ClinicPolicy.video_rooms``):

- ``jitsi``: ``<jitsi_base_url>/<room>``, a fresh room per session whose name is
  ``secrets.token_urlsafe`` (192 bits): nobody guesses it, and it says nothing of the
  patient or the clinic;
- ``therapist``: the therapist's own fixed room (``Therapist.video_link``, a Zoom or
  Meet link the clinic already has); a therapist without one cannot take an online
  session, and the booking is refused saying so.

Every link is an https address (``services.clinics.video_rooms`` checks the settings
and the therapist's link when they are saved). When reminders carry the link is the
messaging side's rule
(``services.messaging.online``).
"""

from __future__ import annotations

import secrets

from models import ClinicPolicy, Service, Therapist
from services.clinics.video_rooms import DEFAULT_JITSI_BASE_URL, THERAPIST_ROOMS
from services.errors import N_, InvalidInput

ROOM_BYTES = 24  # 192 bits of randomness: 32 URL-safe characters


class NoVideoRoom(InvalidInput):
    """The clinic uses therapists' own rooms and this therapist has none on file."""

    code = "no_video_room"
    template = N_(
        "%(therapist)s has no video room on file, so this session cannot be online. "
        "Add their video link, or book it in person."
    )


class WrongDelivery(InvalidInput):
    """Online asked for a service given only in person, or in person for an online-only one."""

    code = "wrong_delivery"
    template = "%(detail)s"


def is_either(service: Service) -> bool:
    """Does the patient choose (in person or online) for this service?"""
    return bool(service.in_person and service.online)


def choose_online(service: Service, online: bool | None) -> bool:
    """Whether a session of ``service`` is online: ``None`` means the service's default
    (online-only: online; in person or either: in person); a choice the service does not
    allow is refused."""
    if online is None:
        return not service.in_person
    if online and not service.online:
        raise WrongDelivery(detail=N_("This service is given in person only, not online."))
    if not online and not service.in_person:
        raise WrongDelivery(detail=N_("This service is given online only, not in person."))
    return online


def new_jitsi_room() -> str:
    """A room name nobody can guess and that names nobody."""
    return secrets.token_urlsafe(ROOM_BYTES)


def video_url_for(policy: ClinicPolicy, therapist: Therapist) -> str:
    """The link a new online session with ``therapist`` gets under the clinic's policy.
    The therapist is the session's own (same clinic: the booking loaded it scoped)."""
    if policy.video_rooms == THERAPIST_ROOMS:
        if therapist.clinic_id != policy.clinic_id or not therapist.video_link:
            raise NoVideoRoom(therapist=therapist.name)
        return therapist.video_link
    base = (policy.jitsi_base_url or DEFAULT_JITSI_BASE_URL).rstrip("/")
    return f"{base}/{new_jitsi_room()}"


def link_after_move(
    policy: ClinicPolicy, therapist: Therapist, *, current: str | None, therapist_changed: bool
) -> str:
    """An online session that moved keeps its link, except with therapists' own rooms
    when the therapist changed (the new therapist's room), or when it had none."""
    if current and not (therapist_changed and policy.video_rooms == THERAPIST_ROOMS):
        return current
    return video_url_for(policy, therapist)
