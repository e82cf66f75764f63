"""Field-by-field comparison of two people's identity data, with a match report (pure).

Each field is compared on a ladder of normalisations, from the strictest to the most
lenient; the first rung where the values agree is reported as the comparison ``method``,
so a reader sees *how* equal two values are (``exact`` vs. ``kanji_variant``). The rungs:

- kanji names: ``exact`` -> ``nfkc`` (width, spaces; UAX #15) -> ``casefold`` (Latin
  names) -> ``kanji_variant`` (IVS selectors dropped, 髙 -> 高 per
  :mod:`honnin.matching.variants`);
- kana: ``exact`` -> ``kana`` (width, hiragana/katakana, separators, long vowel) ->
  ``kana_folded`` (small kana as large: ショウ = シヨウ, as Zengin records write) ->
  ``kana_phonetic`` (ヂ/ジ, ヅ/ズ, ヴ/ブ, ヲ/オ);
- dates: ``exact`` -> ``iso_date`` / ``yyyymmdd_to_iso`` / ``wareki_to_iso`` (by the
  forms read, :mod:`honnin.matching.dates`);
- addresses: component by component (:mod:`honnin.matching.address`).

Reports carry outcomes and methods only, never the values: they are stored and sent
where the personal data is not.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from honnin.matching import dates
from honnin.matching.address import (
    DESIGNATED_CITIES,
    ParsedAddress,
    detect_municipality,
    detect_prefecture,
    extract_postal_code,
    infer_prefecture,
    normalize_postal_code,
    parse_address,
    split_street_building,
)
from honnin.matching.errors import MatchingError
from honnin.matching.romaji import latin_key, looks_latin, romaji_variants
from honnin.matching.text import (
    fold_kana,
    fold_kana_phonetic,
    fold_kanji_variants,
    nfkc,
    normalize_kana,
    remove_spaces,
    strip_variation_selectors,
)

__all__ = [
    "AddressData",
    "FieldResult",
    "MatchReport",
    "Outcome",
    "PersonData",
    "compare_addresses",
    "compare_dates",
    "compare_kana",
    "compare_names",
    "compare_people",
]

Side = Literal["applicant", "record", "both"]


class Outcome(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    PARTIAL = "partial"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class FieldResult:
    """The outcome for one field (or one part of a field) and how it was reached."""

    field: str
    outcome: Outcome
    method: str
    missing: Side | None = None
    parts: tuple[FieldResult, ...] = ()

    def part(self, name: str) -> FieldResult:
        for item in self.parts:
            if item.field == name:
                return item
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"result": self.outcome.value, "method": self.method}
        if self.missing is not None:
            out["missing"] = self.missing
        if self.parts:
            out["parts"] = {p.field: p.to_dict() for p in self.parts}
        return out


@dataclass(frozen=True, slots=True)
class MatchReport:
    """Per-field results and an overall outcome.

    ``overall`` is ``mismatch`` if any field mismatches, else ``partial`` if any field is
    partial or a field the applicant gave is absent from the record, else ``match`` if
    something matched, else ``missing``.
    """

    fields: tuple[FieldResult, ...]

    @property
    def overall(self) -> Outcome:
        outcomes = {f.outcome for f in self.fields}
        if Outcome.MISMATCH in outcomes:
            return Outcome.MISMATCH
        if Outcome.PARTIAL in outcomes or any(f.missing == "record" for f in self.fields):
            return Outcome.PARTIAL
        if Outcome.MATCH in outcomes:
            return Outcome.MATCH
        return Outcome.MISSING

    def field(self, name: str) -> FieldResult:
        for item in self.fields:
            if item.field == name:
                return item
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.value,
            "fields": {f.field: f.to_dict() for f in self.fields},
        }


@dataclass(frozen=True, slots=True)
class AddressData:
    """An address as given: one line (``formatted``) and/or OIDC-style parts."""

    formatted: str | None = None
    postal_code: str | None = None
    region: str | None = None
    locality: str | None = None
    street_address: str | None = None

    @property
    def is_empty(self) -> bool:
        return not any(
            (self.formatted, self.postal_code, self.region, self.locality, self.street_address)
        )


@dataclass(frozen=True, slots=True)
class PersonData:
    """The identity fields compared; every one optional. Kana may be hiragana or katakana."""

    family_name: str | None = None
    given_name: str | None = None
    full_name: str | None = None
    family_name_kana: str | None = None
    given_name_kana: str | None = None
    full_name_kana: str | None = None
    birthdate: str | dt.date | None = None
    address: AddressData = field(default_factory=AddressData)


def _missing(name: str, a_present: bool, b_present: bool) -> FieldResult | None:
    if a_present and b_present:
        return None
    side: Side = (
        "both" if not (a_present or b_present) else ("applicant" if b_present else "record")
    )
    return FieldResult(name, Outcome.MISSING, "none", missing=side)


Ladder = tuple[tuple[str, Callable[[str], str]], ...]


def _name_nfkc(text: str) -> str:
    return remove_spaces(nfkc(text))


def _name_casefold(text: str) -> str:
    # Latin names of foreign residents: banks often store them in capitals (SMITH JOHN).
    return _name_nfkc(text).casefold()


def _name_variants(text: str) -> str:
    return fold_kanji_variants(strip_variation_selectors(_name_casefold(text)))


_NAME_LADDER: Ladder = (
    ("exact", str.strip),
    ("nfkc", _name_nfkc),
    ("casefold", _name_casefold),
    ("kanji_variant", _name_variants),
)
_KANA_LADDER: Ladder = (
    ("exact", str.strip),
    ("kana", normalize_kana),
    ("kana_folded", fold_kana),
    ("kana_phonetic", fold_kana_phonetic),
)


def _ladder(name: str, a: str | None, b: str | None, ladder: Ladder) -> FieldResult:
    missing = _missing(name, bool(a and a.strip()), bool(b and b.strip()))
    if missing is not None:
        return missing
    assert a is not None
    assert b is not None
    for method, normalise in ladder:
        if normalise(a) == normalise(b):
            return FieldResult(name, Outcome.MATCH, method)
    return FieldResult(name, Outcome.MISMATCH, ladder[-1][0])


def _combine(name: str, parts: tuple[FieldResult, ...], method: str) -> FieldResult:
    outcomes = [p.outcome for p in parts]
    compared = [o for o in outcomes if o is not Outcome.MISSING]
    if not compared:
        sides = {p.missing for p in parts}
        only = sides.pop() if len(sides) == 1 else None
        side: Side = only if only is not None else "both"
        return FieldResult(name, Outcome.MISSING, "none", missing=side, parts=parts)
    one_sided = any(p.missing in {"applicant", "record"} for p in parts)
    if all(o is Outcome.MATCH for o in compared) and not one_sided:
        outcome = Outcome.MATCH
    elif all(o is Outcome.MISMATCH for o in compared):
        outcome = Outcome.MISMATCH
    else:
        outcome = Outcome.PARTIAL
    return FieldResult(name, outcome, method, parts=parts)


def _loosest(parts: tuple[FieldResult, ...], ladder: Ladder) -> str:
    order = [m for m, _ in ladder]
    used = [p.method for p in parts if p.method in order]
    return max(used, key=order.index) if used else order[-1]


def _compare_split(
    name: str,
    a: tuple[str | None, str | None, str | None],
    b: tuple[str | None, str | None, str | None],
    ladder: Ladder,
) -> FieldResult:
    a_family, a_given, a_full = a
    b_family, b_given, b_full = b
    a_split = bool(a_family or a_given)
    b_split = bool(b_family or b_given)
    if a_split and b_split:
        parts = (
            _ladder("family", a_family, b_family, ladder),
            _ladder("given", a_given, b_given, ladder),
        )
        return _combine(name, parts, _loosest(parts, ladder))
    # One side only has the full name (a bank that stores 山田太郎 in one field): compare
    # the whole name, the family/given boundary being unknown.
    a_whole = a_full or ("".join(p for p in (a_family, a_given) if p) or None)
    b_whole = b_full or ("".join(p for p in (b_family, b_given) if p) or None)
    result = _ladder(name, a_whole, b_whole, ladder)
    if result.outcome is Outcome.MISSING:
        return result
    return FieldResult(name, result.outcome, f"full_name_{result.method}")


def _names(person: PersonData) -> tuple[str | None, str | None, str | None]:
    return person.family_name, person.given_name, person.full_name


def _kana(person: PersonData) -> tuple[str | None, str | None, str | None]:
    return person.family_name_kana, person.given_name_kana, person.full_name_kana


def _is_latin(person: PersonData) -> bool:
    names = [n for n in _names(person) if n]
    return bool(names) and all(looks_latin(n) for n in names)


def _romaji_part(name: str, latin: str | None, kana: str | None) -> FieldResult:
    missing = _missing(name, bool(kana), bool(latin))
    if missing is not None:
        return missing
    assert latin is not None
    assert kana is not None
    outcome = Outcome.MATCH if latin_key(latin) in romaji_variants(kana) else Outcome.MISMATCH
    return FieldResult(name, outcome, "romaji")


def _romaji(kana_side: PersonData, latin_side: PersonData) -> FieldResult | None:
    """A Latin name (passport, MRZ) against the other side's kana reading, when it has one."""
    k_family, k_given, k_full = _kana(kana_side)
    l_family, l_given, l_full = _names(latin_side)
    if (k_family or k_given) and (l_family or l_given):
        parts = (
            _romaji_part("family", l_family, k_family),
            _romaji_part("given", l_given, k_given),
        )
        return _combine("name", parts, "romaji")
    kana = k_full or "".join(p for p in (k_family, k_given) if p)
    latin = l_full or " ".join(p for p in (l_family, l_given) if p)
    if not kana or not latin:
        return None
    variants = romaji_variants(kana)
    if not variants:
        return None
    # A one-field Latin name may be in either order (MRZ: surname first; Western: given
    # first); the kana side then has to be split to try the other order.
    candidates = {latin_key(latin)}
    if k_family and k_given:
        variants |= {g + f for f in romaji_variants(k_family) for g in romaji_variants(k_given)}
    outcome = Outcome.MATCH if candidates & variants else Outcome.MISMATCH
    return FieldResult("name", outcome, "full_name_romaji")


