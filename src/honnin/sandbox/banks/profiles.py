"""The three sandbox banks: who they are and which protocol features they insist on.

* ``sakura_oidc`` — OpenID Connect + OIDC4IDA; PAR required (RFC 9126 §6 metadata
  ``require_pushed_authorization_requests``), ``private_key_jwt`` only.
* ``momiji_rest`` — plain OAuth 2.0, ``client_secret_basic``, flat REST JSON.
* ``kaede_xml`` — plain OAuth 2.0, ``client_secret_basic`` or ``client_secret_post``, XML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from honnin.sandbox.banks.errors import UnknownBankError
from honnin.sandbox.banks.formats import DATA_ITEMS

ITEM_SCOPES: Mapping[str, tuple[str, ...]] = {
    "kyc": DATA_ITEMS,
    **{f"kyc:{item}": (item,) for item in DATA_ITEMS},
}


@dataclass(frozen=True, slots=True)
class BankProfile:
    bank_id: str
    display_name: str  # Japanese trade name shown on the login and consent pages
    display_name_en: str
    colour: str  # brand colour of the pages, so a screenshot shows which bank it is
    protocol: Literal["oidc", "oauth2"]
    kyc_path: str
    kyc_media_type: str
    token_auth_methods: tuple[str, ...]
    par_supported: bool
    par_required: bool
    broken_body: bytes  # what the "malformed" fault answers with

    @property
    def scopes_supported(self) -> tuple[str, ...]:
        base = ("openid",) if self.protocol == "oidc" else ()
        return base + tuple(ITEM_SCOPES)

    @property
    def scope_items(self) -> Mapping[str, tuple[str, ...]]:
        return ITEM_SCOPES


PROFILES: Mapping[str, BankProfile] = {
    "sakura_oidc": BankProfile(
        bank_id="sakura_oidc",
        display_name="さくら銀行（サンドボックス）",
        display_name_en="Sakura Bank (sandbox)",
        colour="#d6336c",
        protocol="oidc",
        kyc_path="/userinfo",
        kyc_media_type="application/json",
        token_auth_methods=("private_key_jwt",),
        par_supported=True,
        par_required=True,
        broken_body=b'{"sub": "SA00000001", "verified_claims": {"verification": {"trust_fra',
    ),
    "momiji_rest": BankProfile(
        bank_id="momiji_rest",
        display_name="もみじ銀行（サンドボックス）",
        display_name_en="Momiji Bank (sandbox)",
        colour="#e8590c",
        protocol="oauth2",
        kyc_path="/api/v1/customer",
        kyc_media_type="application/json",
        token_auth_methods=("client_secret_basic",),
        par_supported=False,
        par_required=False,
        broken_body=b'{"customer_no": "MO00000001", "name_kanji": "\xe4\xbd\x90\xe8',
    ),
    "kaede_xml": BankProfile(
        bank_id="kaede_xml",
        display_name="かえで銀行（サンドボックス）",
        display_name_en="Kaede Bank (sandbox)",
        colour="#2b8a3e",
        protocol="oauth2",
        kyc_path="/kyc/v1/customer",
        kyc_media_type="application/xml; charset=utf-8",
        token_auth_methods=("client_secret_basic", "client_secret_post"),
        par_supported=False,
        par_required=False,
        broken_body=(
            b'<?xml version="1.0" encoding="UTF-8"?>\n<KycRecord version="1.0">'
            b"<CustomerNumber>KA00000001</CustomerNumber><Name><FamilyName>"
        ),
    ),
}

BANK_IDS: tuple[str, ...] = tuple(PROFILES)


def get_profile(bank_id: str) -> BankProfile:
    try:
        return PROFILES[bank_id]
    except KeyError:
        msg = f"unknown sandbox bank; expected one of {', '.join(BANK_IDS)}"
        raise UnknownBankError(msg) from None
