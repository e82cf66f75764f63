"""Transforms: examples, and robustness on arbitrary text (payload errors only)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.banks.errors import BankPayloadError, MappingDefinitionError
from honnin.banks.transforms import TRANSFORMS, build_transform

# Arguments that make each transform buildable, for the robustness property.
ARGS: dict[str, Any] = {
    "split_postal_code": {"part": "address"},
    "address_part": {"part": "locality"},
    "split_name": {"part": "given"},
    "constant": "x",
    "default": "x",
    "concat": {"separator": "-"},
    "template": "{0}",
    "map": {"values": {"a": "b"}, "default": "c"},
    "regex_extract": {"pattern": "([0-9]+)"},
    "replace": {"old": "-", "new": ""},
    "wareki_to_iso": {"strict": False},
}


def _t(step: Any) -> Any:
    return build_transform(step, where="test")


@pytest.mark.parametrize(
    ("step", "value", "expected"),
    [
        ("nfkc", "ＡＢＣ１", "ABC1"),
        ("halfwidth_kana_to_fullwidth", "ﾔﾏﾀﾞ", "ヤマダ"),
        ("wareki_to_iso", "昭和６０年４月１日", "1985-04-01"),
        ({"wareki_to_iso": {"strict": False}}, "平成31年5月1日", "2019-05-01"),
        ("yyyymmdd_to_iso", "19900215", "1990-02-15"),
        ("era_code_to_iso", "4010108", "1989-01-08"),
        ("date_to_iso", "1990/2/15", "1990-02-15"),
        ("iso_datetime", "2022-10-03T14:05:00+09:00", "2022-10-03T05:05:00Z"),
        ("format_postal_code", "〒５３００００１", "530-0001"),
        ({"split_postal_code": {"part": "postal_code"}}, "〒530-0001 大阪府", "530-0001"),
        (
            {"split_postal_code": {"part": "address"}},
            "〒530-0001 大阪府大阪市北区梅田",
            "大阪府大阪市北区梅田",
        ),
        ({"address_part": {"part": "region"}}, "大阪府大阪市北区梅田1", "大阪府"),
        ({"address_part": {"part": "street_address"}}, "大阪府大阪市北区梅田1 ビル", "梅田1 ビル"),
        ({"split_name": {"part": "family"}}, "山田　太郎", "山田"),
        ({"split_name": {"part": "given", "separator": ","}}, "YAMADA,Taro", "Taro"),
        ({"split_name": {"part": "given"}}, "山田太郎", None),
        ({"constant": "JPN"}, None, "JPN"),
        ({"default": "x"}, None, "x"),
        ({"default": "x"}, "y", "y"),
        ({"concat": {"separator": " "}}, ["a", None, "b"], "a b"),
        ({"template": "{1}{0}"}, ["a", "b"], "ba"),
        ({"template": "{0} {1}"}, ["a", None], "a"),
        ("first", [None, "b", "c"], "b"),
        ({"map": {"values": {"1": "male"}}}, "1", "male"),
        ({"regex_extract": {"pattern": "(?P<n>[0-9]+)号", "group": "n"}}, "12号", "12"),
        ({"replace": {"old": "様", "new": ""}}, "山田様", "山田"),
        ("upper", "abc", "ABC"),
        ("empty_to_none", "", None),
        ("nfkc", None, None),
    ],
)
def test_examples(step: Any, value: Any, expected: Any) -> None:
    assert _t(step)(value) == expected


@pytest.mark.parametrize(
    ("step", "value"),
    [
        ("wareki_to_iso", "1985-04-01"),
        ("yyyymmdd_to_iso", "19850230"),
        ("iso_datetime", "2022-10-03T14:05:00"),
        ("iso_datetime", "yesterday"),
        ("format_postal_code", "123"),
        ({"map": {"values": {"1": "male"}}}, "9"),
        ("nfkc", ["a"]),
        ({"template": "{0}{1}"}, ["a"]),
    ],
)
def test_unreadable_values_are_payload_errors(step: Any, value: Any) -> None:
    with pytest.raises(BankPayloadError):
        _t(step)(value)


def test_step_shape_errors() -> None:
    for step in ({"nfkc": None, "strip": None}, 3, ["nfkc"]):
        with pytest.raises(MappingDefinitionError, match="one-key mapping"):
            _t(step)


def test_every_transform_is_covered_by_the_robustness_property() -> None:
    assert set(ARGS) | {name for name in TRANSFORMS if name not in ARGS} == set(TRANSFORMS)


VALUES = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.from_regex(
        r"\A(昭和|平成|令和|S|H|R)[0-9０-９元]{1,3}[年./][0-9]{1,2}[月./][0-9]{1,2}日?\Z"
    ),
    st.from_regex(r"\A〒?[0-9０-９]{3}[-－]?[0-9０-９]{4} ?[^\n]{0,20}\Z"),
    st.lists(st.none() | st.text(max_size=5), max_size=3),
)


@given(st.sampled_from(sorted(TRANSFORMS)), VALUES)
def test_any_value_maps_or_fails_with_a_payload_error(name: str, value: Any) -> None:
    step = {name: ARGS[name]} if name in ARGS else name
    transform = _t(step)
    try:
        result = transform(value)
    except BankPayloadError:
        return
    assert result is None or isinstance(result, str | bool | list)
