"""Shape keys: elements with one key get one verdict from the full schema validator."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from honnin.banks import oidc4ida
from honnin.banks.errors import VerifiedClaimsInvalidError
from honnin.banks.mapping import load_mapping
from honnin.banks.oidc4ida import validate_verified_claims, verified_claims_errors
from honnin.banks.shape import shape_key

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "banks"
INDEX = oidc4ida._shape_index()


def _momiji(**changes: str) -> dict[str, Any]:
    payload = json.loads((ASSETS / "momiji_rest" / "customer.json").read_text("utf-8"))
    payload.update(changes)
    return load_mapping("momiji_rest").apply(
        payload,
        content_type="application/json",
        bank_id="momiji_rest",
        fetched_at=dt.datetime.now(dt.UTC),
        validate=False,
    )


def test_index_is_read_from_the_schemas() -> None:
    assert {"family_name", "given_name", "name"} <= INDEX.plain_claims
    assert "birthdate" in INDEX.claim_patterns
    assert "birthdate" not in INDEX.plain_claims
    assert "country_code" in INDEX.address_patterns
    assert INDEX.datetime_verification == {"time"}
    assert "type" not in INDEX.plain_check  # nothing selecting a branch is blanked


def test_same_mapping_different_people_share_a_key() -> None:
    a = _momiji()
    b = _momiji(name_kanji="佐藤 花子", birth_date="20000229", kyc_verified_at="2020-01-01T00:00Z")
    assert a != b
    assert shape_key(a, INDEX) == shape_key(b, INDEX) is not None


def test_constrained_values_change_the_key() -> None:
    a = _momiji()
    b = copy.deepcopy(a)
    b["claims"]["birthdate"] = "1990-2-15"
    c = copy.deepcopy(a)
    c["verification"]["time"] = "yesterday"
    d = copy.deepcopy(a)
    d["verification"]["evidence"][0]["type"] = "document"
    keys = {shape_key(x, INDEX) for x in (a, b, c)}
    assert len(keys) == 3
    assert shape_key(d, INDEX) is None  # only electronic_record evidence is cached


def test_cache_never_lets_an_invalid_element_through() -> None:
    valid = _momiji()
    validate_verified_claims(valid)
    validate_verified_claims(valid)  # cached
    for path, value in (
        (("claims", "birthdate"), "1990-2-15"),
        (("claims", "family_name#ja-Kana-JP"), ["ヤマダ"]),
        (("claims", "family_name"), 3),
        (("verification", "time"), "2020-01-01"),
    ):
        broken = copy.deepcopy(valid)
        broken[path[0]][path[1]] = value
        with pytest.raises(VerifiedClaimsInvalidError):
            validate_verified_claims(broken)


def test_uncacheable_shapes_still_validate() -> None:
    assert shape_key({"verified_claims": {}}, INDEX) is None
    assert shape_key({"verification": [], "claims": {}}, INDEX) is None
    odd = {"verification": {"trust_framework": "x", "time": dt.datetime.now()}, "claims": {}}
    assert shape_key(odd, INDEX) is None
    with pytest.raises(VerifiedClaimsInvalidError):
        validate_verified_claims(odd)
    validate_verified_claims({"verification": {"trust_framework": "x"}, "claims": {}})


TEXT = st.text(max_size=12)
DATETIME = st.one_of(
    st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.isoformat()),
    st.just("2021-03-03T09:42Z"),
)
VALID = st.fixed_dictionaries(
    {
        "verification": st.fixed_dictionaries(
            {
                "trust_framework": TEXT,
                "time": DATETIME,
                "evidence": st.lists(
                    st.fixed_dictionaries(
                        {
                            "type": st.just("electronic_record"),
                            "check_details": st.lists(
                                st.fixed_dictionaries(
                                    {"check_method": TEXT, "time": DATETIME},
                                    optional={"organization": TEXT},
                                ),
                                min_size=1,
                                max_size=2,
                            ),
                            "record": st.fixed_dictionaries(
                                {"type": TEXT, "created_at": DATETIME},
                                optional={
                                    "source": st.dictionaries(
                                        st.sampled_from(["name", "country_code"]), TEXT
                                    )
                                },
                            ),
                        }
                    ),
                    min_size=1,
                    max_size=2,
                ),
            },
            optional={"verification_process": TEXT},
        ),
        "claims": st.fixed_dictionaries(
            {
                "family_name": TEXT,
                "family_name#ja-Kana-JP": TEXT,
                "birthdate": st.dates().map(dt.date.isoformat),
                "address": st.fixed_dictionaries(
                    {"country_code": st.sampled_from(["JP", "JPN", "jpn"])},
                    optional={"formatted": TEXT, "postal_code": TEXT},
                ),
            },
        ),
    }
)

# One defect at one position: (path, bad values). Each must flip the verdict alone.
DEFECTS: list[tuple[tuple[str | int, ...], list[Any]]] = [
    (("claims", "birthdate"), ["1985-4-1", "", 19850401, None]),
    (("claims", "address", "country_code"), ["J", "JAPAN", "", "日本", 1]),
    (("claims", "family_name"), [3, ["a"], None]),
    (("claims", "family_name#ja-Kana-JP"), [3, {"a": "b"}]),
    (("verification", "time"), ["2021-03-03", "x", "2021-02-30T00:00:00Z", 5]),
    (("verification", "trust_framework"), [None, 3]),
    (("verification", "evidence", 0, "check_details", 0, "time"), ["x", "2021-13-01T00:00Z"]),
    (("verification", "evidence", 0, "check_details", 0, "check_method"), [1]),
    (("verification", "evidence", 0, "record", "created_at"), ["1985-04-01", 0]),
    (("verification", "evidence", 0, "record", "type"), [None, 2]),
    (("verification", "evidence", 0, "check_details"), [[]]),
]


@st.composite
def with_one_defect(draw: st.DrawFn) -> dict[str, Any]:
    element = draw(VALID)
    path, bad = draw(st.sampled_from(DEFECTS))
    node: Any = element
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = draw(st.sampled_from(bad))
    return element


_PATTERN_VALUES = {"birthdate": "2000-01-01", "country_code": "JP"}


def _substitute(value: Any, skeleton: Any, key: str, plain: str) -> Any:
    """Rewrite every placeholder position of ``value`` (as ``skeleton`` marks it)."""
    if skeleton == "s":
        return plain
    if skeleton == "t":
        return "1999-12-31T23:59:59+09:00"
    if skeleton == "p":
        return _PATTERN_VALUES[key]
    if isinstance(skeleton, dict):
        return {k: _substitute(value[k], skeleton[k], k, plain) for k in value}
    if isinstance(skeleton, list) and skeleton[:1] != ["="]:
        return [_substitute(v, s, key, plain) for v, s in zip(value, skeleton, strict=True)]
    return value


@settings(max_examples=200, deadline=None)
@given(st.one_of(VALID, with_one_defect()))
def test_one_key_one_verdict(element: dict[str, Any]) -> None:
    key = shape_key(element, INDEX)
    if key is None:
        return
    skeleton = json.loads(key)
    verdict = verified_claims_errors(element) == []
    # A placeholder position must not matter: rewrite all of them to values that would
    # satisfy a pattern (a valid date) or not (plain text), and the verdict must hold.
    for plain in ("2000-01-01", "x"):
        other = _substitute(element, skeleton, "", plain)
        assert shape_key(other, INDEX) == key
        assert (verified_claims_errors(other) == []) == verdict


@given(with_one_defect())
def test_every_single_defect_is_invalid(element: dict[str, Any]) -> None:
    assert verified_claims_errors(element) != []
