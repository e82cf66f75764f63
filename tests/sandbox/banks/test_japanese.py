"""Renderers of half-width kana, full-width digits and wareki dates (property-based).

Each renderer is checked against an independent reader: Unicode NFKC for the width
conversions, and Honnin's own wareki parser (``honnin.matching.dates``) for era dates.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.matching.dates import parse_wareki
from honnin.sandbox.banks.errors import RenderError
from honnin.sandbox.banks.japanese import (
    to_fullwidth_digits,
    to_halfwidth_katakana,
    to_wareki,
)

KATAKANA = st.text(
    alphabet=st.sampled_from([chr(c) for c in range(0x30A1, 0x30F7)] + ["ー", "\u3000", "ヴ"]),
    max_size=30,
)


@given(KATAKANA)
def test_halfwidth_kana_reads_back_through_nfkc(text: str) -> None:
    half = to_halfwidth_katakana(text)
    assert all(not 0x30A0 <= ord(char) <= 0x30FF for char in half if char not in "ヮヰヱヵヶ")
    expected = text.replace("\u3000", " ")
    # ヮヰヱヵヶ have no half-width form and pass through unchanged.
    assert unicodedata.normalize("NFKC", half) == unicodedata.normalize("NFKC", expected)


def test_halfwidth_examples() -> None:
    assert to_halfwidth_katakana("イトウ\u3000ジョージ") == "ｲﾄｳ ｼﾞｮｰｼﾞ"
    assert to_halfwidth_katakana("パピプ 髙橋") == "ﾊﾟﾋﾟﾌﾟ 髙橋"


@given(st.text(max_size=30))
def test_fullwidth_digits_read_back_through_nfkc(text: str) -> None:
    wide = to_fullwidth_digits(text)
    assert not any(char in "0123456789" for char in wide)
    assert unicodedata.normalize("NFKC", wide) == unicodedata.normalize("NFKC", text)


@given(st.dates(min_value=dt.date(1873, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_wareki_reads_back_as_the_same_day(day: dt.date) -> None:
    assert parse_wareki(to_wareki(day).render()) == day
    assert parse_wareki(to_wareki(day).render(fullwidth=False, gannen=False)) == day


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (dt.date(1989, 1, 7), "昭和６４年１月７日"),
        (dt.date(1989, 1, 8), "平成元年１月８日"),
        (dt.date(1926, 12, 25), "昭和元年１２月２５日"),
        (dt.date(1926, 12, 24), "大正１５年１２月２４日"),
        (dt.date(2019, 4, 30), "平成３１年４月３０日"),
        (dt.date(2019, 5, 1), "令和元年５月１日"),
        (dt.date(1912, 7, 30), "大正元年７月３０日"),
        (dt.date(1873, 1, 1), "明治６年１月１日"),
    ],
)
def test_era_boundaries(day: dt.date, text: str) -> None:
    assert to_wareki(day).render() == text


def test_dates_before_the_gregorian_calendar_are_refused() -> None:
    with pytest.raises(RenderError):
        to_wareki(dt.date(1872, 12, 31))
