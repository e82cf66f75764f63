"""Dates as Japanese records write them: wareki (和暦), YYYYMMDD and ISO 8601 (pure).

Era boundaries follow the Imperial era names: 大正 from 1912-07-30, 昭和 from 1926-12-25,
平成 from 1989-01-08 (Act on Era Names, 元号法, and the 1989 Cabinet Order), 令和 from
2019-05-01. The first year of an era is written 元年. Japan adopted the Gregorian calendar
on 明治6年1月1日 (1873-01-01, Dajōkan Decree No. 337 of 1872); earlier 明治 dates are
lunisolar and are rejected rather than converted wrongly.

JIS X 0301 abbreviations (M/T/S/H/R, e.g. ``H01.01.08``) and the one-kanji forms
(明/大/昭/平/令) are read; ``strict`` rejects a date outside its era (平成31年5月1日 does not
exist; it is 令和元年5月1日), ``strict=False`` accepts such overflow as printed forms do.
The one-digit era codes (1 明治 ... 5 令和) followed by YYMMDD are what IC driving licences
and some registers store.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from honnin.matching.errors import InvalidDateError
from honnin.matching.numerals import KANJI_NUMERAL_CHARS, kanji_to_int
from honnin.matching.text import nfkc, remove_spaces

__all__ = [
    "ERAS",
    "Era",
    "era_of",
    "parse_date",
    "parse_era_code_date",
    "parse_iso_date",
    "parse_wareki",
    "parse_yyyymmdd",
    "to_era_code_date",
    "to_iso",
    "to_wareki",
    "to_yyyymmdd",
]


@dataclass(frozen=True, slots=True)
class Era:
    """A Japanese era: its names, JIS X 0301 letter, register code and first day."""

    kanji: str
    romaji: str
    letter: str
    code: int
    start: dt.date
    # The first day that the calendar accepts for this era (Gregorian adoption for Meiji).
    valid_from: dt.date

    @property
    def short(self) -> str:
        return self.kanji[0]


ERAS: tuple[Era, ...] = (
    Era("明治", "meiji", "M", 1, dt.date(1868, 1, 25), dt.date(1873, 1, 1)),
    Era("大正", "taisho", "T", 2, dt.date(1912, 7, 30), dt.date(1912, 7, 30)),
    Era("昭和", "showa", "S", 3, dt.date(1926, 12, 25), dt.date(1926, 12, 25)),
    Era("平成", "heisei", "H", 4, dt.date(1989, 1, 8), dt.date(1989, 1, 8)),
    Era("令和", "reiwa", "R", 5, dt.date(2019, 5, 1), dt.date(2019, 5, 1)),
)

_BY_NAME: dict[str, Era] = {}
for _era in ERAS:
    _BY_NAME[_era.kanji] = _era
    _BY_NAME[_era.short] = _era
    _BY_NAME[_era.letter] = _era
    _BY_NAME[_era.letter.lower()] = _era
    _BY_NAME[_era.romaji] = _era

_NUM = f"(?:\\d{{1,2}}|[{KANJI_NUMERAL_CHARS}]{{1,4}})"
_WAREKI = re.compile(
    r"^(?P<era>明治|大正|昭和|平成|令和|meiji|taisho|showa|heisei|reiwa|[明大昭平令MTSHRmtshr])"
    r"\.?"
    f"(?P<year>元|{_NUM})"
    r"(?:年|[./-])"
    f"(?P<month>{_NUM})"
    r"(?:月|[./-])"
    f"(?P<day>{_NUM})"
    r"(?:日)?(?:生まれ|生)?$",
    re.IGNORECASE,
)
_ISO = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:生まれ|生)?$")
_YYYYMMDD = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ERA_CODE = re.compile(r"^([1-5])(\d{2})(\d{2})(\d{2})$")


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        return kanji_to_int(text)
    except ValueError as exc:
        raise InvalidDateError("the date has an unreadable number") from exc


def _make_date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise InvalidDateError("the date does not exist in the calendar") from exc


def _next_start(era: Era) -> dt.date | None:
    index = ERAS.index(era)
    return ERAS[index + 1].start if index + 1 < len(ERAS) else None


def _from_era(era: Era, year: int, month: int, day: int, *, strict: bool) -> dt.date:
    if year < 1:
        raise InvalidDateError("an era year starts at 1 (元年)")
    value = _make_date(era.start.year + year - 1, month, day)
    if value < era.valid_from:
        if value >= era.start:
            raise InvalidDateError("the date predates Japan's Gregorian calendar (1873)")
        raise InvalidDateError("the date is before the start of its era")
    next_start = _next_start(era)
    if strict and next_start is not None and value >= next_start:
        raise InvalidDateError("the date is after the end of its era")
    return value


def parse_wareki(text: str, *, strict: bool = True) -> dt.date:
    """A Japanese-era date: 昭和60年4月1日, 平成元年1月8日, H1.1.8, R06.05.01, 昭六〇・四・一."""
    cleaned = remove_spaces(nfkc(text)).replace("・", ".")
    match = _WAREKI.match(cleaned)
    if match is None:
        raise InvalidDateError("not a Japanese-era date")
    era = _BY_NAME.get(match["era"]) or _BY_NAME[match["era"].lower()]
    year = 1 if match["year"] == "元" else _number(match["year"])
    return _from_era(era, year, _number(match["month"]), _number(match["day"]), strict=strict)


def parse_yyyymmdd(text: str) -> dt.date:
    """An eight-digit Gregorian date (19850401); full-width digits are accepted."""
    match = _YYYYMMDD.match(remove_spaces(nfkc(text)))
    if match is None:
        raise InvalidDateError("not an eight-digit YYYYMMDD date")
    return _make_date(int(match[1]), int(match[2]), int(match[3]))


def parse_iso_date(text: str) -> dt.date:
    """A Gregorian date with separators: 1985-04-01, 1985/4/1, 1985年4月1日."""
    match = _ISO.match(remove_spaces(nfkc(text)))
    if match is None:
        raise InvalidDateError("not a Gregorian date")
    return _make_date(int(match[1]), int(match[2]), int(match[3]))


def parse_era_code_date(text: str, *, strict: bool = True) -> dt.date:
    """Era code + YYMMDD (``3600401`` = 昭和60年4月1日), as on IC driving licences."""
    match = _ERA_CODE.match(remove_spaces(nfkc(text)))
    if match is None:
        raise InvalidDateError("not an era-code date")
    era = ERAS[int(match[1]) - 1]
    return _from_era(era, int(match[2]), int(match[3]), int(match[4]), strict=strict)


def parse_date(text: str, *, strict: bool = True) -> dt.date:
    """Any of the forms above: ISO / slashed / 年月日, YYYYMMDD, or wareki."""
    cleaned = remove_spaces(nfkc(text))
    if _YYYYMMDD.match(cleaned):
        return parse_yyyymmdd(cleaned)
    if _ISO.match(cleaned):
        return parse_iso_date(cleaned)
    return parse_wareki(cleaned, strict=strict)


def era_of(value: dt.date) -> Era:
    """The era in force on ``value``; dates before 1873 have none we can convert."""
    for era in reversed(ERAS):
        if value >= era.start:
            if value < era.valid_from:
                break
            return era
    raise InvalidDateError("the date predates Japan's Gregorian calendar (1873)")


def to_iso(value: dt.date) -> str:
    """``YYYY-MM-DD`` (the OIDC ``birthdate`` form)."""
    return value.isoformat()


def to_yyyymmdd(value: dt.date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def to_wareki(value: dt.date, *, style: Literal["kanji", "jis"] = "kanji") -> str:
    """令和6年1月2日 (元年 for year 1) or the JIS X 0301 form R06.01.02."""
    era = era_of(value)
    year = value.year - era.start.year + 1
    if style == "jis":
        return f"{era.letter}{year:02d}.{value.month:02d}.{value.day:02d}"
    year_text = "元" if year == 1 else str(year)
    return f"{era.kanji}{year_text}年{value.month}月{value.day}日"


def to_era_code_date(value: dt.date) -> str:
    era = era_of(value)
    year = value.year - era.start.year + 1
    return f"{era.code}{year:02d}{value.month:02d}{value.day:02d}"
