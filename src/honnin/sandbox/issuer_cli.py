"""``honnin sandbox issue-document``: write a test chip and/or card image to a directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from honnin.cli_support import cli_errors, emit, fail

CHIP_KINDS = ("passport", "id_card")
CARD_KINDS = ("passport", "mynumber", "driver_license", "residence_card")
# The checkout's sibling ../shared holds the face photos (src/honnin/sandbox -> repo/..).
DEFAULT_FACE = Path(__file__).resolve().parents[3].parent / "shared/data/faces/obama/obama_1.jpg"


def register(app: typer.Typer) -> None:
    app.command("issue-document")(issue_document)


def issue_document(
    *,
    out: Annotated[Path, typer.Option("--out", help="directory to write the files to")],
    kind: Annotated[
        str,
        typer.Option(help="passport | id_card | mynumber | driver_license | residence_card"),
    ] = "passport",
    seed: Annotated[int, typer.Option(help="picks the fictional holder")] = 1,
    profile: Annotated[str, typer.Option(help="DSC/CSCA key profile, e.g. ecdsa-p256")] = "rsa2048",
    face: Annotated[Path | None, typer.Option(help="face photo (default: shared data)")] = None,
    jpeg2000: Annotated[bool, typer.Option(help="DG2 face in JPEG 2000")] = False,
    font: Annotated[str, typer.Option(help="gothic | mincho | vlgothic")] = "gothic",
    blur: Annotated[float, typer.Option(help="Gaussian blur radius of the card image")] = 0.0,
    rotation: Annotated[float, typer.Option(help="card image rotation, degrees")] = 0.0,
    jpeg_quality: Annotated[
        int | None, typer.Option(help="save the card image as JPEG at this quality")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Issue a sandbox document: chip files (passport, id_card) and a card image."""
    from honnin.sandbox import cards, issuer

    if kind not in (*CHIP_KINDS, *CARD_KINDS):
        fail(f"unknown --kind {kind!r}")
    if profile not in issuer.KEY_PROFILES:
        fail(f"unknown --profile {profile!r} (known: {', '.join(issuer.KEY_PROFILES)})")
    if font not in cards.FONT_FILES:
        fail(f"unknown --font {font!r}")
    face_path = face or DEFAULT_FACE
    try:
        photo = face_path.read_bytes()
    except OSError:
        fail(f"cannot read the face photo {face_path}; pass --face FILE")
    now = datetime.now(UTC)
    holder = issuer.sample_holder(seed, today=now.date())
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    result: dict[str, Any] = {"kind": kind, "files": written}
    with cli_errors():
        if kind in CHIP_KINDS:
            test_issuer = issuer.TestIssuer.create(now=now, profile=profile)
            chip_kind: Literal["passport", "id_card"] = (
                "passport" if kind == "passport" else "id_card"
            )
            chip = test_issuer.issue_chip(holder, face=photo, kind=chip_kind, jpeg2000=jpeg2000)
            for name, data in chip.files().items():
                path = out / f"{name}.bin"
                path.write_bytes(data)
                written[name] = str(path)
            trust = out / "trust"
            trust.mkdir(exist_ok=True)
            (trust / "csca.der").write_bytes(test_issuer.csca_certificate)
            written["csca"] = str(trust / "csca.der")
            result["mrz"] = chip.mrz
            result["verify_command"] = (
                f"honnin doc verify-chip --sod {out / 'EF.SOD.bin'} --dg 1={out / 'DG1.bin'} "
                f"--dg 2={out / 'DG2.bin'} --trust {trust} --json"
            )
        if kind in CARD_KINDS:
            image = cards.render_card(kind, holder, face=photo, style=cards.CardStyle(font=font))  # type: ignore[arg-type]
            data = cards.degrade(image, blur=blur, rotation=rotation, jpeg_quality=jpeg_quality)
            path = out / ("card.jpg" if jpeg_quality else "card.png")
            path.write_bytes(data)
            written["card"] = str(path)
            result["expected_fields"] = cards.expected_fields(kind, holder)  # type: ignore[arg-type]
    (out / "document.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    emit(
        result,
        as_json=as_json,
        human=lambda d: "\n".join(f"{k}: {v}" for k, v in d["files"].items()),
    )
