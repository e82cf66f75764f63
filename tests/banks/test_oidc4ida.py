"""OIDC4IDA schema validation with the schemas shipped inside the package."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.banks.errors import VerifiedClaimsInvalidError
from honnin.banks.oidc4ida import validate_verified_claims, verified_claims_errors

VALID: dict[str, Any] = {
    "verification": {
        "trust_framework": "jp_aml",
        "time": "2026-11-21T04:40:00Z",
        "evidence": [
            {
                "type": "electronic_record",
                "check_details": [{"check_method": "data", "time": "2026-11-21T04:40:00Z"}],
                "record": {"type": "bank_account", "source": {"name": "x"}},
            }
        ],
    },
    "claims": {
        "family_name": "山田",
        "family_name#ja-Kana-JP": "ヤマダ",
        "birthdate": "1990-02-15",
    },
}


def _examples(shared_dir: Path) -> list[Path]:
    return sorted((shared_dir / "spec/oidc4ida/examples/response").glob("*.json"))


def test_every_official_response_example_validates(shared_dir: Path) -> None:
    examples = _examples(shared_dir)
    assert len(examples) > 20
    for example in examples:
        assert verified_claims_errors(json.loads(example.read_text("utf-8"))) == [], example.name


def test_packaged_schemas_equal_the_shared_spec(shared_dir: Path) -> None:
    packaged = Path(__file__).resolve().parents[2] / "src/honnin/banks/schema"
    for name in ("verified_claims.json", "claims_schema.json", "verified_claims_request.json"):
        assert (packaged / name).read_bytes() == (
            shared_dir / "spec/oidc4ida/schema" / name
        ).read_bytes()


def test_valid_element_and_container() -> None:
    validate_verified_claims(VALID)
    validate_verified_claims({"sub": "x", "verified_claims": VALID})
    validate_verified_claims({"verified_claims": [VALID, VALID]})


def _broken(path: list[str | int], value: Any) -> dict[str, Any]:
    obj = copy.deepcopy(VALID)
    node: Any = obj
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return obj


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (["verification", "trust_framework"], KeyError, "$.verification: required"),
        (["claims", "birthdate"], "1990-2-15", "$.claims.birthdate: pattern"),
        (["verification", "time"], "yesterday", "$.verification.time: format"),
        (["verification", "evidence", 0, "type"], "bank", "type: enum"),
        (["verification", "evidence", 0, "check_details"], [], "check_details: minItems"),
        (["verification", "evidence", 0, "record", "type"], KeyError, "record: required"),
        (["claims", "family_name#ja-Kana-JP"], ["ヤマダ"], "language-tagged claim"),
        (["claims", "address"], {}, "$.claims.address: minProperties"),
        (["extra"], 1, "additionalProperties"),
    ],
)
def test_invalid_objects_are_rejected_with_path_and_keyword(
    path: list[str | int], value: Any, where: str
) -> None:
    obj = _broken(path, value)
    with pytest.raises(VerifiedClaimsInvalidError) as info:
        validate_verified_claims(obj)
    assert where in info.value.safe_message
    assert info.value.code == "verified_claims_invalid"


def test_error_messages_never_quote_the_value() -> None:
    obj = _broken(["claims", "birthdate"], "昭和60年4月1日")
    errors = verified_claims_errors(obj)
    assert errors
    assert all("昭和" not in e for e in errors)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["verification", "claims", "evidence", "time", "type", "x", "a#ja"]),
            children,
            max_size=3,
        )
    ),
    max_leaves=12,
)


@given(JSON)
def test_arbitrary_json_is_valid_or_a_clean_error(obj: Any) -> None:
    with contextlib.suppress(VerifiedClaimsInvalidError):
        validate_verified_claims(obj)
