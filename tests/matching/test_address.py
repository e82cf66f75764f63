"""Address parsing and normalisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.matching.address import (
    PREFECTURES,
    extract_postal_code,
    format_postal_code,
    normalize_building,
    normalize_postal_code,
    normalize_street,
    parse_address,
    split_address,
)
from honnin.matching.errors import InvalidPostalCodeError
from honnin.matching.numerals import int_to_kanji


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "〒100-0001 東京都千代田区千代田1-1-1 千代田ビル101",
            ("1000001", "東京都", "千代田区", "千代田1-1-1", "千代田ビル101"),
        ),
        (
            "〒１００－０００１　東京都千代田区千代田１丁目１番地の１　千代田ビル１０１号室",
            ("1000001", "東京都", "千代田区", "千代田1-1-1", "千代田ビル101"),
        ),
        ("東京都千代田区千代田一丁目一番一号", (None, "東京都", "千代田区", "千代田1-1-1", None)),
        ("神奈川県横浜市中区山下町123", (None, "神奈川県", "横浜市中区", "山下町123", None)),
        ("三重県四日市市諏訪町1番5号", (None, "三重県", "四日市市", "諏訪町1-5", None)),
        ("千葉県市川市八幡1-1-1", (None, "千葉県", "市川市", "八幡1-1-1", None)),
        ("北海道札幌市中央区北1条西2丁目", (None, "北海道", "札幌市中央区", "北1条西2", None)),
        (
            "北海道札幌市中央区北一条西二丁目1番地",
            (None, "北海道", "札幌市中央区", "北1条西2-1", None),
        ),
        (
            "東京都西多摩郡瑞穂町大字箱根ヶ崎2335番地",
            (None, "東京都", "西多摩郡瑞穂町", "箱根ケ崎2335", None),
        ),
        ("東京都千代田区霞が関一丁目2-3", (None, "東京都", "千代田区", "霞ケ関1-2-3", None)),
        (
            "宮城県仙台市青葉区一番町四丁目７番１７号",
            (None, "宮城県", "仙台市青葉区", "一番町4-7-17", None),
        ),
        ("千代田区千代田1-1", (None, None, "千代田区", "千代田1-1", None)),
        ("東京都町田市森野2-2-22", (None, "東京都", "町田市", "森野2-2-22", None)),
        ("奈良県大和郡山市北郡山町248-4", (None, "奈良県", "大和郡山市", "北郡山町248-4", None)),
        ("愛知県蒲郡市旭町17-1", (None, "愛知県", "蒲郡市", "旭町17-1", None)),
        ("福岡県小郡市小郡255-1", (None, "福岡県", "小郡市", "小郡255-1", None)),
        ("富山県中新川郡上市町法音寺1", (None, "富山県", "中新川郡上市町", "法音寺1", None)),
        ("北海道余市郡仁木町西町1-36-1", (None, "北海道", "余市郡仁木町", "西町1-36-1", None)),
        ("兵庫県神崎郡市川町西川辺165-3", (None, "兵庫県", "神崎郡市川町", "西川辺165-3", None)),
        ("日本 東京都港区芝公園4-2-8", (None, "東京都", "港区", "芝公園4-2-8", None)),
    ],
)
def test_parse(text: str, expected: tuple[str | None, ...]) -> None:
    parsed = parse_address(text)
    assert (
        parsed.postal_code,
        parsed.prefecture,
        parsed.municipality,
        parsed.street,
        parsed.building,
    ) == expected


def test_kanji_variants_fold_in_addresses() -> None:
    assert parse_address("東京都新宿区髙田馬場1-2-3") == parse_address("東京都新宿区高田馬場1-2-3")


def test_split_keeps_the_text_as_written() -> None:
    parts = split_address("〒530-0001 大阪府大阪市北区梅田３丁目１番１号 梅田タワー")
    assert parts.postal_code == "530-0001"
    assert parts.prefecture == "大阪府"
    assert parts.municipality == "大阪市北区"
    assert parts.remainder == "梅田3丁目1番1号 梅田タワー"


def test_postal_codes() -> None:
    assert normalize_postal_code("〒１００－０００１") == "1000001"
    assert format_postal_code("100 0001") == "100-0001"
    assert extract_postal_code("東京都港区 〒105-0011 芝公園") == ("105-0011", "東京都港区 芝公園")
    # A house number is not a postal code unless marked or leading.
    assert extract_postal_code("東京都港区芝公園123-4567")[0] is None
    with pytest.raises(InvalidPostalCodeError):
        normalize_postal_code("100-001")


def test_building() -> None:
    assert normalize_building("ｻﾝﾗｲｽﾞ 101号室") == "サンライズ101"


@given(st.from_regex(r"\A[0-9]{3}-?[0-9]{4}\Z"))
def test_postal_code_round_trip_and_width(code: str) -> None:
    digits = code.replace("-", "")
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else "－" for c in code)
    assert normalize_postal_code(wide) == digits
    assert normalize_postal_code(format_postal_code(code)) == digits


BLOCK = st.integers(min_value=1, max_value=99)


@given(BLOCK, BLOCK, BLOCK, st.sampled_from(["千代田", "梅田", "丸の内", "一番町"]))
def test_street_spellings_normalise_alike(a: int, b: int, c: int, town: str) -> None:
    spellings = [
        f"{town}{a}-{b}-{c}",
        f"{town}{int_to_kanji(a)}丁目{int_to_kanji(b)}番{int_to_kanji(c)}号",
        f"{town}{a}丁目{b}番地{c}",
        f"{town}{a}丁目{b}番地の{c}",
        f"{town}{a}の{b}の{c}",
        "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in f"{town}{a}丁目{b}−{c}"),
    ]
    normalised = {normalize_street(s) for s in spellings}
    assert len(normalised) == 1, normalised
    (value,) = normalised
    assert normalize_street(value) == value


@given(st.sampled_from(PREFECTURES), BLOCK, BLOCK)
def test_parse_is_stable_under_width(prefecture: str, a: int, b: int) -> None:
    text = f"{prefecture}テスト市本町{a}-{b}"
    wide = "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() or ch == "-" else ch for ch in text)
    assert parse_address(wide) == parse_address(text)
    assert parse_address(text).prefecture == prefecture


@given(
    st.text(
        alphabet=st.sampled_from(
            "一二三十百丁目番地号のノ-ー－‐0123４町市区郡村通上る西入 ビル室ヶが大字"
        ),
        max_size=24,
    )
)
def test_street_normalisation_is_idempotent(text: str) -> None:
    once = normalize_street(text)
    assert normalize_street(once) == once
    building = normalize_building(text)
    assert normalize_building(building) == building