def compare_names(applicant: PersonData, record: PersonData) -> FieldResult:
    """Kanji (or Latin) names: family and given separately, else the full name.

    When exactly one side is written in Latin letters (a passport or MRZ record) and the
    other side has a kana reading, the reading is romanised (:mod:`honnin.matching.romaji`)
    and compared with the Latin name: method ``romaji``.
    """
    result = _compare_split("name", _names(applicant), _names(record), _NAME_LADDER)
    if result.outcome in {Outcome.MATCH, Outcome.MISSING}:
        return result
    applicant_latin, record_latin = _is_latin(applicant), _is_latin(record)
    if applicant_latin != record_latin:
        kana_side, latin_side = (record, applicant) if applicant_latin else (applicant, record)
        romaji = _romaji(kana_side, latin_side)
        if romaji is not None and romaji.outcome is not Outcome.MISSING:
            return romaji
    return result


def compare_kana(applicant: PersonData, record: PersonData) -> FieldResult:
    """Kana readings: family and given separately, else the full reading."""
    return _compare_split(
        "name_kana",
        (applicant.family_name_kana, applicant.given_name_kana, applicant.full_name_kana),
        (record.family_name_kana, record.given_name_kana, record.full_name_kana),
        _KANA_LADDER,
    )


_FORM_METHOD = {
    "iso": "iso_date",
    "yyyymmdd": "yyyymmdd_to_iso",
    "wareki": "wareki_to_iso",
    "wareki_overflow": "wareki_overflow_to_iso",
}
_FORM_RANK = ("iso", "yyyymmdd", "wareki", "wareki_overflow")


