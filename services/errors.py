"""Typed refusals. Each carries a sentence a patient or staff member can read.

``message`` is that sentence, in English. It is the caller's own ``text``, or the class's
``template``, filled from ``params`` (``%(name)s`` placeholders). Both kinds of sentence
are marked with ``N_`` so the staff catalogue holds them: the panel shows ``text`` and
``params`` translated (``admin.views.refusals.reason``); a param that is itself a word
(``what="patient"``) is marked where it is written and translated there too. ``code``
names the kind of refusal and stays stable (a raise may name a narrower one:
``code="born_in_future"``); the chat says the refusal from its translated catalogue by
that code and ``params`` (``services.messaging.catalogue.refusal``), the English
``message`` only where the catalogue has no sentence for it.
"""

from __future__ import annotations

from typing import Any

from core.words import N_

__all__ = ["N_"]  # the marker, for the modules that raise these


class ServiceError(Exception):
    code = "error"
    template = N_("Sorry, that could not be done.")

    def __init__(self, message: str | None = None, *, code: str | None = None, **params: Any):
        self.params = params
        self.text = message or self.template
        self.message = self.text % params if params else self.text
        if code is not None:
            self.code = code
        super().__init__(self.message)


class NotFound(ServiceError):
    code = "not_found"
    template = N_("We could not find that %(what)s.")


class InvalidInput(ServiceError):
    code = "invalid_input"
    template = "%(detail)s"  # the sentence is the raise's ``detail``, marked there


class InvalidPhone(InvalidInput):
    code = "invalid_phone"
    template = N_("'%(phone)s' is not a valid mobile number. Please include the country code.")


class Duplicate(ServiceError):
    code = "duplicate"
    template = "%(detail)s"


class BookingRefused(ServiceError):
    code = "booking_refused"


class SlotUnavailable(BookingRefused):
    """The time cannot be booked; ``alternatives`` are the nearest free slots."""

    def __init__(
        self, message: str | None = None, *, alternatives: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.alternatives = alternatives or []


class SlotTaken(SlotUnavailable):
    code = "slot_taken"
    template = N_("Sorry, that time was just taken.")


class OutsideHours(SlotUnavailable):
    code = "outside_hours"
    template = N_("The clinic is not open for that session at that time.")


class TooSoon(BookingRefused):
    code = "too_soon"
    template = N_("Sessions must be booked at least %(hours)s hours ahead.")


class InThePast(BookingRefused):
    code = "in_the_past"
    template = N_("That time has already passed.")


class BeyondHorizon(BookingRefused):
    code = "beyond_horizon"
    template = N_("Sessions can be booked up to %(days)s days ahead.")


class TooLateToCancel(BookingRefused):
    code = "too_late_to_cancel"
    template = N_(
        "Sessions can be cancelled up to %(hours)s hours before they start. "
        "Please talk to the clinic."
    )


class TooLateToReschedule(BookingRefused):
    code = "too_late_to_reschedule"
    template = N_(
        "Sessions can be moved up to %(hours)s hours before they start. Please talk to the clinic."
    )


class InvalidTransition(ServiceError):
    code = "invalid_transition"
    template = N_("This appointment is %(status)s, so it cannot be %(verb)s.")
