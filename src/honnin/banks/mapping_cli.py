"""``honnin mapping``: check, try and match bank mappings from the command line.

For whoever adds a bank: ``check`` loads a mapping YAML with every load-time check,
``apply`` maps a captured response body to OIDC4IDA ``verified_claims`` (validated), and
``match`` prints the match report of applicant data against a ``verified_claims`` file.
The language is documented in docs/bank-mappings.md.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from honnin.cli_support import cli_errors, emit, fail

app = typer.Typer(help="Bank mappings: check, apply, match.", no_args_is_help=True)

MappingArg = Annotated[str, typer.Argument(help="bundled bank id (momiji_rest) or YAML path")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        fail(f"cannot read JSON from {path.name}")


@app.command("check")
def check(mapping: MappingArg, *, as_json: JsonOpt = False) -> None:
    """Load a mapping and list what it produces."""
    from honnin.banks.mapping import load_mapping

    with cli_errors():
        loaded = load_mapping(mapping)
    data = {
        "bank_id": loaded.bank_id,
        "display_name": loaded.display_name,
        "format": loaded.format,
        "trust_framework": loaded.trust_framework,
        "claims": [".".join(rule.target) for rule in loaded.claims],
        "required": [".".join(rule.target) for rule in loaded.claims if rule.required],
        "verification": [".".join(rule.target) for rule in loaded.verification],
        "expectations": len(loaded.expectations),
    }

    def human(d: dict[str, Any]) -> str:
        return f"ok: {d['bank_id']} ({d['format']}), {len(d['claims'])} claims"

    emit(data, as_json=as_json, human=human)


@app.command("apply")
def apply(
    mapping: MappingArg,
    body: Annotated[Path, typer.Argument(help="the bank's response body, as received")],
    *,
    content_type: Annotated[str, typer.Option(help="the response's Content-Type")] = (
        "application/json"
    ),
    bank_id: Annotated[str | None, typer.Option(help="bank id for the evidence")] = None,
    at: Annotated[str | None, typer.Option(help="fetch time, ISO 8601 with zone")] = None,
) -> None:
    """Map a response body to verified_claims (always printed as JSON)."""
    from honnin.banks.mapping import load_mapping

    with cli_errors():
        loaded = load_mapping(mapping)
        try:
            payload = body.read_bytes()
        except OSError:
            fail(f"cannot read {body.name}")
        fetched_at = dt.datetime.now(dt.UTC)
        if at is not None:
            try:
                fetched_at = dt.datetime.fromisoformat(at)
            except ValueError:
                fail("--at is not an ISO 8601 date-time")
            if fetched_at.tzinfo is None:
                fail("--at needs a time zone")
        result = loaded.apply(
            payload,
            content_type=content_type,
            bank_id=bank_id or loaded.bank_id,
            fetched_at=fetched_at,
        )
    emit(result, as_json=True)


@app.command("match")
def match(
    applicant: Annotated[Path, typer.Argument(help="applicant data, a JSON object")],
    verified_claims: Annotated[Path, typer.Argument(help="verified_claims or userinfo JSON")],
    *,
    as_json: JsonOpt = False,
) -> None:
    """Compare applicant data with verified claims; print the match report."""
    from honnin.matching.claims import match_applicant

    with cli_errors():
        report = match_applicant(_read_json(applicant), _read_json(verified_claims)).to_dict()

    def human(data: dict[str, Any]) -> str:
        lines = [f"overall: {data['overall']}"]
        for name, item in data["fields"].items():
            lines.append(f"  {name}: {item['result']} ({item['method']})")
        return "\n".join(lines)

    emit(report, as_json=as_json, human=human)
