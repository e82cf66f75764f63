"""Test-wide fixtures: the database backends every DB test runs on.

``make test`` starts a throw-away PostgreSQL (scripts/test-services.sh) and exports
``HONNIN_TEST_POSTGRES_URL``. Run outside it, PostgreSQL cases are skipped, unless
``HONNIN_REQUIRE_TEST_SERVICES`` is set, in which case they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import settings as hypothesis_settings

from honnin.db import Database
from honnin.db.migrate import upgrade
from support.platform import Platform, platform_settings, running_platform
from support.webhooks import WebhookReceiver, webhook_receiver

T = TypeVar("T")

# HONNIN_HYPOTHESIS=thorough runs every property with 20 times the examples: a hunt for the
# rare inputs a normal run meets only now and then (each run draws new ones).
hypothesis_settings.register_profile("thorough", max_examples=2000)
hypothesis_settings.load_profile(os.environ.get("HONNIN_HYPOTHESIS", "default"))
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


@pytest.fixture(autouse=True, scope="session")
def _state_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Anything a test's settings keep under ``var/`` goes to a temporary directory."""
    os.environ.setdefault("HONNIN_VAR_DIR", str(tmp_path_factory.mktemp("var")))


def _services_required() -> bool:
    return bool(os.environ.get("HONNIN_REQUIRE_TEST_SERVICES"))


def postgres_base_url() -> str:
    url = os.environ.get("HONNIN_TEST_POSTGRES_URL", "")
    if not url:
        if _services_required():
            pytest.fail("HONNIN_TEST_POSTGRES_URL is not set but test services are required")
        pytest.skip("PostgreSQL not started (run through make test)")
    return url


def redis_url() -> str:
    url = os.environ.get("HONNIN_TEST_REDIS_URL", "")
    if not url:
        if _services_required():
            pytest.fail("HONNIN_TEST_REDIS_URL is not set but test services are required")
        pytest.skip("Redis not started (run through make test)")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database URL on each backend."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'honnin.db'}"
    else:
        url = _outside_event_loop(create_postgres_database)
    _outside_event_loop(lambda: upgrade(url))
    return url


def _outside_event_loop(work: Callable[[], T]) -> T:
    """Run ``work`` (which uses asyncio.run) in a fresh thread: some tests, such as those
    driving Playwright's sync API, already have an event loop in the main thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def create_postgres_database() -> str:
    """Create an empty database on the test PostgreSQL cluster and return its URL."""
    import asyncio

    import asyncpg

    base = postgres_base_url()
    name = f"t_{uuid.uuid4().hex[:16]}"
    dsn = base.replace("postgresql+asyncpg://", "postgresql://")

    async def create() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return base.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"../shared not found beside the checkout ({SHARED_DIR})")
    return SHARED_DIR


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """An enterprise's webhook receiver on loopback, recording what it is sent."""
    with webhook_receiver() as running:
        yield running


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    """The real app on a migrated database of each backend, reached through ASGI."""
    async with running_platform(platform_settings(database_url)) as running:
        yield running
