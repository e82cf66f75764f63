"""MRZ parsing against the ICAO 9303 specimens, every check-digit failure, OCR tolerance."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.documents import mrz
from honnin.documents.errors import MrzFormatError

# ICAO 9303-4 Appendix A (TD3), 9303-5 Appendix A (TD1), 9303-6 Appendix A (TD2) specimens.
TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
)
TD2 = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6"
# 9303-5 §4.2.4: a 12-character document number continued in optional data 1.
TD1_LONG = (
    "I<UTOD23145890<7349<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
)


def test_td3_specimen() -> None:
    result = mrz.parse(TD3)
    assert result.valid
    assert result.to_dict() | {"checks": None, "lines": None} == {
        "format": "TD3",
        "document_code": "P",
        "issuing_state": "UTO",
        "surname": "ERIKSSON",
        "given_names": "ANNA MARIA",
        "document_number": "L898902C3",
        "nationality": "UTO",
        "birth_date": "1974-08-12",
        "sex": "F",
        "expiry_date": "2012-04-15",
        "optional_data": "ZE184226B",
        "checks": None,
        "valid": True,
        "corrections": [],
        "lines": None,
    }
    assert set(result.checks) == {
        "document_number",
        "birth_date",
        "expiry_date",
        "personal_number",
        "composite",
        "birth_date_calendar",
        "expiry_date_calendar",
    }


def test_td1_specimen() -> None:
    result = mrz.parse(TD1)
    assert result.valid
    assert (result.format, result.document_code, result.document_number) == (
        "TD1",
        "I",
        "D23145890",
    )
    assert (result.surname, result.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert result.birth_date == date(1974, 8, 12)


def test_td2_specimen() -> None:
    result = mrz.parse(TD2)
    assert result.valid
    assert (result.format, result.document_number, result.sex) == ("TD2", "D23145890", "F")


def test_td1_long_document_number() -> None:
    result = mrz.parse(TD1_LONG)
    assert result.valid
    assert result.document_number == "D23145890734"
    assert result.document_number_check_digit == "9"


def test_single_line_input_is_split() -> None:
    assert mrz.parse(TD3.replace("\n", "")).valid


@pytest.mark.parametrize(
    ("text", "position", "check"),
    [
        (TD3, (1, 9), "document_number"),
        (TD3, (1, 19), "birth_date"),
        (TD3, (1, 27), "expiry_date"),
        (TD3, (1, 42), "personal_number"),
        (TD3, (1, 43), "composite"),
        (TD1, (0, 14), "document_number"),
        (TD1, (1, 6), "birth_date"),
        (TD1, (1, 14), "expiry_date"),
        (TD1, (1, 29), "composite"),
        (TD2, (1, 9), "document_number"),
        (TD2, (1, 19), "birth_date"),
        (TD2, (1, 27), "expiry_date"),
        (TD2, (1, 35), "composite"),
    ],
)
def test_every_check_digit_failure(text: str, position: tuple[int, int], check: str) -> None:
    lines = text.split("\n")
    row, col = position
    digit = lines[row][col]
    wrong = str((int(digit) + 1) % 10)
    lines[row] = lines[row][:col] + wrong + lines[row][col + 1 :]
    result = mrz.parse("\n".join(lines))
    assert not result.valid
    failed = {name for name, ok in result.checks.items() if not ok}
    # The composite covers every other check digit, so it fails along with each.
    assert failed == {check, "composite"}


def test_changed_data_fails_its_check_and_the_composite() -> None:
    changed = TD3.replace("7408122", "7408132")
    result = mrz.parse(changed)
    assert {n for n, ok in result.checks.items() if not ok} == {"birth_date", "composite"}


def test_impossible_date_is_reported() -> None:
    fields = mrz.MrzFields(
        "P", "UTO", "A", "B", "X1", "UTO", date(1990, 1, 1), "M", date(2030, 1, 1)
    )
    text = mrz.compose("TD3", fields).replace("900101", "901301")
    result = mrz.parse(text)
    assert result.birth_date is None
    assert not result.checks["birth_date_calendar"]


def test_ocr_confusions_are_corrected_by_field_type() -> None:
    noisy = (
        "P<UT0ERIKSS0N<<ANNA<MAR1A<<<<<<<<<<<<<<<<<<<\nL8989O2C36UTO74O8122F12O4159ZE184226B<<<<<1O"
    )
    result = mrz.parse(noisy)
    assert result.valid
    assert result.surname == "ERIKSSON"
    assert result.given_names == "ANNA MARIA"
    assert result.document_number == "L898902C3"
    assert result.issuing_state == "UTO"
    assert result.corrections
    assert result.lines == tuple(TD3.split("\n"))


def test_strict_mode_does_not_correct() -> None:
    noisy = TD3.replace("7408122", "74O8122")
    assert not mrz.parse(noisy, tolerant=False).valid


def test_dropped_filler_and_guillemets_are_restored() -> None:
    l1, l2 = TD3.split("\n")
    noisy = (
        l1.replace("<<<<<<<<<<<<<<<<<<<", "<<<<<<<<<<<<<<<<<<") + "\n" + l2.replace("<<<<<", "««<")
    )
    assert mrz.parse(noisy).valid


def test_today_resolves_the_birth_century() -> None:
    fields = mrz.MrzFields(
        "P", "UTO", "A", "B", "X1", "UTO", date(2015, 3, 1), "F", date(2025, 3, 1)
    )
    text = mrz.compose("TD3", fields)
    assert mrz.parse(text, today=date(2020, 1, 1)).birth_date == date(2015, 3, 1)
    fields = mrz.MrzFields(
        "P", "UTO", "A", "B", "X1", "UTO", date(1930, 3, 1), "F", date(2031, 3, 1)
    )
    text = mrz.compose("TD3", fields)
    assert mrz.parse(text, today=date(2026, 1, 1)).birth_date == date(1930, 3, 1)


@pytest.mark.parametrize("text", ["", "hello", "P<UTO\nL898", "A" * 2000, TD3 + "\nEXTRA"])
def test_not_an_mrz_is_a_clean_error(text: str) -> None:
    with pytest.raises(MrzFormatError) as info:
        mrz.parse(text)
    assert info.value.code == "mrz_malformed"


def test_check_digit_examples() -> None:
    # 9303-3 §4.9 worked example: 520727 -> 3.
    assert mrz.check_digit("520727") == "3"
    assert mrz.check_digit("L898902C3") == "6"
    assert mrz.check_digit("<<<<<<<<<") == "0"


@pytest.mark.parametrize("odd", ["²", "٣", "a"])
def test_non_ascii_digits_are_outside_the_alphabet(odd: str) -> None:
    with pytest.raises(MrzFormatError):
        mrz.check_digit("52072" + odd)
    assert mrz.expiry_from_yymmdd("30010" + odd) is None


names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12)
numbers = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=9)
dates = st.dates(min_value=date(1931, 1, 1), max_value=date(2025, 12, 31))


@given(
    fmt=st.sampled_from(["TD1", "TD2", "TD3"]),
    surname=names,
    given_names=names,
    number=numbers,
    birth=dates,
    sex=st.sampled_from(["M", "F", "X"]),
)
def test_compose_parse_round_trip(
    fmt: mrz.MrzFormat, surname: str, given_names: str, number: str, birth: date, sex: str
) -> None:
    expiry = date(2030, 6, 30)
    fields = mrz.MrzFields("I", "UTO", surname, given_names, number, "UTO", birth, sex, expiry)
    result = mrz.parse(mrz.compose(fmt, fields), today=date(2026, 1, 1))
    assert result.valid
    assert result.document_number == number
    assert result.birth_date == birth
    assert result.sex == sex
    assert result.surname.replace(" ", "") == surname[: len(result.surname.replace(" ", ""))]


@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    try:
        result = mrz.parse(text)
    except MrzFormatError:
        return
    assert isinstance(result.valid, bool)
