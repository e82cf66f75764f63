"""Shared fixtures: a sandbox issuer (CSCA + DSC) and a chip it issued."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from honnin.sandbox.issuer import IssuedChip, TestIssuer, default_face, sample_holder

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SHARED = Path(__file__).resolve().parents[2].parent / "shared"


@pytest.fixture(scope="session")
def face_photo() -> bytes:
    return default_face(SHARED)


@pytest.fixture(scope="session")
def rsa_issuer() -> TestIssuer:
    return TestIssuer.create(now=NOW, profile="rsa2048")


@pytest.fixture(scope="session")
def rsa_chip(rsa_issuer: TestIssuer, face_photo: bytes) -> IssuedChip:
    return rsa_issuer.issue_chip(sample_holder(7), face=face_photo)
