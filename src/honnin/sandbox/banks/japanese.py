"""Pure Japanese text renderers the sandbox banks use to write their records.

Real bank back-ends print the same person differently: half-width katakana (JIS X 0201
kana, as on zengin transfer files), full-width digits (JIS X 0208) and Japanese-era
(wareki) dates under the Era Name Act (元号法, 1979). These functions only *render*;
the reverse (normalisation for matching) lives in ``honnin.matching``.

The half-width table is derived from Unicode's own compatibility decompositions
(UAX #15, NFKC) rather than typed in by hand, so it cannot drift from the standard.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from honnin.sandbox.banks.errors import RenderError

_HALFWIDTH_KANA_FIRST = 0xFF61
_HALFWIDTH_KANA_LAST = 0xFF9F
_DAKUTEN = "\uff9e"  # ﾞ
_HANDAKUTEN = "\uff9f"  # ﾟ


def _build_halfwidth_table() -> dict[str, str]:
    table: dict[str, str] = {}
    bases = [chr(cp) for cp in range(_HALFWIDTH_KANA_FIRST, _HALFWIDTH_KANA_LAST + 1)]
    for half in bases:
        full = unicodedata.normalize("NFKC", half)
        if len(full) == 1:
            table.setdefault(full, half)
    # Voiced and semi-voiced kana are two half-width code points (base + mark).
    for half in bases:
        for mark in (_DAKUTEN, _HANDAKUTEN):
            full = unicodedata.normalize("NFKC", half + mark)
            if len(full) == 1 and full not in table:
                table[full] = half + mark
    table["\u3000"] = " "  # ideographic space
    table["\u30fc"] = "\uff70"  # katakana-hiragana prolonged sound mark -> ｰ
    return table


_HALFWIDTH = _build_halfwidth_table()
_FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def to_halfwidth_katakana(text: str) -> str:
    """Full-width katakana (and the ideographic space) to half-width katakana.

    Characters without a half-width form (kanji, Latin) pass through unchanged.
    """
    return "".join(_HALFWIDTH.get(char, char) for char in text)


def to_fullwidth_digits(text: str) -> str:
    """ASCII digits to full-width digits (U+FF10..U+FF19); everything else unchanged."""
    return text.translate(_FULLWIDTH_DIGITS)


@dataclass(frozen=True, slots=True)
class Era:
    """One Japanese era: its name, romanised code, first Gregorian day, year of 元年."""

    name: str
    code: str
    starts: dt.date
    first_year: int


# Start days per the imperial rescripts / Era Name Act (Gregorian calendar).
ERAS: tuple[Era, ...] = (
    Era("令和", "R", dt.date(2019, 5, 1), 2019),
    Era("平成", "H", dt.date(1989, 1, 8), 1989),
    Era("昭和", "S", dt.date(1926, 12, 25), 1926),
    Era("大正", "T", dt.date(1912, 7, 30), 1912),
    # Japan adopted the Gregorian calendar on 明治6年1月1日; earlier days are lunisolar.
    Era("明治", "M", dt.date(1873, 1, 1), 1868),
)


@dataclass(frozen=True, slots=True)
class WarekiDate:
    """A date in the Japanese era system: era, year of the era (1 = 元年), month, day."""

    era: Era
    year: int
    month: int
    day: int

    def render(self, *, fullwidth: bool = True, gannen: bool = True) -> str:
        """``昭和６４年１月７日``; year 1 as ``元年`` unless ``gannen`` is false."""
        year = "元" if (self.year == 1 and gannen) else str(self.year)
        text = f"{self.era.name}{year}年{self.month}月{self.day}日"
        return to_fullwidth_digits(text) if fullwidth else text


def to_wareki(day: dt.date) -> WarekiDate:
    """The era date of a Gregorian ``day`` (明治6年 onwards)."""
    for era in ERAS:
        if day >= era.starts:
            return WarekiDate(era, day.year - era.first_year + 1, day.month, day.day)
    msg = "date is before the Gregorian calendar was adopted in Japan (1873)"
    raise RenderError(msg)
