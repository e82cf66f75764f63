"""Pure writers of each sandbox bank's KYC record, one wire format per bank.

* ``sakura_oidc`` — OpenID Connect for Identity Assurance 1.0 ``verified_claims``
  (trust framework ``jp_aml``, evidence ``electronic_record``), Japanese names as
  language-tagged claims (OIDC Core §5.2, ``family_name#ja-Kana-JP``).
* ``momiji_rest`` — flat JSON: kanji name, half-width kana, ``YYYYMMDD`` birth date and
  one address string with the postal code inside it.
* ``kaede_xml`` — XML with the postal code as its own element, wareki birth dates and
  full-width digits.

Only the data items the customer agreed to share are written (data minimisation).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any
from xml.etree import ElementTree as ET

from honnin.sandbox.banks.customers import Address, Customer, customer_number
from honnin.sandbox.banks.japanese import (
    to_fullwidth_digits,
    to_halfwidth_katakana,
    to_wareki,
)

# The data items a customer can agree to share, in consent-page order.
DATA_ITEMS: tuple[str, ...] = ("name", "kana", "birthdate", "address")

SAKURA_CLAIMS_BY_ITEM: Mapping[str, tuple[str, ...]] = {
    "name": ("family_name", "given_name"),
    "kana": ("family_name#ja-Kana-JP", "given_name#ja-Kana-JP"),
    "birthdate": ("birthdate",),
    "address": ("address",),
}


JST_SUFFIX = "T10:00:00+09:00"  # account-opening checks are stamped 10:00 Japan time


def verified_at(customer: Customer) -> str:
    """When the bank verified the customer (account opening), ISO 8601 in JST."""
    return customer.account_opened.isoformat() + JST_SUFFIX


def _street_and_building(address: Address, street: str) -> str:
    return f"{street} {address.building}" if address.building else street


def sakura_verified_claims(
    customer: Customer,
    items: Collection[str],
    *,
    claim_names: Collection[str] | None = None,
) -> dict[str, Any]:
    """An OIDC4IDA ``verified_claims`` object for ``customer``.

    ``claim_names`` narrows the claims to those asked for in an OIDC ``claims``
    request parameter (OIDC Core §5.5); ``None`` means every claim of ``items``.
    The evidence is the bank's own: the driving permit it checked at account opening.
    """
    address = customer.address
    street = _street_and_building(address, address.street)
    every: dict[str, Any] = {
        "family_name": customer.family_name,
        "given_name": customer.given_name,
        "family_name#ja-Kana-JP": customer.family_name_kana,
        "given_name#ja-Kana-JP": customer.given_name_kana,
        "birthdate": customer.birthdate.isoformat(),
        "address": {
            "formatted": f"{address.prefecture}{address.municipality}{street}",
            "postal_code": address.postal_code_hyphenated,
            "region": address.prefecture,
            "locality": address.municipality,
            "street_address": street,
            "country": "JP",
        },
    }
    allowed = {name for item in items for name in SAKURA_CLAIMS_BY_ITEM.get(item, ())}
    if claim_names is not None:
        allowed &= set(claim_names)
    claims = {name: value for name, value in every.items() if name in allowed}
    checked = verified_at(customer)
    number = customer_number("sakura_oidc", customer)
    return {
        "verification": {
            "trust_framework": "jp_aml",
            "time": checked,
            "verification_process": (
                f"SKR-KYC-{customer.account_opened:%Y%m%d}-{number[-6:].upper()}"
            ),
            "evidence": [
                {
                    "type": "document",
                    "check_details": [
                        {
                            "check_method": "vpiruv",
                            "organization": "sakura_bank",
                            "time": checked,
                        }
                    ],
                    "document_details": {
                        "type": "driving_permit",
                        "issuer": {
                            "name": f"{address.prefecture}公安委員会",
                            "country_code": "JPN",
                        },
                    },
                }
            ],
        },
        "claims": claims,
    }


def momiji_record(customer: Customer, items: Collection[str]) -> dict[str, Any]:
    """The flat JSON customer record of もみじ銀行 (docs/bank-mappings.md#momiji_rest)."""
    record: dict[str, Any] = {
        "result": "OK",
        "customer_no": customer_number("momiji_rest", customer),
        "branch_code": "123",
        "kyc_status": "verified",
        "kyc_verified_at": verified_at(customer),
    }
    if "name" in items:
        record["name_kanji"] = customer.full_name
    if "kana" in items:
        record["name_kana"] = to_halfwidth_katakana(customer.full_name_kana)
    if "birthdate" in items:
        record["birth_date"] = customer.birthdate.strftime("%Y%m%d")
    if "address" in items:
        address = customer.address
        record["address"] = (
            f"〒{address.postal_code_hyphenated} {address.prefecture}{address.municipality}"
            + _street_and_building(address, address.street_hyphenated)
        )
    return record


def momiji_body(customer: Customer, items: Collection[str]) -> bytes:
    return json.dumps(momiji_record(customer, items), ensure_ascii=False).encode()


KAEDE_NAMESPACE = "urn:example:kaede-bank:kyc:1"


def kaede_body(customer: Customer, items: Collection[str]) -> bytes:
    """The XML record of かえで銀行 (docs/bank-mappings.md#kaede_xml).

    UTF-8, default namespace, wareki birth date, full-width digits in the postal code
    (its own element) and the street.
    """
    # Written as a literal xmlns attribute: ElementTree cannot emit a default namespace
    # next to unqualified attributes, and every child inherits it when parsed.
    root = ET.Element("KycResponse", {"xmlns": KAEDE_NAMESPACE, "version": "1.0"})
    ET.SubElement(root, "Status").text = "OK"
    record = ET.SubElement(root, "Customer", {"id": customer_number("kaede_xml", customer)})
    if "name" in items:
        name = ET.SubElement(record, "Name", {"type": "kanji"})
        ET.SubElement(name, "Family").text = customer.family_name
        ET.SubElement(name, "Given").text = customer.given_name
    if "kana" in items:
        kana = ET.SubElement(record, "Name", {"type": "kana"})
        ET.SubElement(kana, "Family").text = customer.family_name_kana
        ET.SubElement(kana, "Given").text = customer.given_name_kana
    if "birthdate" in items:
        birth = ET.SubElement(record, "BirthDate", {"calendar": "wareki"})
        birth.text = to_wareki(customer.birthdate).render()
    if "address" in items:
        address = customer.address
        element = ET.SubElement(record, "Address")
        postal = f"{address.postal_code[:3]}－{address.postal_code[3:]}"
        ET.SubElement(element, "PostalCode").text = to_fullwidth_digits(postal)
        ET.SubElement(element, "Prefecture").text = address.prefecture
        ET.SubElement(element, "City").text = address.municipality
        ET.SubElement(element, "Street").text = to_fullwidth_digits(address.street)
        if address.building:
            ET.SubElement(element, "Building").text = to_fullwidth_digits(address.building)
    ET.SubElement(record, "VerifiedAt").text = verified_at(customer)
    body: bytes = ET.tostring(root, encoding="utf-8")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
