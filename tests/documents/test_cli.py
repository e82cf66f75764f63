"""``honnin doc`` and ``honnin sandbox issue-document`` through the real Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from honnin.cli import app

runner = CliRunner()
TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
MRZ_FIELDS = {"format", "document_code", "issuing_state", "surname", "given_names",
              "document_number", "nationality", "birth_date", "sex", "expiry_date",
              "optional_data", "checks", "valid"}  # fmt: skip


def test_mrz_json() -> None:
    result = runner.invoke(app, ["doc", "mrz", TD3, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= MRZ_FIELDS
    assert data["birth_date"] == "1974-08-12"
    assert data["valid"] is True


def test_mrz_from_stdin_invalid_exits_1() -> None:
    result = runner.invoke(app, ["doc", "mrz", "-", "--json"], input=TD3.replace("10", "11"))
    assert result.exit_code == 1
    assert json.loads(result.stdout)["checks"]["composite"] is False


def test_mrz_garbage_is_one_line_error() -> None:
    result = runner.invoke(app, ["doc", "mrz", "hello"])
    assert result.exit_code == 1
    assert "mrz_malformed" in result.stderr


def test_access_key_bac() -> None:
    args = ["doc", "access-key", "--document-number", "L898902C", "--birth-date", "690806",
            "--expiry-date", "940623", "--json"]  # fmt: skip
    data = json.loads(runner.invoke(app, args).stdout)
    assert data["mrz_information"] == "L898902C<369080619406236"
    assert data["k_seed"] == "239ab9cb282daf66231dc5a4df6bfbae"
    assert data["k_enc"] == "ab94fdecf2674fdfb9b391f85d7f76f2"
    assert data["k_mac"] == "7962d9ece03d1acd4c76089dce131543"
    assert len(data["k_pi"]) == 32
    assert data["card_password_b"] is None


def test_access_key_can_and_card_password() -> None:
    args = ["doc", "access-key", "--can", "123456", "--birth-date", "880405",
            "--expiry-year", "2031", "--security-code", "0123", "--json"]  # fmt: skip
    data = json.loads(runner.invoke(app, args).stdout)
    assert data["card_password_b"] == "88040520310123"
    assert data["k_pi"]
    assert data["k_seed"] is None


def test_access_key_needs_inputs() -> None:
    result = runner.invoke(app, ["doc", "access-key"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error:")


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("doc")
    result = runner.invoke(
        app, ["sandbox", "issue-document", "--out", str(out), "--kind", "passport", "--json"]
    )
    assert result.exit_code == 0, result.output
    return out


def test_issue_document_writes_files(issued: Path) -> None:
    data = json.loads((issued / "document.json").read_text())
    assert {"EF.COM", "EF.SOD", "DG1", "DG2", "csca", "card"} <= set(data["files"])
    assert data["expected_fields"]["document_number"] in data["mrz"]


def _verify(issued: Path, *extra: str) -> tuple[int, dict[str, object]]:
    dg1, dg2 = f"1={issued / 'DG1.bin'}", f"2={issued / 'DG2.bin'}"
    args = ["doc", "verify-chip", "--sod", str(issued / "EF.SOD.bin"),
            "--dg", dg1, "--dg", dg2, "--json", *extra]  # fmt: skip
    result = runner.invoke(app, args)
    return result.exit_code, json.loads(result.stdout)


def test_verify_chip_valid(issued: Path) -> None:
    code, data = _verify(issued, "--trust", str(issued / "trust"))
    assert code == 0
    assert data["valid"] is True
    assert set(data["checks"]) == {
        "sod_signature",
        "data_group_hashes",
        "dsc_chain",
        "dsc_validity",
    }  # type: ignore[arg-type]
    assert data["face"]["format"] == "jpeg"  # type: ignore[index]
    assert data["mrz"]["valid"] is True  # type: ignore[index]


def test_verify_chip_invalid_still_prints_report(issued: Path) -> None:
    code, data = _verify(issued, "--trust", str(issued / "trust"), "--at", "2099-01-01T00:00:00Z")
    assert code == 1
    assert data["valid"] is False
    assert data["checks"]["dsc_validity"] == "fail"  # type: ignore[index]


def test_verify_chip_without_trust_is_not_valid(issued: Path) -> None:
    code, data = _verify(issued)
    assert code == 1
    assert data["checks"]["dsc_chain"] == "unknown"  # type: ignore[index]


def test_verify_chip_hostile_input(tmp_path: Path) -> None:
    sod = tmp_path / "sod.bin"
    sod.write_bytes(b"\x77\x84\xff\xff\xff\xff")
    result = runner.invoke(app, ["doc", "verify-chip", "--sod", str(sod)])
    assert result.exit_code == 1
    assert "chip_data_malformed" in result.stderr
    result = runner.invoke(app, ["doc", "verify-chip", "--sod", str(sod), "--dg", "x=y"])
    assert result.exit_code == 1
    for number in ("²", "1" * 5000):
        options = ["--sod", str(sod), "--dg", f"{number}=y"]
        result = runner.invoke(app, ["doc", "verify-chip", *options])
        assert result.exit_code == 1
        assert "--dg expects N=FILE" in result.stderr


@pytest.mark.slow
def test_ocr_command(issued: Path) -> None:
    result = runner.invoke(app, ["doc", "ocr", str(issued / "card.png"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    expected = json.loads((issued / "document.json").read_text())["expected_fields"]
    assert data["document_type"] == "passport"
    assert data["fields"]["document_number"]["value"] == expected["document_number"]
