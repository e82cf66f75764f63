"""Each bank's wire format, read back by Honnin's own mappings (docs/bank-mappings.md).

This is the contract between the sandbox banks and ``honnin.banks.mapping``: every seeded
customer, written by every bank, must map to schema-valid ``verified_claims`` that say
the same thing as the customer record.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from defusedxml import ElementTree

from honnin.banks.mapping import load_mapping
from honnin.banks.oidc4ida import validate_verified_claims
from honnin.sandbox.banks.customers import CUSTOMERS, Customer
from honnin.sandbox.banks.formats import (
    DATA_ITEMS,
    kaede_body,
    momiji_body,
    momiji_record,
    sakura_verified_claims,
)

FETCHED = dt.datetime(2026, 11, 21, 5, 0, tzinfo=dt.UTC)


def wire(bank_id: str, customer: Customer) -> tuple[bytes, str]:
    if bank_id == "momiji_rest":
        return momiji_body(customer, DATA_ITEMS), "application/json"
    if bank_id == "kaede_xml":
        return kaede_body(customer, DATA_ITEMS), "application/xml; charset=utf-8"
    body = {"sub": "x", "verified_claims": sakura_verified_claims(customer, DATA_ITEMS)}
    return json.dumps(body, ensure_ascii=False).encode(), "application/json"


@pytest.mark.parametrize("customer", CUSTOMERS, ids=lambda c: c.username)
@pytest.mark.parametrize("bank_id", ["sakura_oidc", "momiji_rest", "kaede_xml"])
def test_every_customer_maps_to_the_same_identity(bank_id: str, customer: Customer) -> None:
    body, content_type = wire(bank_id, customer)
    verified = load_mapping(bank_id).apply(
        body, content_type=content_type, bank_id=bank_id, fetched_at=FETCHED
    )
    validate_verified_claims(verified)
    claims = verified["claims"]
    assert claims["family_name"] == customer.family_name
    assert claims["given_name"] == customer.given_name
    assert claims["family_name#ja-Kana-JP"] == customer.family_name_kana
    assert claims["given_name#ja-Kana-JP"] == customer.given_name_kana
    assert claims["birthdate"] == customer.birthdate.isoformat()
    address = claims["address"]
    assert address["postal_code"] == customer.address.postal_code_hyphenated
    assert address["region"] == customer.address.prefecture
    assert address["locality"] == customer.address.municipality
    assert verified["verification"]["time"] == f"{customer.account_opened}T01:00:00Z"


def test_sakura_raw_record_is_schema_valid_and_minimised() -> None:
    customer = CUSTOMERS[0]
    validate_verified_claims(sakura_verified_claims(customer, DATA_ITEMS))
    only_name = sakura_verified_claims(customer, {"name"})
    assert set(only_name["claims"]) == {"family_name", "given_name"}
    narrowed = sakura_verified_claims(customer, DATA_ITEMS, claim_names={"birthdate"})
    assert narrowed["claims"] == {"birthdate": "1990-04-01"}


def test_momiji_writes_halfwidth_kana_and_one_address_line() -> None:
    ito = next(c for c in CUSTOMERS if c.username == "ito")
    record = momiji_record(ito, DATA_ITEMS)
    assert record["name_kana"] == "ｲﾄｳ ｼﾞｮｰｼﾞ"
    assert record["birth_date"] == "20000229"
    assert record["address"] == "〒150-0002 東京都渋谷区渋谷2-21-1 渋谷ヒカリエ"
    assert "address" not in momiji_record(ito, {"name"})


def test_kaede_writes_wareki_and_fullwidth_digits() -> None:
    yamasaki = next(c for c in CUSTOMERS if c.username == "yamasaki")
    root = ElementTree.fromstring(kaede_body(yamasaki, DATA_ITEMS))
    ns = {"k": "urn:example:kaede-bank:kyc:1"}
    assert root.find("k:Customer/k:BirthDate", ns).text == "昭和６４年１月７日"
    assert root.find("k:Customer/k:Address/k:PostalCode", ns).text == "４６０－０００８"
    assert root.find("k:Customer/k:Address/k:Street", ns).text == "栄三丁目１５番３３号"