def _read_date(value: str | dt.date) -> tuple[dt.date, str]:
    if isinstance(value, dt.date):
        return value, "iso"
    cleaned = remove_spaces(nfkc(value))
    if re.fullmatch(r"\d{8}", cleaned):
        return dates.parse_yyyymmdd(cleaned), "yyyymmdd"
    try:
        return dates.parse_iso_date(cleaned), "iso"
    except MatchingError:
        pass
    try:
        return dates.parse_wareki(cleaned), "wareki"
    except MatchingError:
        # 平成31年5月1日 does not exist, but forms printed before an era change make
        # people write it; it names 2019-05-01 unambiguously, so it is read, and said so.
        return dates.parse_wareki(cleaned, strict=False), "wareki_overflow"


def compare_dates(
    name: str, applicant: str | dt.date | None, record: str | dt.date | None
) -> FieldResult:
    """Dates in any form :mod:`honnin.matching.dates` reads; unreadable is a mismatch."""
    missing = _missing(name, bool(applicant), bool(record))
    if missing is not None:
        return missing
    assert applicant is not None
    assert record is not None
    if isinstance(applicant, str) and isinstance(record, str) and applicant == record:
        return FieldResult(name, Outcome.MATCH, "exact")
    try:
        a_date, a_form = _read_date(applicant)
        b_date, b_form = _read_date(record)
    except MatchingError:
        return FieldResult(name, Outcome.MISMATCH, "unreadable")
    form = max((a_form, b_form), key=_FORM_RANK.index)
    outcome = Outcome.MATCH if a_date == b_date else Outcome.MISMATCH
    return FieldResult(name, outcome, _FORM_METHOD[form])


