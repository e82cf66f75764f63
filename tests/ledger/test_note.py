"""C2SP signed-note and cosignature/v1 keys, against the Go reference vectors."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.ledger import note
from honnin.ledger.errors import KeyFormatError, NoteError

GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT
    + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
    + "KvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXs"
    "YjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def test_go_reference_signature_is_reproduced_byte_for_byte() -> None:
    signer = note.Signer.from_skey(GO_SKEY)
    assert signer.verifier.vkey == GO_VKEY
    assert signer.skey == GO_SKEY
    assert note.sign(GO_TEXT, [signer]) == GO_NOTE


def test_reference_notes_open_with_their_verifier_keys() -> None:
    opened = note.open_note(GO_NOTE, [note.Verifier.from_vkey(GO_VKEY)])
    assert opened.text == GO_TEXT
    spec = note.open_note(SPEC_NOTE, [note.Verifier.from_vkey(SPEC_VKEY)])
    assert spec.text == "This is an example message.\n"


def test_unknown_signatures_are_ignored_but_one_trusted_is_required() -> None:
    other = note.Signer.generate("example.com/other")
    both = GO_NOTE + other.signature_line(GO_TEXT)
    assert len(note.open_note(both, [note.Verifier.from_vkey(GO_VKEY)]).verified) == 1
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        note.open_note(GO_NOTE, [other.verifier])


def test_same_name_other_key_is_not_trusted_and_a_bad_known_signature_rejects() -> None:
    impostor = note.Signer.generate("PeterNeumann")
    forged = note.sign(GO_TEXT, [impostor])
    with pytest.raises(NoteError):
        note.open_note(forged, [note.Verifier.from_vkey(GO_VKEY)])
    tampered = GO_NOTE.replace("cryptography", "cryptographY")
    with pytest.raises(NoteError, match="does not verify"):
        note.open_note(tampered, [note.Verifier.from_vkey(GO_VKEY)])


def test_cosignature_v1_signs_header_timestamp_and_text() -> None:
    witness = note.Signer.generate("witness.example/w1", note.SIG_COSIGNATURE_V1)
    line = witness.signature_line(GO_TEXT, timestamp=1679315147)
    sig = note.parse_signature_line(line[:-1])
    assert len(sig.signature) == 72
    assert sig.signature[:8] == (1679315147).to_bytes(8, "big")
    witness.private_key.public_key().verify(
        sig.signature[8:],
        b"cosignature/v1\ntime 1679315147\n" + GO_TEXT.encode(),
    )
    opened = note.open_note(GO_NOTE + line, [witness.verifier])
    assert opened.verified[0].timestamp == 1679315147
    # the cosigner key id uses type 0x04, so the same key as a note key differs
    assert witness.verifier.key_id != note.key_id(witness.name, 1, witness.public_key)


@pytest.mark.parametrize(
    "bad",
    [
        "no newline",
        "text\n— PeterNeumann AAAA\n",  # no blank line
        "text\n\n",  # no signatures
        "text\n\n- PeterNeumann AAAAAAA=\n",  # hyphen, not em dash
        "text\n\n— PeterNeumann !!!!\n",
        "text\n\n— PeterNeumann AAAA\n",  # too short
        "te\x01xt\n\n— PeterNeumann AAAAAAA=\n",
        "text\n\n— Peter Neumann AAAAAAA=\n",
    ],
)
def test_malformed_notes_are_note_errors(bad: str) -> None:
    with pytest.raises(NoteError):
        note.open_note(bad, [note.Verifier.from_vkey(GO_VKEY)])


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq",
        "Peter+Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+BRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys(bad: str) -> None:
    with pytest.raises(KeyFormatError):
        note.Verifier.from_vkey(bad)


@given(st.binary(max_size=300) | st.text(max_size=300))
def test_parse_raises_only_note_errors(data: bytes | str) -> None:
    with contextlib.suppress(NoteError):
        note.open_note(data, [note.Verifier.from_vkey(GO_VKEY)])


@given(st.text(max_size=120))
def test_verifier_key_parser_raises_only_key_errors(text: str) -> None:
    with contextlib.suppress(KeyFormatError):
        note.Verifier.from_vkey(text)
