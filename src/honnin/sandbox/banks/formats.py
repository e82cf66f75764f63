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

import datetime as dt
import json
from collections.abc import Collection, Mapping
from typing import Any
from xml.etree import ElementTree as ET

from honnin.sandbox.banks.customers import Customer, customer_number
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


def _iso_utc(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def sakura_verified_claims(
    customer: Customer,
    items: Collection[str],
    *,
    bank_name: str,
    claim_names: Collection[str] | None = None,
) -> dict[str, Any]:
    """An OIDC4IDA ``verified_claims`` object for ``customer``.

    ``claim_names`` narrows the claims to those asked for in an OIDC ``claims``
    request parameter (OIDC Core §5.5); ``None`` means every claim of ``items``.
    """
    address = customer.address
    every: dict[str, Any] = {
        "family_name": customer.family_name,
        "given_name": customer.given_name,
        "family_name#ja-Kana-JP": customer.family_name_kana,
        "given_name#ja-Kana-JP": customer.given_name_kana,
        "birthdate": customer.birthdate.isoformat(),
        "address": {
            "formatted": (
                f"〒{address.postal_code_hyphenated} {address.prefecture}"
                f"{address.municipality}{address.street}"
                + (f" {address.building}" if address.building else "")
            ),
            "street_address": address.street + (f" {address.building}" if address.building else ""),
            "locality": address.municipality,
            "region": address.prefecture,
            "postal_code": address.postal_code_hyphenated,
            "country": "JP",
        },
    }
    allowed = {name for item in items for name in SAKURA_CLAIMS_BY_ITEM.get(item, ())}
    if claim_names is not None:
        allowed &= set(claim_names)
    claims = {name: value for name, value in every.items() if name in allowed}
    return {
        "verification": {
            "trust_framework": "jp_aml",
            "time": _iso_utc(customer.account_opened),
            "evidence": [
                {
                    "type": "electronic_record",
                    "record": {
                        "type": "bank_account",
                        "source": {"name": bank_name, "country_code": "JPN"},
                        "created_at": _iso_utc(customer.account_opened),
                    },
                }
            ],
        },
        "claims": claims,
    }


def momiji_record(customer: Customer, items: Collection[str]) -> dict[str, Any]:
    """The flat JSON customer record of もみじ銀行."""
    record: dict[str, Any] = {
        "customer_no": customer_number("momiji_rest", customer),
        "kyc_checked_on": customer.account_opened.strftime("%Y%m%d"),
    }
    if "name" in items:
        record["name_kanji"] = customer.full_name
    if "kana" in items:
        record["name_kana"] = to_halfwidth_katakana(customer.full_name_kana)
    if "birthdate" in items:
        record["birth_date"] = customer.birthdate.strftime("%Y%m%d")
    if "address" in items:
        address = customer.address
        line = (
            f"〒{address.postal_code_hyphenated} {address.prefecture}{address.municipality}"
            f"{address.street_hyphenated}"
        )
        if address.building:
            line += f" {address.building}"
        record["address"] = line
    return record


def momiji_body(customer: Customer, items: Collection[str]) -> bytes:
    return json.dumps(momiji_record(customer, items), ensure_ascii=False).encode()


def kaede_body(customer: Customer, items: Collection[str]) -> bytes:
    """The XML customer record of かえで銀行 (UTF-8, full-width digits, wareki)."""
    root = ET.Element("KycRecord", {"version": "1.0"})
    ET.SubElement(root, "CustomerNumber").text = customer_number("kaede_xml", customer)
    wareki_checked = to_wareki(customer.account_opened)
    ET.SubElement(root, "VerifiedOn").text = wareki_checked.render()
    if "name" in items:
        name = ET.SubElement(root, "Name")
        ET.SubElement(name, "FamilyName").text = customer.family_name
        ET.SubElement(name, "GivenName").text = customer.given_name
    if "kana" in items:
        kana = ET.SubElement(root, "NameKana")
        ET.SubElement(kana, "FamilyName").text = customer.family_name_kana
        ET.SubElement(kana, "GivenName").text = customer.given_name_kana
    if "birthdate" in items:
        born = to_wareki(customer.birthdate)
        birth = ET.SubElement(root, "BirthDate", {"era": born.era.name})
        birth.text = born.render()
    if "address" in items:
        address = customer.address
        element = ET.SubElement(root, "Address")
        postal = f"{address.postal_code[:3]}－{address.postal_code[3:]}"
        ET.SubElement(element, "PostalCode").text = to_fullwidth_digits(postal)
        ET.SubElement(element, "Prefecture").text = address.prefecture
        ET.SubElement(element, "City").text = address.municipality
        ET.SubElement(element, "Street").text = to_fullwidth_digits(address.street)
        if address.building:
            ET.SubElement(element, "Building").text = to_fullwidth_digits(address.building)
    body: bytes = ET.tostring(root, encoding="utf-8")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
