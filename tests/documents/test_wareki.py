"""Wareki and card date notations."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.documents.wareki import find_dates, parse_date, to_wareki


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("昭和63年 4月 5日生", date(1988, 4, 5)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("令和03年05月01日", date(2021, 5, 1)),
        ("2031年 4月 5日まで有効", date(2031, 4, 5)),
        ("2031年(令和13年)05月05日まで有効", date(2031, 5, 5)),
        ("05 APR 1988", date(1988, 4, 5)),
        ("08NOV1958", date(1958, 11, 8)),
        ("S63.4.5", date(1988, 4, 5)),
        ("１９９０年０１月０２日", date(1990, 1, 2)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text) == expected


def test_impossible_dates_are_skipped() -> None:
    assert parse_date("平成5年2月30日") is None
    assert find_dates("no dates here") == []


def test_era_boundaries() -> None:
    assert to_wareki(date(1989, 1, 7)).text == "昭和64年 1月 7日"
    assert to_wareki(date(1989, 1, 8)).text == "平成元年 1月 8日"
    assert to_wareki(date(2019, 5, 1), padded=True).text == "令和01年05月01日"


@given(st.dates(min_value=date(1912, 8, 1), max_value=date(2060, 12, 31)), st.booleans())
def test_wareki_round_trip(value: date, padded: bool) -> None:
    assert parse_date(to_wareki(value, padded=padded).text) == value
