"""``honnin ledger verify-inclusion | verify-consistency``: exit 0 valid, 1 invalid."""

from __future__ import annotations

import base64
import json

from typer.testing import CliRunner

from honnin.cli import app
from honnin.ledger import merkle

LEAVES = [f"l{i}".encode() for i in range(11)]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_verify_inclusion_valid_and_invalid() -> None:
    proof = merkle.inclusion_proof(LEAVES, 6)
    args = [
        "ledger",
        "verify-inclusion",
        "--leaf-hash",
        b64(merkle.leaf_hash(LEAVES[6])),
        "--index",
        "6",
        "--size",
        "11",
        "--root",
        b64(merkle.root(LEAVES)),
        "--proof",
        ",".join(b64(h) for h in proof),
    ]
    ok = CliRunner().invoke(app, [*args, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["valid"] is True
    bad = CliRunner().invoke(app, [*args[:5], "5", *args[6:]])
    assert bad.exit_code == 1
    assert "invalid inclusion proof" in bad.output
    garbage = CliRunner().invoke(app, [*args[:-1], "not-base64!"])
    assert garbage.exit_code == 1
    assert "base64" in garbage.output


def test_verify_consistency_valid_and_invalid() -> None:
    proof = merkle.consistency_proof(LEAVES, 5)
    args = [
        "ledger",
        "verify-consistency",
        "--size1",
        "5",
        "--size2",
        "11",
        "--root1",
        b64(merkle.root(LEAVES[:5])),
        "--root2",
        b64(merkle.root(LEAVES)),
        "--proof",
        ",".join(b64(h) for h in proof),
    ]
    ok = CliRunner().invoke(app, args)
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(app, [*args[:7], b64(merkle.root(LEAVES[:4])), *args[8:], "--json"])
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["reason"].startswith("consistency proof does not lead")


def test_keygen_prints_a_matching_key_pair() -> None:
    from honnin.ledger import note

    result = CliRunner().invoke(app, ["ledger", "keygen", "w.example/w1", "--witness", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    signer = note.Signer.from_skey(data["private_key"])
    assert signer.verifier == note.Verifier.from_vkey(data["verifier_key"])
    assert signer.sig_type == note.SIG_COSIGNATURE_V1
    bad = CliRunner().invoke(app, ["ledger", "keygen", "has space"])
    assert bad.exit_code == 1
