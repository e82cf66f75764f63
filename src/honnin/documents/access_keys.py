"""Chip access keys: BAC (ICAO 9303-11 §4.3 / Appendix D.2), PACE K_pi (9303-11 §4.4.3.3,
§9.7.3) and the My Number card "password B" of the card-surface input-assist AP.

BAC: K_seed = SHA-1(MRZ_information)[0:16]; K_enc and K_mac are the 3DES keys derived
by KDF(K_seed, c) = SHA-1(K_seed || c)[0:16] with c = 1 and 2 and DES parity adjusted
(9303-11 §9.7.1). PACE: K = SHA-1(MRZ_information) or the CAN, K_pi = KDF_pi(K) with
c = 3 and AES-128 (first 16 bytes of SHA-1). The My Number card password B is the birth
date (YYMMDD), the expiry year (YYYY) and the 4-digit security code printed on the card
(J-LIS, "券面事項入力補助用暗証番号B").
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from honnin.documents.errors import AccessKeyInputError
from honnin.documents.mrz import check_digit

_NUMBER = re.compile(r"^[A-Z0-9<]{1,20}$")
_YYMMDD = re.compile(r"^\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")

KDF_ENC = 1
KDF_MAC = 2
KDF_PI = 3


def kdf(secret: bytes, counter: int, *, length: int = 16) -> bytes:
    """ICAO 9303-11 §9.7.1 key derivation with SHA-1 (3DES and AES-128 keys)."""
    return hashlib.sha1(secret + counter.to_bytes(4, "big"), usedforsecurity=False).digest()[
        :length
    ]


def adjust_des_parity(key: bytes) -> bytes:
    """Set each byte's least significant bit so that the byte has odd parity (FIPS 46-3)."""
    out = bytearray()
    for byte in key:
        high = byte & 0xFE
        out.append(high | (high.bit_count() + 1) % 2)
    return bytes(out)


def mrz_information(document_number: str, birth_date: str, expiry_date: str) -> str:
    """Document number (padded to 9 with ``<``), dates, each with its check digit."""
    number = document_number.strip().upper()
    if not _NUMBER.match(number):
        msg = "document number must be 1-20 characters of A-Z, 0-9 and <"
        raise AccessKeyInputError(msg)
    for label, value in (("birth date", birth_date), ("expiry date", expiry_date)):
        if not _YYMMDD.match(value):
            msg = f"{label} must be YYMMDD"
            raise AccessKeyInputError(msg)
    number = number.ljust(9, "<")
    return (
        number + check_digit(number) + birth_date + check_digit(birth_date)
        + expiry_date + check_digit(expiry_date)
    )  # fmt: skip


@dataclass(frozen=True)
class BacKeys:
    mrz_information: str
    k_seed: bytes
    k_enc: bytes
    k_mac: bytes


def bac_keys(document_number: str, birth_date: str, expiry_date: str) -> BacKeys:
    """BAC document basic access keys (9303-11 §4.3.2, worked example Appendix D.2)."""
    info = mrz_information(document_number, birth_date, expiry_date)
    k_seed = hashlib.sha1(info.encode("ascii"), usedforsecurity=False).digest()[:16]
    return BacKeys(
        mrz_information=info,
        k_seed=k_seed,
        k_enc=adjust_des_parity(kdf(k_seed, KDF_ENC)),
        k_mac=adjust_des_parity(kdf(k_seed, KDF_MAC)),
    )


def pace_kpi_from_mrz(document_number: str, birth_date: str, expiry_date: str) -> bytes:
    """PACE K_pi (AES-128) from the MRZ password (9303-11 §4.4.3.3, §9.7.3)."""
    info = mrz_information(document_number, birth_date, expiry_date)
    password = hashlib.sha1(info.encode("ascii"), usedforsecurity=False).digest()
    return kdf(password, KDF_PI)


def pace_kpi_from_can(can: str) -> bytes:
    """PACE K_pi (AES-128) from the card access number (6 digits on the card)."""
    if not re.fullmatch(r"\d{6}", can):
        msg = "CAN must be 6 digits"
        raise AccessKeyInputError(msg)
    return kdf(can.encode("latin-1"), KDF_PI)


def card_password_b(birth_date: str, expiry_year: str, security_code: str) -> str:
    """My Number card password B: YYMMDD + expiry YYYY + 4-digit security code."""
    if not _YYMMDD.match(birth_date):
        msg = "birth date must be YYMMDD"
        raise AccessKeyInputError(msg)
    if not re.fullmatch(r"(19|20)\d{2}", expiry_year):
        msg = "expiry year must be YYYY"
        raise AccessKeyInputError(msg)
    if not re.fullmatch(r"\d{4}", security_code):
        msg = "security code must be 4 digits"
        raise AccessKeyInputError(msg)
    return birth_date + expiry_year + security_code
