"""Japanese era (wareki) dates and the date notations printed on Japanese ID cards.

Eras per the Cabinet Order on era names: 明治 (1868), 大正 (1912-07-30), 昭和 (1926-12-25),
平成 (1989-01-08), 令和 (2019-05-01). Year 1 of an era is written 元年. Cards print
``昭和63年 4月 5日``, licences pad to ``令和03年05月01日``, passports ``05 APR 1988``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from honnin.matching.dates import ERAS as _ERAS

# One era table for the platform (honnin.matching.dates), newest first for card reading.
ERAS: tuple[tuple[str, date], ...] = tuple((era.kanji, era.start) for era in reversed(_ERAS))
_ERA_START_YEAR = {name: start.year for name, start in ERAS}
# Romanised initials used in forms (S63, H01, R5).
_ERA_INITIALS = {era.letter: era.kanji for era in _ERAS}
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {name: index + 1 for index, name in enumerate(_MONTH_NAMES)}


@dataclass(frozen=True)
class WarekiDate:
    era: str
    year: int
    month: int
    day: int
    text: str


def to_wareki(value: date, *, padded: bool = False) -> WarekiDate:
    """``date(1988, 4, 5)`` -> 昭和63年 4月 5日 (``padded``: 昭和63年04月05日)."""
    for era, start in ERAS:
        if value >= start:
            year = value.year - start.year + 1
            if padded:
                text = f"{era}{year:02d}年{value.month:02d}月{value.day:02d}日"
            else:
                year_text = "元" if year == 1 else str(year)
                text = f"{era}{year_text}年 {value.month}月 {value.day}日"
            return WarekiDate(era, year, value.month, value.day, text)
    msg = "date before the Meiji era"
    raise ValueError(msg)


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


_ERA_RE = re.compile(
    r"(明治|大正|昭和|平成|令和|[MTSHR])\s*(元|\d{1,2})\s*[年.]\s*(\d{1,2})\s*[月.]\s*(\d{1,2})"
)
# Licences print "2031年(令和13年)05月05日": an era year in brackets may follow the year.
_WESTERN_RE = re.compile(
    r"((?:18|19|20)\d{2})\s*[年/.-]\s*(?:[(（][^)）]{0,8}[)）]\s*)?(\d{1,2})\s*[月/.-]\s*(\d{1,2})"
)
_PASSPORT_RE = re.compile(r"(\d{1,2})\s*([A-Z]{3})\s*((?:19|20)\d{2})")


@dataclass(frozen=True)
class FoundDate:
    value: date
    start: int
    end: int
    notation: str  # "wareki", "western", "passport"


def find_dates(text: str) -> list[FoundDate]:
    """Every date in ``text`` in any card notation, in reading order."""
    text = unicodedata.normalize("NFKC", text)
    found: list[FoundDate] = []
    taken: list[tuple[int, int]] = []
    for match in _WESTERN_RE.finditer(text):
        value = _make(int(match[1]), int(match[2]), int(match[3]))
        if value:
            found.append(FoundDate(value, match.start(), match.end(), "western"))
            taken.append(match.span())
    for match in _ERA_RE.finditer(text):
        if any(s <= match.start() < e for s, e in taken):
            continue
        era = _ERA_INITIALS.get(match[1], match[1])
        year = 1 if match[2] == "元" else int(match[2])
        value = _make(_ERA_START_YEAR[era] + year - 1, int(match[3]), int(match[4]))
        if value:
            found.append(FoundDate(value, match.start(), match.end(), "wareki"))
    for match in _PASSPORT_RE.finditer(text.upper()):
        month = _MONTHS.get(match[2])
        value = _make(int(match[3]), month, int(match[1])) if month else None
        if value:
            found.append(FoundDate(value, match.start(), match.end(), "passport"))
    return sorted(found, key=lambda item: item.start)


def parse_date(text: str) -> date | None:
    """The first date in ``text`` (wareki, western or passport notation), or None."""
    dates = find_dates(text)
    return dates[0].value if dates else None
