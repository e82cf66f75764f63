"""Schema-equivalence keys for ``verified_claims`` elements, to validate each shape once.

JSON Schema validation of an OIDC4IDA element costs about half a millisecond, and a bank
mapping emits the same few shapes over and over with different names and dates in them.
:func:`shape_key` maps an element to a string such that two elements with the same key
get the same verdict from the official schema (OIDC4IDA 1.0 ``verified_claims.json`` and
``claims_schema.json``): a string is replaced by a placeholder only where the schema
cannot look at its content. Which positions those are is read from the schemas
themselves when the index is built:

- properties whose subschema is exactly ``{"type": "string"}`` (``family_name``,
  ``verification_process``, ``record.source.name`` ...) and language-tagged claims
  (unconstrained by the schema; Honnin requires a string, and the placeholder is one);
- ``format: date-time`` fields, replaced only when they pass the very check the
  validator uses (:func:`honnin.banks.oidc4ida.is_datetime`);
- pattern-constrained claims (``birthdate``, ``address.country_code``), replaced only
  when they match the schema's own pattern.

Everything else (``evidence.type``, which selects an ``if/then`` branch, arrays, numbers,
keys) stays verbatim, and anything the index does not know makes the element uncacheable
(``None``). Soundness is checked by a property test against the full validator.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ShapeIndex", "build_index", "shape_key"]

_PLAIN = {"type": "string"}
_STRING = "s"
_DATETIME = "t"


@dataclass(frozen=True, slots=True)
class ShapeIndex:
    """The positions whose string content the schemas never inspect, or inspect simply."""

    plain_claims: frozenset[str]
    plain_address: frozenset[str]
    claim_patterns: Mapping[str, re.Pattern[str]]
    address_patterns: Mapping[str, re.Pattern[str]]
    plain_verification: frozenset[str]
    datetime_verification: frozenset[str]
    plain_check: frozenset[str]
    datetime_check: frozenset[str]
    plain_record: frozenset[str]
    datetime_record: frozenset[str]
    plain_source: frozenset[str]
    is_datetime: Callable[[object], bool]


def _plain(properties: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(k for k, v in properties.items() if v == _PLAIN)


def _datetimes(properties: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(
        k for k, v in properties.items() if v == {"type": "string", "format": "date-time"}
    )


def _patterns(properties: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, re.Pattern[str]]:
    found: dict[str, re.Pattern[str]] = {}
    for key, sub in properties.items():
        ref = sub.get("$ref", "") if isinstance(sub, Mapping) else ""
        if ref.startswith("#/$defs/"):
            target = defs[ref.removeprefix("#/$defs/")]
            if set(target) == {"type", "pattern"} and target["type"] == "string":
                found[key] = re.compile(target["pattern"])
    return found


def build_index(
    verified_claims: Mapping[str, Any],
    claims_schema: Mapping[str, Any],
    *,
    is_datetime: Callable[[object], bool],
) -> ShapeIndex:
    """Read the cacheable positions out of the two official schema documents."""
    claim_defs = claims_schema["$defs"]
    claims = claim_defs["claims_type"]["properties"]
    address = claims["address"]["properties"]
    vdefs = verified_claims["$defs"]
    verification = vdefs["verified_claims_def"]["properties"]["verification"]["properties"]
    check = vdefs["check_details"]["items"]["properties"]
    record: Mapping[str, Any] = {}
    for branch in vdefs["evidence"]["allOf"]:
        if branch["if"]["properties"]["type"].get("const") == "electronic_record":
            record = branch["then"]["properties"]["record"]["properties"]
    source = record.get("source", {}).get("properties", {})
    return ShapeIndex(
        plain_claims=_plain(claims),
        plain_address=_plain(address),
        claim_patterns=_patterns(claims, claim_defs),
        address_patterns=_patterns(address, claim_defs),
        plain_verification=_plain(verification),
        datetime_verification=_datetimes(verification),
        plain_check=_plain(check),
        datetime_check=_datetimes(check),
        plain_record=_plain(record),
        datetime_record=_datetimes(record),
        plain_source=_plain(source) if _plain(source) == frozenset(source) else frozenset(),
        is_datetime=is_datetime,
    )


class _UncacheableError(Exception):
    """Raised inside the walk for a position the index cannot place."""


def _strings(
    obj: Any,
    plain: frozenset[str],
    datetimes: frozenset[str],
    index: ShapeIndex,
    nested: Mapping[str, Callable[[Any], Any]] | None = None,
) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise _UncacheableError
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if nested and key in nested:
            out[key] = nested[key](value)
        elif isinstance(value, str) and key in plain:
            out[key] = _STRING
        elif isinstance(value, str) and key in datetimes and index.is_datetime(value):
            out[key] = _DATETIME
        else:
            out[key] = ["=", value]
    return out


def _evidence(items: Any, index: ShapeIndex) -> list[Any]:
    if not isinstance(items, list):
        raise _UncacheableError
    out = []
    for item in items:
        if not isinstance(item, dict) or item.get("type") != "electronic_record":
            raise _UncacheableError
        out.append(
            _strings(
                item,
                frozenset(),
                frozenset(),
                index,
                {
                    "check_details": lambda v: _check_details(v, index),
                    "record": lambda v: _record(v, index),
                },
            )
        )
    return out


def _check_details(items: Any, index: ShapeIndex) -> list[Any]:
    if not isinstance(items, list):
        raise _UncacheableError
    return [_strings(i, index.plain_check, index.datetime_check, index) for i in items]


def _record(record: Any, index: ShapeIndex) -> dict[str, Any]:
    return _strings(
        record,
        index.plain_record,
        index.datetime_record,
        index,
        {"source": lambda v: _strings(v, index.plain_source, frozenset(), index)},
    )


def _claims(claims: Any, index: ShapeIndex) -> dict[str, Any]:
    if not isinstance(claims, dict):
        raise _UncacheableError
    out: dict[str, Any] = {}
    for key, value in claims.items():
        if isinstance(value, str) and ("#" in key or key in index.plain_claims):
            out[key] = _STRING
        elif key in index.claim_patterns and isinstance(value, str):
            matched = index.claim_patterns[key].search(value)
            out[key] = "p" if matched else ["=", value]
        elif key == "address" and isinstance(value, dict):
            address: dict[str, Any] = {}
            for sub, part in value.items():
                if isinstance(part, str) and sub in index.plain_address:
                    address[sub] = _STRING
                elif isinstance(part, str) and sub in index.address_patterns:
                    matched = index.address_patterns[sub].search(part)
                    address[sub] = "p" if matched else ["=", part]
                else:
                    address[sub] = ["=", part]
            out[key] = address
        else:
            out[key] = ["=", value]
    return out


def shape_key(element: Any, index: ShapeIndex) -> str | None:
    """A key shared only by elements the schema judges alike; ``None`` if not cacheable."""
    if not isinstance(element, dict) or set(element) != {"verification", "claims"}:
        return None
    try:
        skeleton = {
            "verification": _strings(
                element["verification"],
                index.plain_verification,
                index.datetime_verification,
                index,
                {"evidence": lambda v: _evidence(v, index)},
            ),
            "claims": _claims(element["claims"], index),
        }
        return json.dumps(skeleton, sort_keys=True, ensure_ascii=False)
    except (_UncacheableError, TypeError, ValueError):
        # Not JSON (a Python object where a value belongs): leave it to the validator.
        return None
