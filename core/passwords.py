"""The password rule, in one place: staff accounts (``services.staff.accounts``) and the demo's
ADMIN_PASSWORD at start-up (``core.config``) are both checked here.

A password is refused when it is short, built from the account's email, too uniform
(one kind of character, few different characters, one part repeated), or one of the
10,000 most common passwords (``common_passwords.txt``, shipped with the code; where it
comes from is in its header), also with a few digits or symbols added to the end.
"""

from __future__ import annotations

import os
import re
from functools import cache
from importlib import resources
from typing import NamedTuple

from argon2 import PasswordHasher, profiles

from core.words import N_

# The test suite hashes hundreds of staff passwords; with this set (tests/conftest.py does,
# nothing else may) argon2 runs with its cheapest parameters: the same code, a thousandth of
# the work. Production hashes with argon2-cffi's defaults (RFC 9106, low memory).
CHEAP_HASHES_FOR_TESTS = "ROSHNI_TEST_CHEAP_PASSWORD_HASHES"


@cache
def hasher() -> PasswordHasher:
    if os.environ.get(CHEAP_HASHES_FOR_TESTS) == "1":
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    return PasswordHasher()


MIN_LENGTH = 12
# Below this length a password must mix character classes; longer passphrases need not.
MIXED_BELOW = 16
# What people add to a common password to pass a length rule: "baseball" + "1234!".
_TAIL = re.compile(r"[\d\W_]{1,6}$")
_HEAD = re.compile(r"^[\d\W_]{1,6}")
_REPEATED = re.compile(r"(.+?)\1+", re.DOTALL)

# The most common passwords that are long enough to pass the length rule (compared in
# lower case), beyond the general list: the guesses an attacker tries first here.
_LOCAL_GUESSES = """
    123456789012 1234567890123 12345678901234 1234567890ab 123456789abc 1234qwerasdf
    1q2w3e4r5t6y 1q2w3e4r5t6y7u 1qaz2wsx3edc 1qaz2wsx3edc4rfv a1b2c3d4e5f6 abc123456789
    abcd12345678 admin1234567 administrator administrator1 asdfghjkl123 baseball1234
    changeme1234 clinic123456 football1234 iloveyou1234 iloveyou12345 letmein12345 monkey123456
    passw0rd1234 password123! password1234 password12345 password123456 password@123
    password@1234 princess1234 q1w2e3r4t5y6 qwer1234asdf qwerty123456 qwerty1234567
    qwerty12345678 qwertyuiop12 qwertyuiop123 qwertyuiop1234 roshni123456 starwars1234
    sunshine1234 superman1234 therapy12345 welcome12345 welcome@1234 zaq12wsxcde3
"""


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("core").joinpath("common_passwords.txt").read_text("utf-8")
    listed = (line.strip() for line in text.splitlines() if not line.startswith("#"))
    return frozenset(filter(None, listed)) | frozenset(_LOCAL_GUESSES.split())


class Refusal(NamedTuple):
    """Why a password is refused: a sentence (``%(name)s`` placeholders, marked for the
    staff catalogue) and what fills it."""

    text: str
    params: dict[str, int]

    def __str__(self) -> str:
        return self.text % self.params if self.params else self.text


def password_refusal(password: str, *, email: str = "") -> Refusal | None:
    """Why ``password`` is refused (one sentence for the person choosing it), or None."""
    if len(password) < MIN_LENGTH:
        return Refusal(
            N_("Passwords must be at least %(least)s characters long."), {"least": MIN_LENGTH}
        )
    lowered = password.lower()
    if _is_common(lowered):
        return Refusal(N_("That password is one of the most common; please choose another."), {})
    local_part = email.strip().lower().split("@", 1)[0]
    # Very short local parts ("a@…") would forbid half the alphabet; three letters on.
    if len(local_part) >= 3 and local_part in lowered:
        return Refusal(N_("A password must not contain the name part of your email address."), {})
    if len(set(lowered)) < 5:
        return Refusal(N_("That password repeats too few different characters."), {})
    if _REPEATED.fullmatch(lowered):
        return Refusal(
            N_("That password repeats the same part over and over; please choose another."), {}
        )
    if len(password) < MIXED_BELOW and len({_char_class(c) for c in password}) < 2:
        return Refusal(
            N_(
                "A password shorter than %(mixed)s characters needs a mix of letters, "
                "digits or symbols (or use a longer passphrase)."
            ),
            {"mixed": MIXED_BELOW},
        )
    return None


def password_problem(password: str, *, email: str = "") -> str | None:
    """The refusal as an English sentence (start-up checks of ADMIN_PASSWORD), or None."""
    refusal = password_refusal(password, email=email)
    return None if refusal is None else str(refusal)


def _is_common(lowered: str) -> bool:
    common = common_passwords()
    if lowered in common:
        return True
    # A common password with a few digits or symbols around it ("dragon2024!").
    core = _HEAD.sub("", _TAIL.sub("", lowered))
    return len(core) >= 4 and core in common


def _char_class(char: str) -> str:
    if char.isdigit():
        return "digit"
    if char.isupper():
        return "upper"
    if char.islower():
        return "lower"
    return "letter" if char.isalpha() else "symbol"
