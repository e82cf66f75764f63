"""Card OCR end to end on the sandbox issuer's rendered cards, and trust directories."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from honnin.documents import chip
from honnin.documents.errors import DocumentError, ImageDecodeError, TrustStoreError
from honnin.documents.service import CardReader, load_trust_store
from honnin.sandbox.cards import CardStyle, degrade, expected_fields, render_card
from honnin.sandbox.issuer import IssuedChip, TestIssuer, sample_holder

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
KINDS = ("mynumber", "driver_license", "residence_card", "passport")
FONTS = ("gothic", "mincho", "vlgothic")


@pytest.fixture(scope="module")
def reader() -> CardReader:
    return CardReader()


def _matches(expected: str, read: str | None) -> bool:
    return read is not None and read.replace(" ", "") == expected.replace(" ", "")


@pytest.mark.slow
def test_ocr_reads_every_field_of_degraded_cards(reader: CardReader, face_photo: bytes) -> None:
    # 8 cards: every kind twice, every font, blurred, rotated up to 10 degrees, JPEG q50.
    # The larger measurement (hundreds of cards) is `honnin bench documents`.
    rng = random.Random(2026)
    right = 0
    failures = []
    for index in range(8):
        kind, font = KINDS[index % 4], FONTS[index % 3]
        holder = sample_holder(5000 + index)
        image = render_card(kind, holder, face=face_photo, style=CardStyle(font=font))  # type: ignore[arg-type]
        data = degrade(
            image, blur=rng.choice([0.0, 0.8, 1.2]), rotation=rng.uniform(-10, 10), jpeg_quality=50
        )
        reading = reader.read(data)
        expected = expected_fields(kind, holder)  # type: ignore[arg-type]
        wrong = {
            name: (value, reading.fields[name].value if name in reading.fields else None)
            for name, value in expected.items()
            if not _matches(value, reading.fields[name].value if name in reading.fields else None)
        }
        if kind == "passport":
            assert reading.mrz is not None
            assert reading.mrz.valid  # the MRZ path corrects to valid check digits
        if not wrong and reading.document_type == kind:
            right += 1
        else:
            failures.append((kind, font, wrong))
    assert right / 8 >= 0.95, failures


def test_confidences_are_reported(reader: CardReader, face_photo: bytes) -> None:
    holder = sample_holder(42)
    data = degrade(render_card("mynumber", holder, face=face_photo), jpeg_quality=80)
    reading = reader.read(data).to_dict()
    assert reading["document_type"] == "mynumber"
    assert all(0 < item["confidence"] <= 1 for item in reading["fields"].values())


def test_not_an_image(reader: CardReader) -> None:
    with pytest.raises(ImageDecodeError):
        reader.read(b"definitely not an image")


def test_load_trust_store_directory(
    tmp_path: Path, rsa_issuer: TestIssuer, rsa_chip: IssuedChip
) -> None:
    (tmp_path / "csca.der").write_bytes(rsa_issuer.csca_certificate)
    pem = b"-----BEGIN CERTIFICATE-----\n"
    import base64

    other = TestIssuer.create(now=NOW, profile="ecdsa-p256")
    body = base64.encodebytes(other.csca_certificate)
    (tmp_path / "other.pem").write_bytes(pem + body + b"-----END CERTIFICATE-----\n")
    (tmp_path / "notes.txt").write_text("ignored")
    crl = rsa_issuer.crl(revoked=[rsa_issuer.dsc_serial], this_update=NOW, next_update=NOW)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "csca.crl").write_bytes(crl)
    store = load_trust_store(tmp_path)
    assert len(store.cscas) == 2
    report = chip.verify(rsa_chip.sod, rsa_chip.data_groups, trust=store, at=NOW)
    assert report.revocation == "revoked"


def test_bad_trust_files_are_clean_errors(tmp_path: Path) -> None:
    with pytest.raises(TrustStoreError):
        load_trust_store(tmp_path / "missing")
    (tmp_path / "broken.der").write_bytes(b"\x30\x03\x02\x01")
    with pytest.raises(DocumentError):
        load_trust_store(tmp_path)


def test_document_service(rsa_issuer: TestIssuer, rsa_chip: IssuedChip, tmp_path: Path) -> None:
    from honnin.documents.service import create_document_service

    (tmp_path / "csca.der").write_bytes(rsa_issuer.csca_certificate)
    service = create_document_service(trust_dir=tmp_path, ocr_threads=1)
    assert service.verify_chip(rsa_chip.sod, rsa_chip.data_groups, at=NOW).valid
    report = service.verify_chip(rsa_chip.sod, {1: rsa_chip.data_groups[1]}, at=NOW)
    assert report.reasons["data_group_hashes"] == "required_data_group_missing"
    bare = create_document_service()
    assert (
        bare.verify_chip(rsa_chip.sod, rsa_chip.data_groups, at=NOW).checks["dsc_chain"]
        == "unknown"
    )
