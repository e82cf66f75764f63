"""Kana to passport Hepburn."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.matching.romaji import latin_key, looks_latin, romaji_variants


@pytest.mark.parametrize(
    ("kana", "spelling"),
    [
        ("サトウ", "SATO"),
        ("サトウ", "SATOH"),
        ("サトウ", "SATOU"),
        ("オオノ", "ONO"),
        ("ユウコ", "YUKO"),
        ("ホンマ", "HOMMA"),
        ("ホンマ", "HONMA"),
        ("マッチャ", "MATCHA"),
        ("ハットリ", "HATTORI"),
        ("シンイチ", "SHINICHI"),
        ("ｷｮｳｺ", "KYOKO"),
        ("ちづる", "CHIZURU"),
        ("ジョージ", "JOJI"),
    ],
)
def test_spellings(kana: str, spelling: str) -> None:
    assert spelling in romaji_variants(kana)


def test_not_kana() -> None:
    assert romaji_variants("佐藤") == frozenset()
    assert romaji_variants("") == frozenset()


def test_latin_helpers() -> None:
    assert latin_key("Sato<<Yuko") == "SATOYUKO"
    assert latin_key("ＳＡＴＯ") == "SATO"
    assert looks_latin("O'Brien-Smith")
    assert not looks_latin("佐藤")
    assert not looks_latin("")


@given(st.text(alphabet=st.characters(min_codepoint=0x30A1, max_codepoint=0x30FC), max_size=8))
def test_variants_are_upper_ascii(kana: str) -> None:
    for spelling in romaji_variants(kana):
        assert spelling.isascii()
        assert spelling == latin_key(spelling)
