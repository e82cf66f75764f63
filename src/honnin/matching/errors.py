"""Errors raised by the pure matching helpers.

Messages never quote the input: it is personal data (names, birth dates, addresses).
"""

from __future__ import annotations

from honnin.errors import HonninError


class MatchingError(HonninError):
    """Base for matching and normalisation errors."""

    code = "matching_error"
    status = 400


class InvalidDateError(MatchingError):
    """A date (Gregorian or Japanese era) could not be read or does not exist."""

    code = "invalid_date"


class InvalidPostalCodeError(MatchingError):
    """A Japanese postal code is not seven digits."""

    code = "invalid_postal_code"
