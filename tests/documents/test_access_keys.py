"""BAC, PACE and My Number card password B against the ICAO worked examples."""

from __future__ import annotations

import pytest

from honnin.documents import access_keys
from honnin.documents.errors import AccessKeyInputError


def test_bac_worked_example_9303_11_appendix_d2() -> None:
    keys = access_keys.bac_keys("L898902C", "690806", "940623")
    assert keys.mrz_information == "L898902C<369080619406236"
    assert keys.k_seed.hex().upper() == "239AB9CB282DAF66231DC5A4DF6BFBAE"
    assert keys.k_enc.hex().upper() == "AB94FDECF2674FDFB9B391F85D7F76F2"
    assert keys.k_mac.hex().upper() == "7962D9ECE03D1ACD4C76089DCE131543"


def test_pace_mrz_worked_example_9303_11_appendix_g1() -> None:
    k_pi = access_keys.pace_kpi_from_mrz("T22000129", "640812", "101031")
    assert k_pi.hex().upper() == "89DED1B26624EC1E634C1989302849DD"


def test_pace_can_is_kdf_of_the_digits() -> None:
    k_pi = access_keys.pace_kpi_from_can("123456")
    assert len(k_pi) == 16
    assert k_pi == access_keys.kdf(b"123456", access_keys.KDF_PI)
    assert k_pi != access_keys.pace_kpi_from_can("123457")


def test_des_parity() -> None:
    assert access_keys.adjust_des_parity(bytes([0x00, 0x01, 0xFE, 0xFF])) == bytes(
        [0x01, 0x01, 0xFE, 0xFE]
    )


def test_card_password_b() -> None:
    assert access_keys.card_password_b("880405", "2031", "0123") == "88040520310123"


@pytest.mark.parametrize(
    "args",
    [("8804", "2031", "0123"), ("880405", "31", "0123"), ("880405", "2031", "12a4"),
     ("881305", "2031", "0123")],
)  # fmt: skip
def test_card_password_b_rejects_bad_input(args: tuple[str, str, str]) -> None:
    with pytest.raises(AccessKeyInputError):
        access_keys.card_password_b(*args)


@pytest.mark.parametrize(
    "args", [("L898902C", "6908", "940623"), ("bad number!", "690806", "940623"),
             ("L898902C", "690806", "941323")],
)  # fmt: skip
def test_bac_rejects_bad_input(args: tuple[str, str, str]) -> None:
    with pytest.raises(AccessKeyInputError) as info:
        access_keys.bac_keys(*args)
    assert info.value.code == "access_key_input_invalid"


def test_can_must_be_six_digits() -> None:
    with pytest.raises(AccessKeyInputError):
        access_keys.pace_kpi_from_can("12345")
