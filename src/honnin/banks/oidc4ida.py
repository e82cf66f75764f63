"""Validation of OIDC4IDA ``verified_claims`` against the official schemas.

OpenID Connect for Identity Assurance 1.0 (final), schemas ``verified_claims.json`` and
``claims_schema.json`` (JSON Schema draft 2020-12), shipped in ``honnin/banks/schema/``
(see SOURCE.md there) and resolved through a ``referencing`` registry, so nothing is
fetched. ``format`` is asserted (RFC 3339 ``date-time`` and ``full-date``), and
language-tagged claims (OpenID Connect Core 1.0 §5.2, ``family_name#ja-Kana-JP``) must be
strings like their untagged claim, which the schema itself leaves open.

Error messages carry the JSON path and the failed keyword only, never the value.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from honnin.banks.errors import VerifiedClaimsInvalidError
from honnin.banks.shape import ShapeIndex, build_index, shape_key

__all__ = [
    "CLAIMS_SCHEMA_ID",
    "VERIFIED_CLAIMS_SCHEMA_ID",
    "is_datetime",
    "validate_verified_claims",
    "verified_claims_errors",
]

VERIFIED_CLAIMS_SCHEMA_ID = (
    "https://bitbucket.org/openid/ekyc-ida/raw/master/schema/verified_claims.json"
)
CLAIMS_SCHEMA_ID = "https://bitbucket.org/openid/ekyc-ida/raw/master/schema/claims_schema.json"
REQUEST_SCHEMA_ID = (
    "https://bitbucket.org/openid/ekyc-ida/raw/master/schema/verified_claims_request.json"
)

# RFC 3339 §5.6 date-time, except that seconds may be left out: the specification's own
# examples (and banks following them) write "2021-03-03T09:42Z". Honnin always emits seconds.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})$"
)


def is_datetime(instance: object) -> bool:
    """The ``date-time`` format check the validator asserts (RFC 3339, seconds optional)."""
    if not isinstance(instance, str):
        return True
    if not _RFC3339.match(instance):
        return False
    try:
        dt.datetime.fromisoformat(instance.upper())
    except ValueError:
        return False
    return True


def _load(name: str) -> dict[str, Any]:
    data = resources.files("honnin.banks").joinpath("schema", name).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(data)
    return loaded


@functools.cache
def _validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    verified = _load("verified_claims.json")
    registry: Registry[Any] = Registry().with_resources(
        [
            (VERIFIED_CLAIMS_SCHEMA_ID, Resource.from_contents(verified)),
            (CLAIMS_SCHEMA_ID, Resource.from_contents(_load("claims_schema.json"))),
            (REQUEST_SCHEMA_ID, Resource.from_contents(_load("verified_claims_request.json"))),
        ]
    )
    checker = FormatChecker()
    checker.checks("date-time")(is_datetime)
    single = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": f"{VERIFIED_CLAIMS_SCHEMA_ID}#/$defs/verified_claims_def",
    }
    container = Draft202012Validator(verified, registry=registry, format_checker=checker)
    element = Draft202012Validator(single, registry=registry, format_checker=checker)
    return container, element


def _language_tag_errors(obj: Any, path: str) -> list[str]:
    errors: list[str] = []
    items = obj if isinstance(obj, list) else [obj]
    for index, item in enumerate(items):
        where = f"{path}[{index}]" if isinstance(obj, list) else path
        claims = item.get("claims") if isinstance(item, Mapping) else None
        if not isinstance(claims, Mapping):
            continue
        for key, value in claims.items():
            if "#" in key and not isinstance(value, str):
                errors.append(f"{where}.claims['{key}']: a language-tagged claim is a string")
    return errors


def verified_claims_errors(obj: Any) -> list[str]:
    """Every schema violation as ``json-path: keyword`` (empty when ``obj`` is valid).

    ``obj`` is a ``verified_claims`` element, or a userinfo/ID-token-like object that
    carries one (or an array of them) under ``verified_claims``.
    """
    container, element = _validators()
    is_container = isinstance(obj, Mapping) and not {"verification", "claims"} & set(obj)
    validator = container if is_container else element
    errors = [
        f"{error.json_path}: {error.validator}"
        for error in sorted(validator.iter_errors(obj), key=lambda e: e.json_path)
    ]
    if is_container and "verified_claims" in obj:
        errors += _language_tag_errors(obj["verified_claims"], "$.verified_claims")
    else:
        errors += _language_tag_errors(obj, "$")
    return errors


@functools.cache
def _shape_index() -> ShapeIndex:
    return build_index(
        _load("verified_claims.json"), _load("claims_schema.json"), is_datetime=is_datetime
    )


# Keys of element shapes already validated (see honnin.banks.shape); bounded, and a plain
# dict so concurrent readers and writers need no lock in CPython.
_VALID_SHAPES: dict[str, None] = {}
_MAX_SHAPES = 4096


def validate_verified_claims(obj: Any) -> None:
    """Raise :class:`VerifiedClaimsInvalidError` unless ``obj`` is valid OIDC4IDA.

    An element whose shape (:func:`honnin.banks.shape.shape_key`) already passed the full
    validation passes again without re-running it.
    """
    key = shape_key(obj, _shape_index())
    if key is not None and key in _VALID_SHAPES:
        return
    errors = verified_claims_errors(obj)
    if errors:
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise VerifiedClaimsInvalidError(f"verified_claims invalid at {errors[0]}{more}")
    if key is not None:
        if len(_VALID_SHAPES) >= _MAX_SHAPES:
            _VALID_SHAPES.clear()
        _VALID_SHAPES[key] = None
