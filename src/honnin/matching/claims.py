"""Matching applicant data against OIDC4IDA ``verified_claims`` (pure).

The record side is the ``claims`` of a ``verified_claims`` object (OpenID Connect for
Identity Assurance 1.0 §5), whatever produced it: a bank mapping (evidence
``electronic_record``) or a document / IC chip check (evidence ``document``). Japanese
readings are language-tagged claims (OpenID Connect Core 1.0 §5.2): ``#ja-Kana-JP`` and
``#ja-Hira-JP`` are kana, ``#ja-Hani-JP`` is the kanji form when the untagged claim holds
something else.

The applicant side is what the user gave the enterprise, a flat dict:

================================  ==================================================
key                               value
================================  ==================================================
``family_name``, ``given_name``   name (kanji or Latin); or ``name`` for the whole
``family_name_kana``,             reading in hiragana or katakana (full or half width);
``given_name_kana``               or ``name_kana``; OIDC tags (``family_name#ja-Kana-JP``)
                                  are accepted too
``birthdate``                     ISO, ``YYYYMMDD``, ``1985/4/1`` or wareki
``postal_code``                   ``100-0001`` / ``1000001`` / ``〒１００－０００１``
``address``                       one line (postal code may be inside), or an object
                                  ``{formatted, postal_code, region, locality,
                                  street_address}``; the flat keys ``region``,
                                  ``locality``, ``street_address`` are read too
================================  ==================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from honnin.matching.compare import AddressData, MatchReport, PersonData, compare_people
from honnin.matching.errors import MatchingError

__all__ = [
    "InvalidApplicantDataError",
    "match_applicant",
    "person_from_applicant",
    "person_from_claims",
    "record_claims",
]

_KANA_TAGS = ("#ja-Kana-JP", "#ja-Kana", "#ja-Hira-JP", "#ja-Hira")
_KANJI_TAGS = ("#ja-Hani-JP", "#ja-Hani", "#ja-JP", "#ja")
_ADDRESS_KEYS = ("formatted", "postal_code", "region", "locality", "street_address")


class InvalidApplicantDataError(MatchingError):
    """Applicant or record data has the wrong shape (a number where text belongs ...)."""

    code = "invalid_applicant_data"


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidApplicantDataError(f"{key} must be a string")
    return value.strip() or None


def _first(data: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = _text(data, key)
        if value:
            return value
    return None


def _address(data: Mapping[str, Any], *, postal_key: str | None) -> AddressData:
    raw = data.get("address")
    flat = {k: _text(data, k) for k in _ADDRESS_KEYS if k != "formatted"}
    if raw is None:
        parts: dict[str, str | None] = {}
    elif isinstance(raw, str):
        parts = {"formatted": raw.strip() or None}
    elif isinstance(raw, Mapping):
        parts = {k: _text(raw, k) for k in _ADDRESS_KEYS}
    else:
        raise InvalidApplicantDataError("address must be a string or an object")
    for key, value in flat.items():
        if value and not parts.get(key):
            parts[key] = value
    if postal_key:
        postal = _text(data, postal_key)
        if postal and not parts.get("postal_code"):
            parts["postal_code"] = postal
    return AddressData(**parts)


def _with_tags(base: str, tags: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(base + tag for tag in tags)


def person_from_applicant(data: Mapping[str, Any]) -> PersonData:
    """The applicant dict (see the module docstring) as :class:`PersonData`."""
    if not isinstance(data, Mapping):
        raise InvalidApplicantDataError("applicant data must be an object")
    return PersonData(
        family_name=_text(data, "family_name"),
        given_name=_text(data, "given_name"),
        full_name=_text(data, "name"),
        family_name_kana=_first(data, ("family_name_kana", *_with_tags("family_name", _KANA_TAGS))),
        given_name_kana=_first(data, ("given_name_kana", *_with_tags("given_name", _KANA_TAGS))),
        full_name_kana=_first(data, ("name_kana", *_with_tags("name", _KANA_TAGS))),
        birthdate=_text(data, "birthdate"),
        address=_address(data, postal_key="postal_code"),
    )


def person_from_claims(claims: Mapping[str, Any]) -> PersonData:
    """OIDC ``claims`` (untagged kanji, ``#ja-Kana-JP`` kana) as :class:`PersonData`."""
    if not isinstance(claims, Mapping):
        raise InvalidApplicantDataError("claims must be an object")
    return PersonData(
        family_name=_first(claims, ("family_name", *_with_tags("family_name", _KANJI_TAGS))),
        given_name=_first(claims, ("given_name", *_with_tags("given_name", _KANJI_TAGS))),
        full_name=_first(claims, ("name", *_with_tags("name", _KANJI_TAGS))),
        family_name_kana=_first(claims, _with_tags("family_name", _KANA_TAGS)),
        given_name_kana=_first(claims, _with_tags("given_name", _KANA_TAGS)),
        full_name_kana=_first(claims, _with_tags("name", _KANA_TAGS)),
        birthdate=_text(claims, "birthdate"),
        address=_address(claims, postal_key=None) if "address" in claims else AddressData(),
    )


def record_claims(verified_claims: Mapping[str, Any] | list[Any]) -> Mapping[str, Any]:
    """The ``claims`` of a verified_claims element, a container, or the first of an array."""
    node: Any = verified_claims
    if isinstance(node, Mapping) and "verified_claims" in node:
        node = node["verified_claims"]
    if isinstance(node, list):
        if not node:
            raise InvalidApplicantDataError("verified_claims is an empty array")
        node = node[0]
    if not isinstance(node, Mapping) or not isinstance(node.get("claims"), Mapping):
        raise InvalidApplicantDataError("verified_claims has no claims object")
    claims: Mapping[str, Any] = node["claims"]
    return claims


def match_applicant(
    applicant: Mapping[str, Any], verified_claims: Mapping[str, Any] | list[Any]
) -> MatchReport:
    """Compare what the applicant told the enterprise with a verified record."""
    return compare_people(
        person_from_applicant(applicant), person_from_claims(record_claims(verified_claims))
    )
