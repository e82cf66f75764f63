"""``honnin ledger``: offline RFC 9162 proof checks (§2.1.3.2 inclusion, §2.1.4.2 consistency).

Hashes and proofs are standard base64 (RFC 4648 §4); the proof is a comma-separated list.
Exit 0 when the proof is valid, 1 with the reason otherwise.
"""

from __future__ import annotations

from typing import Annotated

import typer

from honnin.cli_support import emit, fail
from honnin.ledger import merkle
from honnin.ledger.errors import NoteError, ProofError
from honnin.ledger.note import unb64

app = typer.Typer(help="Transparency log proof checks (RFC 9162).", no_args_is_help=True)


def _hash(value: str, what: str) -> bytes:
    try:
        return unb64(value.strip(), what)
    except NoteError as exc:
        raise ProofError(f"{what} is not standard base64") from exc


def _proof(value: str) -> list[bytes]:
    items = [item for item in value.split(",") if item.strip()]
    return [_hash(item, f"proof hash {i}") for i, item in enumerate(items)]


def _report(check: str, result: dict[str, object], error: ProofError | None, as_json: bool) -> None:
    result = {"check": check, "valid": error is None, **result}
    if error is not None:
        result["reason"] = error.safe_message
        if as_json:
            emit(result, as_json=True)
        fail(f"invalid {check} proof: {error.safe_message}")
    emit(result, as_json=as_json, human=lambda d: f"valid {d['check']} proof")


@app.command("verify-inclusion")
def verify_inclusion(
    leaf_hash: Annotated[str, typer.Option("--leaf-hash", help="base64 leaf hash")],
    index: Annotated[int, typer.Option("--index", help="leaf index")],
    size: Annotated[int, typer.Option("--size", help="tree size")],
    root: Annotated[str, typer.Option("--root", help="base64 root hash")],
    proof: Annotated[str, typer.Option("--proof", help="base64 hashes, comma-separated")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Check that LEAF-HASH sits at INDEX in the tree of SIZE leaves with ROOT."""
    error: ProofError | None = None
    try:
        merkle.verify_inclusion(
            _hash(leaf_hash, "leaf hash"), index, size, _proof(proof), _hash(root, "root hash")
        )
    except ProofError as exc:
        error = exc
    _report("inclusion", {"index": index, "size": size}, error, as_json)


@app.command("verify-consistency")
def verify_consistency(
    size1: Annotated[int, typer.Option("--size1", help="first (older) tree size")],
    size2: Annotated[int, typer.Option("--size2", help="second (newer) tree size")],
    root1: Annotated[str, typer.Option("--root1", help="base64 root of the first tree")],
    root2: Annotated[str, typer.Option("--root2", help="base64 root of the second tree")],
    proof: Annotated[str, typer.Option("--proof", help="base64 hashes, comma-separated")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Check that the tree of SIZE1 leaves is a prefix of the tree of SIZE2 leaves."""
    error: ProofError | None = None
    try:
        merkle.verify_consistency(
            size1, size2, _proof(proof), _hash(root1, "first root"), _hash(root2, "second root")
        )
    except ProofError as exc:
        error = exc
    _report("consistency", {"size1": size1, "size2": size2}, error, as_json)


@app.command("keygen")
def keygen(
    name: Annotated[str, typer.Argument(help="key name: the log origin, or the witness name")],
    witness: Annotated[
        bool, typer.Option("--witness", help="a cosignature/v1 witness key (type 0x04)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Generate an Ed25519 signed-note key: the private key (for HONNIN_LEDGER_SIGNING_KEY
    or HONNIN_LEDGER_WITNESS_KEY) and the verifier key peers configure."""
    from honnin.ledger.errors import KeyFormatError
    from honnin.ledger.note import SIG_COSIGNATURE_V1, SIG_ED25519, Signer

    try:
        signer = Signer.generate(name, SIG_COSIGNATURE_V1 if witness else SIG_ED25519)
    except KeyFormatError as exc:
        fail(exc.safe_message)
    emit(
        {"name": name, "private_key": signer.skey, "verifier_key": signer.verifier.vkey},
        as_json=as_json,
        human=lambda d: f"{d['private_key']}\n{d['verifier_key']}",
    )
