"""The sandbox banks' writers and the bundled mappings agree, for every seeded customer.

The sandbox banks (honnin.sandbox.banks.formats) produce the wire formats documented in
docs/bank-mappings.md; mapping each customer's record must give schema-valid
``verified_claims`` whose match report against the customer's own data is a match.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from honnin.banks.mapping import load_mapping
from honnin.banks.oidc4ida import validate_verified_claims
from honnin.matching.claims import match_applicant
from honnin.matching.compare import Outcome
from honnin.sandbox.banks.customers import CUSTOMERS, Customer
from honnin.sandbox.banks.formats import (
    DATA_ITEMS,
    kaede_body,
    momiji_body,
    sakura_verified_claims,
)

FETCHED_AT = dt.datetime(2026, 11, 21, 5, 0, tzinfo=dt.UTC)


def _body(bank: str, customer: Customer, items: tuple[str, ...]) -> tuple[bytes, str]:
    if bank == "sakura_oidc":
        userinfo = {"sub": "s", "verified_claims": sakura_verified_claims(customer, items)}
        return json.dumps(userinfo, ensure_ascii=False).encode(), "application/json"
    if bank == "momiji_rest":
        return momiji_body(customer, items), "application/json"
    return kaede_body(customer, items), "application/xml"


def _applicant(customer: Customer) -> dict[str, Any]:
    a = customer.address
    return {
        "family_name": customer.family_name,
        "given_name": customer.given_name,
        "family_name_kana": customer.family_name_kana,
        "given_name_kana": customer.given_name_kana,
        "birthdate": customer.birthdate.isoformat(),
        "postal_code": a.postal_code,
        "address": f"{a.prefecture}{a.municipality}{a.street} {a.building}".strip(),
    }


BANKS = ("sakura_oidc", "momiji_rest", "kaede_xml")


@pytest.mark.parametrize("bank", BANKS)
@pytest.mark.parametrize("customer", CUSTOMERS, ids=lambda c: c.username)
def test_every_customer_maps_and_matches(bank: str, customer: Customer) -> None:
    body, content_type = _body(bank, customer, DATA_ITEMS)
    result = load_mapping(bank).apply(
        body, content_type=content_type, bank_id=bank, fetched_at=FETCHED_AT
    )
    validate_verified_claims(result)
    claims = result["claims"]
    assert claims["birthdate"] == customer.birthdate.isoformat()
    assert claims["address"]["postal_code"] == customer.address.postal_code_hyphenated
    assert claims["family_name#ja-Kana-JP"] == customer.family_name_kana
    report = match_applicant(_applicant(customer), result)
    assert report.overall is Outcome.MATCH, report.to_dict()


@pytest.mark.parametrize("bank", BANKS)
def test_data_minimisation_leaves_claims_out(bank: str) -> None:
    customer = CUSTOMERS[0]
    body, content_type = _body(bank, customer, ("name", "birthdate"))
    result = load_mapping(bank).apply(
        body, content_type=content_type, bank_id=bank, fetched_at=FETCHED_AT
    )
    validate_verified_claims(result)
    assert "address" not in result["claims"]
    assert "family_name#ja-Kana-JP" not in result["claims"]
    report = match_applicant(_applicant(customer), result)
    assert report.field("address").missing == "record"
    assert report.overall is Outcome.PARTIAL