# --- addresses ------------------------------------------------------------------------------


def _parse(data: AddressData) -> tuple[ParsedAddress, bool]:
    """Parsed parts and whether the street could be located (else text fallback)."""
    # The one-line form is parsed only for parts the structured fields do not give.
    complete = bool(data.region and data.locality and data.street_address)
    base = parse_address(data.formatted) if data.formatted and not complete else None
    postal = data.postal_code or (base.postal_code if base else None)
    if not postal and data.formatted and base is None:
        postal = extract_postal_code(data.formatted)[0]
    try:
        postal = normalize_postal_code(postal) if postal else None
    except MatchingError:
        postal = remove_spaces(nfkc(postal or ""))
    prefecture = base.prefecture if base else None
    municipality = base.municipality if base else None
    street = base.street if base else None
    building = base.building if base else None
    if data.region:
        prefecture, _ = detect_prefecture(fold_kanji_variants(nfkc(data.region)))
        prefecture = prefecture or remove_spaces(fold_kanji_variants(nfkc(data.region)))
    if data.locality:
        locality = remove_spaces(fold_kanji_variants(nfkc(data.locality)))
        found, rest = detect_municipality(locality)
        municipality = found if found and not rest else locality
    if data.street_address:
        street, building = split_street_building(data.street_address)
    parsed = ParsedAddress(postal, prefecture, municipality, street or None, building)
    return parsed, parsed.municipality is not None and parsed.street is not None


def _part(name: str, a: str | None, b: str | None, method: str) -> FieldResult:
    missing = _missing(name, bool(a), bool(b))
    if missing is not None:
        return missing
    outcome = Outcome.MATCH if a == b else Outcome.MISMATCH
    return FieldResult(name, outcome, method)


def _prefecture(a: ParsedAddress, b: ParsedAddress) -> FieldResult:
    result = _part("prefecture", a.prefecture, b.prefecture, "prefecture")
    if result.outcome is Outcome.MISSING and result.missing != "both":
        # 横浜市中区… without 神奈川県: a designated city or a Tokyo ward names it.
        given, other = (a, b) if a.prefecture else (b, a)
        inferred = infer_prefecture(other.municipality or "")
        if inferred is not None:
            outcome = Outcome.MATCH if inferred == given.prefecture else Outcome.MISMATCH
            return FieldResult("prefecture", outcome, "prefecture_inferred")
    return result


