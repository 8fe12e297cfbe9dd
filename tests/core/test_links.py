"""core.links: the https check behind every link staff type in (video rooms, exercise media)."""

from __future__ import annotations

import pytest

from core.links import is_https_link


@pytest.mark.parametrize(
    "url",
    ["https://meet.jit.si/room-1", "https://zoom.us/j/123?pwd=x", "https://x.example/a#b"],
)
def test_https_links_pass(url):
    assert is_https_link(url, most=100)


@pytest.mark.parametrize(
    "url",
    [
        "http://meet.jit.si/room",  # not https
        "javascript:alert(1)",
        "https:///no-host",
        "https://meet.jit.si/a b",  # a space
        "https://meet.jit.si/a\nb",  # a line break
        "https://[::1",  # not an address at all
        "meet.jit.si/room",
    ],
)
def test_anything_else_is_refused(url):
    assert not is_https_link(url, most=100)


def test_the_length_limit_counts_the_whole_link():
    url = "https://meet.jit.si/" + "r" * 30
    assert is_https_link(url, most=len(url))
    assert not is_https_link(url, most=len(url) - 1)
