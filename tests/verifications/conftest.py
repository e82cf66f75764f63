"""Session-cached fixtures for verification sessions (helpers: support/verifications.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from support.verifications import FACES, FaceKit, Kyc, make_kit, running_kyc


@pytest.fixture(scope="session")
def kit() -> FaceKit:
    if not FACES.is_dir():
        pytest.skip("the shared face set is not present")
    return make_kit()


@pytest.fixture(scope="session")
def trust_dir(kit: FaceKit, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("trust")
    (directory / "csca.der").write_bytes(kit.issuer.csca_certificate)
    return directory


@pytest.fixture
async def kyc(database_url: str, kit: FaceKit, trust_dir: Path) -> AsyncIterator[Kyc]:
    async with running_kyc(database_url, kit, trust_dir) as running:
        yield running
