"""Typed refusals. Each carries a sentence a patient or staff member can read.

``message`` is that sentence, in English: the admin flashes it. It is the caller's own,
or the class's ``template`` filled from ``params``. ``code`` names the kind of refusal
and stays stable (a raise may name a narrower one: ``code="born_in_future"``); the chat
says the refusal from its translated catalogue by that code and ``params``
(``services.messaging.catalogue.refusal``), the English ``message`` only where the
catalogue has no sentence for it.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    code = "error"
    template = "Sorry, that could not be done."

    def __init__(self, message: str | None = None, *, code: str | None = None, **params: Any):
        self.params = params
        self.message = message or self.template.format(**params)
        if code is not None:
            self.code = code
        super().__init__(self.message)


class NotFound(ServiceError):
    code = "not_found"
    template = "We could not find that {what}."


class InvalidInput(ServiceError):
    code = "invalid_input"
    template = "{detail}"


class InvalidPhone(InvalidInput):
    code = "invalid_phone"
    template = "{phone!r} is not a valid mobile number. Please include the country code."


class Duplicate(ServiceError):
    code = "duplicate"
    template = "{detail}"


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
    template = "Sorry, that time was just taken."


class OutsideHours(SlotUnavailable):
    code = "outside_hours"
    template = "The clinic is not open for that session at that time."


class TooSoon(BookingRefused):
    code = "too_soon"
    template = "Sessions must be booked at least {hours} hours ahead."


class InThePast(BookingRefused):
    code = "in_the_past"
    template = "That time has already passed."


class BeyondHorizon(BookingRefused):
    code = "beyond_horizon"
    template = "Sessions can be booked up to {days} days ahead."


class TooLateToCancel(BookingRefused):
    code = "too_late_to_cancel"
    template = (
        "Sessions can be cancelled up to {hours} hours before they start. "
        "Please talk to the clinic."
    )


class TooLateToReschedule(BookingRefused):
    code = "too_late_to_reschedule"
    template = (
        "Sessions can be moved up to {hours} hours before they start. Please talk to the clinic."
    )


class InvalidTransition(ServiceError):
    code = "invalid_transition"
    template = "This appointment is {status}, so it cannot be {verb}."
