"""Kanji numerals to integers (pure).

Handles both ways of writing numbers in Japanese text: positional digits (二〇二四 = 2024)
and multiplicative forms with 十/百/千/万 (二千二十四 = 2024, 十二 = 12), including the
legal forms used in registers (壱, 弐, 参, 拾).
"""

from __future__ import annotations

import functools
import re

__all__ = [
    "KANJI_DIGITS",
    "KANJI_NUMERAL_CHARS",
    "int_to_kanji",
    "kanji_to_int",
    "replace_kanji_numerals",
]

KANJI_DIGITS: dict[str, int] = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "壱": 1,
    "二": 2,
    "弐": 2,
    "三": 3,
    "参": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS: dict[str, int] = {"十": 10, "拾": 10, "百": 100, "千": 1000}
_MAN = "万"
KANJI_NUMERAL_CHARS = "".join(KANJI_DIGITS) + "".join(_UNITS) + _MAN


def _below_man(text: str) -> int:
    if all(ch in KANJI_DIGITS for ch in text):
        # Positional form: 二〇二四.
        value = 0
        for ch in text:
            value = value * 10 + KANJI_DIGITS[ch]
        return value
    total = 0
    pending: int | None = None
    for ch in text:
        if ch in KANJI_DIGITS:
            if pending is not None:
                raise ValueError("two digits without a unit between them")
            pending = KANJI_DIGITS[ch]
        else:
            total += (1 if pending is None else pending) * _UNITS[ch]
            pending = None
    return total + (pending or 0)


def kanji_to_int(text: str) -> int:
    """Value of a kanji numeral; ``ValueError`` if ``text`` is not one.

    >>> kanji_to_int("二十三"), kanji_to_int("二〇二四"), kanji_to_int("百五")
    (23, 2024, 105)
    """
    if not text or any(ch not in KANJI_NUMERAL_CHARS for ch in text):
        raise ValueError("not a kanji numeral")
    if text.count(_MAN) > 1:
        raise ValueError("more than one 万")
    high, sep, low = text.partition(_MAN)
    if sep:
        return (_below_man(high) if high else 1) * 10_000 + (_below_man(low) if low else 0)
    return _below_man(text)


@functools.lru_cache(maxsize=32)
def _numeral_run_before(followed_by: str) -> re.Pattern[str]:
    return re.compile(f"[{KANJI_NUMERAL_CHARS}]+(?={followed_by})")


def replace_kanji_numerals(text: str, *, followed_by: str) -> str:
    """Replace runs of kanji numerals by ASCII digits where ``followed_by`` (a regex) follows.

    The lookahead keeps place names such as 四日市 or 八王子 intact: only numerals in
    front of a counter (丁目, 番, 号 ...) are numbers.
    """
    pattern = _numeral_run_before(followed_by)

    def _convert(match: re.Match[str]) -> str:
        try:
            return str(kanji_to_int(match.group(0)))
        except ValueError:
            return match.group(0)

    return pattern.sub(_convert, text)


def int_to_kanji(value: int) -> str:
    """The multiplicative kanji form (0 -> 〇, 12 -> 十二, 2024 -> 二千二十四), below 10^8."""
    if not 0 <= value < 100_000_000:
        raise ValueError("only 0 <= value < 10^8 is written")
    if value == 0:
        return "〇"
    digits = "〇一二三四五六七八九"

    def below_man(number: int) -> str:
        out = []
        for unit, symbol in ((1000, "千"), (100, "百"), (10, "十")):
            count, number = divmod(number, unit)
            if count:
                out.append(("" if count == 1 else digits[count]) + symbol)
        if number:
            out.append(digits[number])
        return "".join(out)

    high, low = divmod(value, 10_000)
    return (below_man(high) + "万" if high else "") + below_man(low)
