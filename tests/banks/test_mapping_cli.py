"""``honnin mapping check|apply|match``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from honnin.banks.mapping_cli import app

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "banks"
runner = CliRunner()


def test_check_bundled_and_broken(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "kaede_xml", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format"] == "xml"
    assert "birthdate" in data["required"]
    human = runner.invoke(app, ["check", "momiji_rest"])
    assert human.stdout.startswith("ok: momiji_rest (json)")
    broken = tmp_path / "x.yaml"
    broken.write_text("mapping_version: 1\nbank_id: x\n", "utf-8")
    failed = runner.invoke(app, ["check", str(broken)])
    assert failed.exit_code == 1
    assert "bank_mapping_invalid" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1


def test_apply_then_match(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "apply",
            "kaede_xml",
            str(ASSETS / "kaede_xml" / "kyc.xml"),
            "--content-type",
            "application/xml",
            "--at",
            "2026-11-21T04:40:00+00:00",
        ],
    )
    assert result.exit_code == 0, result.output
    expected = json.loads((ASSETS / "kaede_xml" / "expected_verified_claims.json").read_text())
    assert json.loads(result.stdout) == expected
    claims = tmp_path / "vc.json"
    claims.write_text(result.stdout, "utf-8")
    applicant = tmp_path / "applicant.json"
    applicant.write_text(
        json.dumps({"family_name": "渡辺", "given_name": "花子", "birthdate": "H1.1.8"}), "utf-8"
    )
    matched = runner.invoke(app, ["match", str(applicant), str(claims)])
    assert matched.exit_code == 0, matched.output
    assert "name: match (kanji_variant)" in matched.stdout
    as_json = runner.invoke(app, ["match", str(applicant), str(claims), "--json"])
    assert json.loads(as_json.stdout)["fields"]["birthdate"]["method"] == "wareki_to_iso"


def test_apply_failures_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "body.xml"
    bad.write_bytes(b"<unclosed>")
    for args in (
        ["apply", "kaede_xml", str(bad), "--content-type", "application/xml"],
        ["apply", "kaede_xml", str(tmp_path / "missing.xml")],
        ["apply", "kaede_xml", str(bad), "--at", "yesterday"],
        ["apply", "kaede_xml", str(bad), "--at", "2026-01-01T00:00:00"],
        ["match", str(bad), str(bad)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
