"""Pure HTTP caching rules for the documents Honnin fetches from banks (RFC 9111).

Only what a private client cache of discovery documents and JWKS needs: the
``Cache-Control`` response directives (§5.2.2), freshness lifetime (§4.2.1: ``max-age``,
else ``Expires`` - ``Date``; no heuristic freshness), and the current age from ``Age``
(§4.2.3, simplified to the header value since the response is read at once).
``no-store`` and ``no-cache`` make a response not reusable without a new request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class CacheDirectives:
    no_store: bool = False
    no_cache: bool = False
    max_age: int | None = None


def parse_cache_control(value: str) -> CacheDirectives:
    """Parse a ``Cache-Control`` field value; unknown or malformed directives are ignored."""
    no_store = no_cache = False
    max_age: int | None = None
    for part in value.split(","):
        name, _, argument = part.strip().partition("=")
        name = name.strip().lower()
        argument = argument.strip().strip('"')
        if name == "no-store":
            no_store = True
        elif name == "no-cache":
            no_cache = True
        elif name == "max-age":
            # §1.2.2: delta-seconds over 2**31 count as 2**31; §4.2.1: an invalid
            # max-age makes the response stale.
            if argument.isascii() and argument.isdigit():
                # Past 10 digits it is over 2**31 anyway (and int() refuses 4300+ digits).
                max_age = 2**31 if len(argument) > 10 else min(int(argument), 2**31)
            else:
                max_age = 0
    return CacheDirectives(no_store=no_store, no_cache=no_cache, max_age=max_age)


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def freshness_seconds(headers: Mapping[str, str], *, default: float, maximum: float) -> float:
    """How long the response may be reused, in seconds (0: not at all).

    ``default`` applies when the response says nothing; ``maximum`` caps what it says,
    so a bank cannot make Honnin keep a key set for a year.
    """
    directives = parse_cache_control(headers.get("cache-control", ""))
    if directives.no_store or directives.no_cache:
        return 0.0
    if directives.max_age is not None:
        lifetime = float(directives.max_age)
    else:
        expires = headers.get("expires")
        if expires is not None:
            expires_at = _http_date(expires)
            date = _http_date(headers.get("date"))
            if expires_at is None or date is None:
                return 0.0  # §5.3: an invalid Expires means already expired
            lifetime = max(0.0, expires_at - date)
        else:
            lifetime = default
    age = headers.get("age", "0").strip()
    current_age = float(age) if age.isascii() and age.isdigit() else 0.0
    return max(0.0, min(lifetime, maximum) - current_age)
