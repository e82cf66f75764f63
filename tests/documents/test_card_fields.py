"""Field extraction from OCR boxes (no OCR engine: boxes as the engine returns them)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from honnin.documents.card_fields import (
    OcrLine,
    detect_type,
    group_rows,
    normalise_text,
    read_fields,
    restore_prefecture,
)


def _box(text: str, x: float, y: float, *, width: float = 400, angle: float = 0.0) -> OcrLine:
    h = 36.0
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    points = [(0, 0), (width, 0), (width, h), (0, h)]
    corners = tuple((x + px * c - py * s, y + px * s + py * c) for px, py in points)
    return OcrLine(text, 0.95, corners)


def test_my_number_card_fields() -> None:
    lines = [
        _box("氏名佐藤大辅", 40, 50),
        _box("住所 宫城仙台市青葉区本町1丁目14番5号", 40, 140, width=700),
        _box("平成8年10月1日生", 40, 230),
        _box("性别男", 480, 230, width=120),
        _box("2034年10月6日飞有效", 40, 310),
        _box("9882", 40, 420, width=100),
        _box("個人番号力一卜", 40, 530),
    ]
    reading = read_fields(lines)
    assert reading.document_type == "mynumber"
    values = {name: item.value for name, item in reading.fields.items()}
    assert values == {
        "name": "佐藤大輔",
        "address": "宮城県仙台市青葉区本町1丁目14番5号",
        "birth_date": "1996-10-01",
        "expiry_date": "2034-10-06",
        "security_code": "9882",
        "sex": "M",
    }


def test_driver_licence_fields_with_rotation() -> None:
    lines = [
        _box("氏名林翔太", 45, 172, angle=6),
        _box("平成6年8月17日生", 431, 124 + 40, width=250, angle=6),
        _box("住所大阪府大阪市北区梅田9丁目26番2号", 55, 252, width=700, angle=6),
        _box("交付合和04年08月18日12345", 63, 330, angle=6),
        _box("今和09年08月18日飞有效", 81, 403, angle=6),
        _box("番号第045709520045号", 98, 559, angle=6),
        _box("運免許证", 114, 660, angle=6),
    ]
    reading = read_fields(lines)
    values = {name: item.value for name, item in reading.fields.items()}
    assert reading.document_type == "driver_license"
    assert values["birth_date"] == "1994-08-17"
    assert values["expiry_date"] == "2027-08-18"
    assert values["document_number"] == "045709520045"
    assert values["name"] == "林翔太"


def test_residence_card_number_confusions() -> None:
    lines = [
        _box("在留力一下", 40, 30),
        _box("番号AM7479380OMA", 560, 36),
        _box("氏名SHIMIZU KENTA", 40, 110),
        _box("生年月日2002年11月12日", 40, 180),
        _box("住居地 京都府京都市中京区寺町15番地", 40, 240, width=700),
        _box("2035年02月13日有", 40, 540),
    ]
    reading = read_fields(lines)
    values = {name: item.value for name, item in reading.fields.items()}
    assert reading.document_type == "residence_card"
    assert values["document_number"] == "AM74793800MA"
    assert values["birth_date"] == "2002-11-12"
    assert values["expiry_date"] == "2035-02-13"
    assert values["name"] == "SHIMIZU KENTA"


def test_passport_mrz_with_collapsed_fillers() -> None:
    lines = [
        _box("PASSPORT", 40, 30),
        _box("P<JPNKOBAYASHI<<KENTA<<<<<<<<<<<<<<<<<", 40, 730, width=1100),
        _box("HX22183408JPN5811085M2703095<<<<<<<<<<4", 40, 792, width=1100),
    ]
    reading = read_fields(lines)
    assert reading.mrz is not None
    assert reading.mrz.valid
    values = {name: item.value for name, item in reading.fields.items()}
    assert values["name"] == "KOBAYASHI KENTA"
    assert values["document_number"] == "HX2218340"
    assert values["birth_date"] == "1958-11-08"
    assert all(item.source == "mrz" for item in reading.fields.values())


def test_rows_of_a_rotated_page_stay_apart() -> None:
    lines = [_box(f"row{i}", 40 + 10 * i, 100 + 60 * i, width=900, angle=9) for i in range(4)]
    assert [row.text for row in group_rows(lines)] == ["row0", "row1", "row2", "row3"]


def test_label_and_value_boxes_join() -> None:
    rows = group_rows([_box("山田花子", 200, 50), _box("氏名", 40, 52, width=100)])
    assert [row.text for row in rows] == ["氏名 山田花子"]


def test_normalisation() -> None:
    assert normalise_text("今和09年") == "令和09年"
    assert normalise_text("宫城") == "宮城"
    assert restore_prefecture("琦玉川口市") == "琦玉川口市"
    assert restore_prefecture("神奈川鼎横浜市") == "神奈川県横浜市"
    assert restore_prefecture("東京千代田区") == "東京都千代田区"
    assert restore_prefecture("北海道札幌市") == "北海道札幌市"
    assert restore_prefecture("千千葉市中央区") == "千葉県千葉市中央区"
    assert restore_prefecture("千葉県千葉市中央区") == "千葉県千葉市中央区"
    assert restore_prefecture("京都府京都市") == "京都府京都市"
    assert detect_type("nothing") == "unknown"


@given(
    st.lists(st.tuples(st.text(max_size=40), st.floats(0, 2000), st.floats(0, 2000)), max_size=12)
)
def test_arbitrary_boxes_never_crash(items: list[tuple[str, float, float]]) -> None:
    reading = read_fields([_box(text, x, y) for text, x, y in items])
    assert isinstance(reading.to_dict(), dict)


def test_passport_visual_zone_names_win_over_a_damaged_mrz_name() -> None:
    lines = [
        _box("PASSPORT", 40, 30),
        _box("Surname/姓", 40, 330),
        _box("SHIMIZU", 40, 360),
        _box("Given name/名", 40, 400),
        _box("NAOMI", 40, 430),
        _box("P<PNH1M1U<<N0M1<<<<<<<<<<<<<<<<<<<<<<<<<", 40, 730, width=1100),
        _box("YN49191807JPN6805274F3410060<<<<<<<<<<<<<<<2", 40, 792, width=1100),
    ]
    reading = read_fields(lines)
    assert reading.fields["name"].value == "SHIMIZU NAOMI"
    assert reading.fields["name"].source == "label"
    assert reading.fields["document_number"].value == "YN4919180"
    assert reading.fields["document_number"].source == "mrz"


def test_simplified_title_still_detects_my_number_card() -> None:
    assert detect_type("个人番号力一K") == "mynumber"
