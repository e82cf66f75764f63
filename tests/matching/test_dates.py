"""Wareki, YYYYMMDD and ISO dates: examples, era boundaries and round trips."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.matching.dates import (
    ERAS,
    era_of,
    parse_date,
    parse_era_code_date,
    parse_iso_date,
    parse_wareki,
    parse_yyyymmdd,
    to_era_code_date,
    to_iso,
    to_wareki,
    to_yyyymmdd,
)
from honnin.matching.errors import InvalidDateError

D = dt.date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("昭和60年4月1日", D(1985, 4, 1)),
        ("昭和６０年４月１日", D(1985, 4, 1)),
        ("昭和 60年 4月 1日生", D(1985, 4, 1)),
        ("昭和六十年四月一日", D(1985, 4, 1)),
        ("昭六〇・四・一", D(1985, 4, 1)),
        ("㍼60年4月1日", D(1985, 4, 1)),
        ("S60.4.1", D(1985, 4, 1)),
        ("s60/04/01", D(1985, 4, 1)),
        ("Ｓ６０．４．１", D(1985, 4, 1)),
        ("昭60-4-1", D(1985, 4, 1)),
        ("Showa60.4.1", D(1985, 4, 1)),
        ("平成元年1月8日", D(1989, 1, 8)),
        ("H1.1.8", D(1989, 1, 8)),
        ("H01.01.08", D(1989, 1, 8)),
        ("S64.1.7", D(1989, 1, 7)),
        ("平成31年4月30日", D(2019, 4, 30)),
        ("令和元年5月1日", D(2019, 5, 1)),
        ("R6.1.2", D(2024, 1, 2)),
        ("㋿6年1月2日", D(2024, 1, 2)),
        ("大正元年7月30日", D(1912, 7, 30)),
        ("明治45年7月29日", D(1912, 7, 29)),
        ("T15.12.24", D(1926, 12, 24)),
        ("昭和元年12月25日", D(1926, 12, 25)),
        ("M6.1.1", D(1873, 1, 1)),
    ],
)
def test_wareki(text: str, expected: dt.date) -> None:
    assert parse_wareki(text) == expected
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("平成31年5月1日", "after the end"),  # that day is 令和元年5月1日
        ("昭和64年1月8日", "after the end"),
        ("H1.1.7", "before the start"),
        ("令和1年4月30日", "before the start"),
        ("大正15年12月25日", "after the end"),
        ("明治5年12月31日", "Gregorian"),
        ("平成0年1月1日", "starts at 1"),
        ("平成2年2月30日", "does not exist"),
        ("昭和60年13月1日", "does not exist"),
        ("X60.4.1", "not a Japanese-era"),
        ("昭和六十二三年1月1日", "unreadable number"),
        ("", "not a Japanese-era"),
    ],
)
def test_invalid_wareki(text: str, message: str) -> None:
    with pytest.raises(InvalidDateError, match=message) as info:
        parse_wareki(text)
    assert info.value.code == "invalid_date"


def test_lenient_overflow_but_never_before_the_start() -> None:
    assert parse_wareki("平成31年5月1日", strict=False) == D(2019, 5, 1)
    assert parse_wareki("H32.1.1", strict=False) == D(2020, 1, 1)
    with pytest.raises(InvalidDateError):
        parse_wareki("令和1年4月30日", strict=False)


def test_other_forms() -> None:
    assert parse_yyyymmdd("19850401") == D(1985, 4, 1)
    assert parse_yyyymmdd("１９８５０４０１") == D(1985, 4, 1)
    assert parse_iso_date("1985/4/1") == parse_iso_date("1985年4月1日") == D(1985, 4, 1)
    assert parse_era_code_date("3600401") == D(1985, 4, 1)
    assert parse_date("1985-04-01") == parse_date("19850401") == D(1985, 4, 1)
    for bad in ("1985041", "19851301", "1985-02-30"):
        with pytest.raises(InvalidDateError):
            parse_date(bad)


def test_era_table_is_ordered_and_contiguous() -> None:
    starts = [era.start for era in ERAS]
    assert starts == sorted(starts)
    assert [era.code for era in ERAS] == [1, 2, 3, 4, 5]
    assert era_of(D(1989, 1, 7)).kanji == "昭和"
    assert era_of(D(1989, 1, 8)).kanji == "平成"
    with pytest.raises(InvalidDateError):
        era_of(D(1872, 12, 31))


def test_to_wareki_uses_gannen() -> None:
    assert to_wareki(D(2019, 5, 1)) == "令和元年5月1日"
    assert to_wareki(D(2024, 1, 2), style="jis") == "R06.01.02"
    assert to_era_code_date(D(1985, 4, 1)) == "3600401"


DATES = st.dates(min_value=D(1873, 1, 1), max_value=D(2099, 12, 31))


@given(DATES)
def test_round_trips(value: dt.date) -> None:
    assert parse_wareki(to_wareki(value)) == value
    assert parse_wareki(to_wareki(value, style="jis")) == value
    assert parse_era_code_date(to_era_code_date(value)) == value
    assert parse_yyyymmdd(to_yyyymmdd(value)) == value
    assert parse_date(to_iso(value)) == value


@given(DATES)
def test_width_invariance(value: dt.date) -> None:
    text = to_wareki(value)
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isdigit() else c for c in text)
    assert parse_wareki(wide) == value
