"""The sandbox document issuer as a Python API (later eKYC tests build chips with it)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from honnin.documents import chip, lds, mrz
from honnin.sandbox import cards
from honnin.sandbox.issuer import (
    Holder,
    SigningKey,
    TestIssuer,
    default_face,
    holder_mrz,
    sample_holder,
)

NOW = datetime(2026, 11, 21, tzinfo=UTC)
SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def test_chip_with_a_given_face_and_mrz() -> None:
    face = default_face(SHARED, "biden/biden_1.jpg")
    holder = Holder(
        surname="Eriksson",
        given_names="Anna Maria",
        birth_date=date(1974, 8, 12),
        sex="F",
        document_number="L898902C3",
        expiry_date=date(2032, 4, 15),
        issue_date=date(2022, 4, 15),
        issuing_state="UTO",
        nationality="UTO",
    )
    issuer = TestIssuer.create(now=NOW, profile="ecdsa-p256", country="UTO")
    issued = issuer.issue_chip(holder, face=face, kind="id_card")
    report = chip.verify(issued.sod, issued.data_groups, trust=issuer.trust_store(), at=NOW)
    assert report.valid
    assert report.mrz is not None
    assert (report.mrz.format, report.mrz.surname) == ("TD1", "ERIKSSON")
    assert report.face_image is not None
    assert lds.parse_com(issued.ef_com).data_groups == (1, 2)


def test_holder_mrz_is_valid() -> None:
    for seed in range(20):
        holder = sample_holder(seed)
        assert mrz.parse(holder_mrz(holder), today=date(2026, 1, 1)).valid
        assert mrz.parse(holder_mrz(holder, kind="id_card"), today=date(2026, 1, 1)).valid


def test_sample_holder_is_deterministic() -> None:
    assert sample_holder(3) == sample_holder(3)
    assert sample_holder(3) != sample_holder(4)


def test_unknown_profile() -> None:
    with pytest.raises(ValueError, match="unknown key profile"):
        SigningKey.generate("dsa1024")


@pytest.mark.parametrize("kind", ["passport", "mynumber", "driver_license", "residence_card"])
def test_render_card(kind: cards.CardKind) -> None:
    image = cards.render_card(kind, sample_holder(1), style=cards.CardStyle(font="mincho"))
    assert image.width > image.height
    data = cards.degrade(image, blur=1.0, rotation=10, jpeg_quality=50)
    assert data.startswith(b"\xff\xd8")
    assert set(cards.expected_fields(kind, sample_holder(1))) >= {
        "name",
        "birth_date",
        "expiry_date",
    }