def _municipality(a: str | None, b: str | None) -> FieldResult:
    result = _part("municipality", a, b, "municipality")
    if result.outcome is Outcome.MISMATCH and a and b:
        # 横浜市 vs 横浜市中区: the same designated city, one side without the ward.
        for city in DESIGNATED_CITIES:
            if {a, b} & {city} and a.startswith(city) and b.startswith(city):
                return FieldResult("municipality", Outcome.PARTIAL, "designated_city")
    return result


def _street(a: str | None, b: str | None) -> FieldResult:
    result = _part("street", a, b, "street_normalised")
    if result.outcome is Outcome.MISMATCH and a and b:
        shorter, longer = sorted((a, b), key=len)
        if longer.startswith(shorter) and longer[len(shorter)] == "-":
            # 千代田1-1 vs 千代田1-1-1: one side stops at a coarser block.
            return FieldResult("street", Outcome.PARTIAL, "street_prefix")
    return result


def _room_number(a: ParsedAddress, b: ParsedAddress) -> tuple[FieldResult, FieldResult] | None:
    """1-2-3-405 on one side, 1-2-3 + サンハイツ405 on the other: the room number is the
    last hyphenated number, a common way to write it without the building name."""
    for short, long in ((a, b), (b, a)):
        if not (short.street and long.street and short.building and not long.building):
            continue
        room = long.street[len(short.street) + 1 :]
        if (
            long.street.startswith(short.street + "-")
            and room.isdigit()
            and re.search(rf"(?<!\d){room}$", short.building)
        ):
            return (
                FieldResult("street", Outcome.MATCH, "street_normalised"),
                FieldResult("building", Outcome.MATCH, "room_number"),
            )
    return None


def compare_addresses(applicant: AddressData, record: AddressData) -> FieldResult:
    """Postal code, prefecture, municipality, street (block numbers), building."""
    name = "address"
    missing = _missing(name, not applicant.is_empty, not record.is_empty)
    if missing is not None:
        return missing
    a, a_ok = _parse(applicant)
    b, b_ok = _parse(record)
    parts = (
        _part("postal_code", a.postal_code, b.postal_code, "postal_code"),
        _prefecture(a, b),
        _municipality(a.municipality, b.municipality),
        _street(a.street, b.street),
        _part("building", a.building, b.building, "building_normalised"),
    )
    postal_only = [not x.normalized and x.postal_code is not None for x in (a, b)]
    if any(postal_only):
        # One side gave only a postal code: that is all there is to compare.
        postal_code = parts[0]
        return FieldResult(
            name,
            postal_code.outcome,
            "postal_code_only",
            missing=postal_code.missing,
            parts=parts,
        )
    if not (a_ok and b_ok):
        text_equal = a.normalized == b.normalized and bool(a.normalized)
        outcome = Outcome.MATCH if text_equal else Outcome.MISMATCH
        return FieldResult(name, outcome, "address_text", parts=parts)
    postal, prefecture, municipality, street, building = parts
    if street.outcome is Outcome.PARTIAL:
        street, building = _room_number(a, b) or (street, building)
        parts = (postal, prefecture, municipality, street, building)
    if municipality.outcome is Outcome.MISMATCH or prefecture.outcome is Outcome.MISMATCH:
        outcome = Outcome.MISMATCH
    elif (
        street.outcome is not Outcome.MATCH
        or municipality.outcome is not Outcome.MATCH
        or prefecture.missing in {"applicant", "record"}
        or postal.outcome is Outcome.MISMATCH
        or building.outcome is Outcome.MISMATCH
    ):
        # Same municipality but not provably the same place (street differs or is
        # coarser, building or postal code differs, prefecture absent on one side).
        outcome = Outcome.PARTIAL
    else:
        outcome = Outcome.MATCH
    return FieldResult(name, outcome, "address_components", parts=parts)


def compare_people(applicant: PersonData, record: PersonData) -> MatchReport:
    """The match report for an applicant's data against a verified record."""
    return MatchReport(
        fields=(
            compare_names(applicant, record),
            compare_kana(applicant, record),
            compare_dates("birthdate", applicant.birthdate, record.birthdate),
            compare_addresses(applicant.address, record.address),
        )
    )
