"""``honnin doc``: MRZ check, chip access keys, chip passive authentication, card OCR.

``mrz`` and ``verify-chip`` print their report also when it is not valid and then exit 1;
exit 0 means valid. Input errors exit 1 with a one-line reason on stderr.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from honnin.cli_support import cli_errors, emit, fail, read_text_arg

app = typer.Typer(help="Identity documents: MRZ, chip keys, passive authentication, OCR.")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")


@app.command("mrz")
def mrz_command(
    text: Annotated[str, typer.Argument(help="the MRZ (lines separated by newlines), or -")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    strict: Annotated[bool, typer.Option(help="no OCR-confusion corrections")] = False,
) -> None:
    """Parse a TD1, TD2 or TD3 MRZ and report every check digit (ICAO 9303)."""
    from honnin.documents import mrz

    with cli_errors():
        result = mrz.parse(read_text_arg(text), today=datetime.now(UTC).date(), tolerant=not strict)
    emit(result.to_dict(), as_json=as_json, human=_mrz_text)
    if not result.valid:
        raise typer.Exit(code=1)


def _mrz_text(data: dict[str, Any]) -> str:
    failed = [name for name, ok in data["checks"].items() if not ok]
    status = "valid" if data["valid"] else f"INVALID ({', '.join(failed)})"
    return (
        f"{data['format']} {data['document_code']} {data['issuing_state']} "
        f"{data['document_number']}: {status}"
    )


@app.command("access-key")
def access_key_command(
    document_number: Annotated[str | None, typer.Option(help="MRZ document number")] = None,
    birth_date: Annotated[str | None, typer.Option(help="birth date YYMMDD")] = None,
    expiry_date: Annotated[str | None, typer.Option(help="expiry date YYMMDD")] = None,
    can: Annotated[str | None, typer.Option(help="card access number (6 digits)")] = None,
    expiry_year: Annotated[str | None, typer.Option(help="My Number card expiry year YYYY")] = None,
    security_code: Annotated[
        str | None, typer.Option(help="My Number card security code (4 digits)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """BAC keys and PACE K_pi from MRZ fields or a CAN; My Number card password B."""
    from honnin.documents import access_keys

    out: dict[str, str | None] = dict.fromkeys(
        ("mrz_information", "k_seed", "k_enc", "k_mac", "k_pi", "card_password_b")
    )
    with cli_errors():
        if document_number is not None:
            if birth_date is None or expiry_date is None:
                fail("--document-number needs --birth-date and --expiry-date (YYMMDD)")
            keys = access_keys.bac_keys(document_number, birth_date, expiry_date)
            out["mrz_information"] = keys.mrz_information
            out["k_seed"] = keys.k_seed.hex()
            out["k_enc"] = keys.k_enc.hex()
            out["k_mac"] = keys.k_mac.hex()
            out["k_pi"] = access_keys.pace_kpi_from_mrz(
                document_number, birth_date, expiry_date
            ).hex()
        elif can is not None:
            out["k_pi"] = access_keys.pace_kpi_from_can(can).hex()
        if expiry_year is not None or security_code is not None:
            if birth_date is None or expiry_year is None or security_code is None:
                fail("password B needs --birth-date, --expiry-year and --security-code")
            out["card_password_b"] = access_keys.card_password_b(
                birth_date, expiry_year, security_code
            )
    if all(value is None for value in out.values()):
        fail("give --document-number/--birth-date/--expiry-date, --can, or card inputs")
    emit(out, as_json=as_json, human=_pairs)


def _pairs(data: dict[str, Any]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in data.items() if value is not None)


def _data_group_option(values: list[str]) -> dict[int, Path]:
    groups: dict[int, Path] = {}
    for item in values:
        number, sep, path = item.partition("=")
        digits = len(number) <= 2 and number.isascii() and number.isdigit()
        if not sep or not digits or not 1 <= int(number) <= 16:
            fail(f"--dg expects N=FILE with N in 1..16, got {item!r}")
        groups[int(number)] = Path(path)
    return groups


@app.command("verify-chip")
def verify_chip_command(
    sod: Annotated[Path, typer.Option("--sod", help="EF.SOD file")],
    dg: Annotated[list[str] | None, typer.Option("--dg", help="N=FILE (repeatable)")] = None,
    trust: Annotated[
        Path | None,
        typer.Option("--trust", help="directory of CSCA certificates, master lists, CRLs"),
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="ISO 8601 instant to judge validity at")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Passive authentication report; exit 0 only when the chip is valid."""
    from honnin.documents import chip, service

    groups = _data_group_option(dg or [])
    instant = datetime.now(UTC)
    if at is not None:
        try:
            instant = datetime.fromisoformat(at)
        except ValueError:
            fail(f"--at is not an ISO 8601 time: {at!r}")
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
    sod_bytes = _read(sod)
    group_bytes = {number: _read(path) for number, path in groups.items()}
    with cli_errors():
        store = service.load_trust_store(trust) if trust is not None else None
        report = chip.verify(sod_bytes, group_bytes, trust=store, at=instant)
    emit(report.to_dict(), as_json=as_json, human=_chip_text)
    if not report.valid:
        raise typer.Exit(code=1)


def _chip_text(data: dict[str, Any]) -> str:
    lines = [f"valid: {data['valid']}"]
    for name, result in data["checks"].items():
        reason = data["reasons"].get(name)
        lines.append(f"  {name}: {result}" + (f" ({reason})" if reason else ""))
    return "\n".join(lines)


@app.command("ocr")
def ocr_command(
    image: Annotated[Path, typer.Argument(help="card photo (JPEG, PNG)")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Read a card surface (My Number card, driver's licence, residence card, passport)."""
    from honnin.documents import service

    data = _read(image)
    with cli_errors():
        reading = service.CardReader().read(data)
    emit(reading.to_dict(), as_json=as_json, human=_ocr_text)


def _ocr_text(data: dict[str, Any]) -> str:
    lines = [f"document_type: {data['document_type']}"]
    for name, item in data["fields"].items():
        lines.append(f"  {name}: {item['value']} ({item['confidence']})")
    return "\n".join(lines)
