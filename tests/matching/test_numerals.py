"""Kanji numerals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.matching.numerals import int_to_kanji, kanji_to_int, replace_kanji_numerals


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一", 1),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("二十三", 23),
        ("百五", 105),
        ("千二百", 1200),
        ("二〇二四", 2024),
        ("二千二十四", 2024),
        ("一万二千", 12000),
        ("万", 10000),
        ("参拾", 30),
        ("〇", 0),
    ],
)
def test_values(text: str, value: int) -> None:
    assert kanji_to_int(text) == value


@pytest.mark.parametrize("text", ["", "一a", "一二十", "万万"])
def test_not_numerals(text: str) -> None:
    with pytest.raises(ValueError):
        kanji_to_int(text)


@given(st.integers(min_value=0, max_value=99_999_999))
def test_round_trip(value: int) -> None:
    assert kanji_to_int(int_to_kanji(value)) == value


def test_out_of_range() -> None:
    with pytest.raises(ValueError):
        int_to_kanji(-1)


def test_replacement_only_before_counters() -> None:
    assert replace_kanji_numerals("四日市三丁目", followed_by="丁目") == "四日市3丁目"
    assert replace_kanji_numerals("八王子", followed_by="丁目") == "八王子"
