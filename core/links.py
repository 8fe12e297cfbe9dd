"""Links people type into the panel (a video room, an exercise's media): https only."""

from __future__ import annotations

from urllib.parse import urlsplit


def is_https_link(url: str, *, most: int) -> bool:
    """An https:// address with a host, of at most ``most`` characters, with no spaces or
    control characters (which a browser or a chat would cut or mangle)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and bool(parts.hostname)
        and len(url) <= most
        and not any(ch.isspace() or ord(ch) < 32 for ch in url)
    )
