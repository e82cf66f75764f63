"""Arbitrary input never escapes as anything but the documented errors."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from honnin.matching.address import parse_address, split_address
from honnin.matching.claims import match_applicant
from honnin.matching.dates import parse_date
from honnin.matching.errors import InvalidDateError
from honnin.matching.text import fold_kana, normalize_name

TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(
            "〒東京都千代田区市町村郡丁目番地号の一二三十百千万元年月日昭和平成令和ｶﾞﾟ－ー-０１"
        ),
    ),
    max_size=40,
)


@given(TEXT)
def test_text_functions_are_total(text: str) -> None:
    assert isinstance(normalize_name(text), str)
    assert isinstance(fold_kana(text), str)
    parsed = parse_address(text)
    assert parsed.postal_code is None or (len(parsed.postal_code) == 7)
    assert isinstance(split_address(text).remainder, str)


@given(TEXT)
def test_dates_raise_only_invalid_date(text: str) -> None:
    with contextlib.suppress(InvalidDateError):
        parse_date(text)


@settings(max_examples=50)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "family_name": TEXT,
            "given_name": TEXT,
            "name_kana": TEXT,
            "birthdate": TEXT,
            "postal_code": TEXT,
            "address": TEXT,
        },
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "family_name": TEXT,
            "family_name#ja-Kana-JP": TEXT,
            "birthdate": TEXT,
            "address": st.fixed_dictionaries({}, optional={"formatted": TEXT, "locality": TEXT}),
        },
    ),
)
def test_match_applicant_is_total(applicant: dict[str, str], claims: dict[str, object]) -> None:
    report = match_applicant(applicant, {"verification": {}, "claims": claims})
    assert report.to_dict()["overall"] in {"match", "partial", "mismatch", "missing"}
