"""The clinic's video-room settings and a therapist's own room, as they are saved: which
rooms the clinic uses (``jitsi`` or ``therapist``), its Jitsi server, and every link an
https address. Which link a session gets is ``services.scheduling.video``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from core.links import is_https_link
from services.errors import N_, InvalidInput

JITSI = "jitsi"
THERAPIST_ROOMS = "therapist"
VIDEO_ROOMS = (JITSI, THERAPIST_ROOMS)
DEFAULT_JITSI_BASE_URL = "https://meet.jit.si"
VIDEO_URL_MAX = 500
JITSI_BASE_MAX = 200


def clean_video_url(value: str | None, *, most: int = VIDEO_URL_MAX) -> str | None:
    """An https link (a video room or a Jitsi server), or None when blank; else refused."""
    url = (value or "").strip()
    if not url:
        return None
    if not is_https_link(url, most=most):
        raise InvalidInput(
            N_("The video link must be an https:// address of up to %(most)s characters."),
            most=most,
        )
    return url


def clean_jitsi_base_url(value: str | None) -> str:
    """The Jitsi server's address, without a trailing slash (blank: the public server)."""
    url = clean_video_url(value, most=JITSI_BASE_MAX)
    if url is None:
        return DEFAULT_JITSI_BASE_URL
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise InvalidInput(detail=N_("The Jitsi address cannot have a ? or # part."))
    return url.rstrip("/")


def clean_video_rooms(value: str | None) -> str:
    if value not in VIDEO_ROOMS:
        raise InvalidInput(detail=N_("Video rooms are either Jitsi or the therapists' own."))
    return value
