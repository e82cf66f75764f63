from datetime import UTC, datetime, timedelta

import pytest

from honnin.contracts.core import ContractTerms, choose_contract, validate_terms
from honnin.contracts.errors import (
    ClaimsNotAllowedError,
    InvalidContractError,
    NoActiveContractError,
    PurposeNotAllowedError,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def terms(**changes: object) -> ContractTerms:
    values: dict[str, object] = {
        "id": "ctr_1",
        "enterprise_id": "ent_1",
        "bank_id": "momiji_rest",
        "claims": ("family_name", "given_name", "birthdate"),
        "purposes": ("account_opening",),
        "valid_from": NOW - timedelta(days=1),
        "valid_until": NOW + timedelta(days=1),
        "rate_per_second": None,
        "daily_quota": None,
        "status": "active",
    }
    values.update(changes)
    return ContractTerms(**values)  # type: ignore[arg-type]


def test_in_force_window_is_half_open() -> None:
    contract = terms(valid_from=NOW, valid_until=NOW + timedelta(hours=1))
    assert contract.in_force(NOW)
    assert not contract.in_force(NOW - timedelta(microseconds=1))
    assert not contract.in_force(NOW + timedelta(hours=1))
    assert terms(valid_until=None).in_force(NOW + timedelta(days=3650))


def test_revoked_contract_is_never_in_force() -> None:
    assert not terms(status="revoked").in_force(NOW)


def test_choose_contract_covers_claims_and_purpose() -> None:
    chosen = choose_contract(
        [terms()], at=NOW, claims=["family_name", "birthdate"], purpose="account_opening"
    )
    assert chosen.id == "ctr_1"


def test_choose_contract_refusals_name_the_reason() -> None:
    with pytest.raises(NoActiveContractError):
        choose_contract(
            [terms(status="revoked")], at=NOW, claims=["family_name"], purpose="account_opening"
        )
    with pytest.raises(NoActiveContractError):
        choose_contract(
            [terms()], at=NOW + timedelta(days=2), claims=["family_name"], purpose="account_opening"
        )
    with pytest.raises(PurposeNotAllowedError):
        choose_contract([terms()], at=NOW, claims=["family_name"], purpose="marketing")
    with pytest.raises(ClaimsNotAllowedError, match="address"):
        choose_contract(
            [terms()], at=NOW, claims=["family_name", "address"], purpose="account_opening"
        )


def test_second_contract_can_widen_claims() -> None:
    wide = terms(id="ctr_2", claims=("family_name", "address"))
    chosen = choose_contract([terms(), wide], at=NOW, claims=["address"], purpose="account_opening")
    assert chosen.id == "ctr_2"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"claims": ["password"]}, "unknown claims"),
        ({"claims": []}, "at least one claim"),
        ({"purposes": [" "]}, "purpose"),
        ({"valid_until": NOW - timedelta(days=2)}, "after valid_from"),
        ({"rate_per_second": 0}, "rate_per_second"),
        ({"daily_quota": 0}, "daily_quota"),
    ],
)
def test_validate_terms_rejects(changes: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "claims": ["family_name"],
        "purposes": ["account_opening"],
        "valid_from": NOW - timedelta(days=1),
        "valid_until": None,
        "rate_per_second": None,
        "daily_quota": None,
    }
    values.update(changes)
    with pytest.raises(InvalidContractError, match=message):
        validate_terms(**values)  # type: ignore[arg-type]
