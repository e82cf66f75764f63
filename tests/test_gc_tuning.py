"""The garbage collector's young threshold while the app serves (honnin.gc_tuning)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from honnin.gc_tuning import young_collection_threshold
from support.platform import platform_settings, running_platform


@pytest.fixture(autouse=True)
def interpreter_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_young_threshold_holds_inside_and_is_given_back() -> None:
    with young_collection_threshold(12_345):
        assert gc.get_threshold() == (12_345, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_given_back_when_the_body_fails() -> None:
    with pytest.raises(RuntimeError), young_collection_threshold(9_000):
        raise RuntimeError
    assert gc.get_threshold() == (700, 10, 10)


def test_zero_keeps_the_interpreters_setting() -> None:
    with young_collection_threshold(0):
        assert gc.get_threshold() == (700, 10, 10)


async def test_the_platform_collects_young_objects_less_often_while_it_serves(
    database_url: str,
) -> None:
    settings = platform_settings(database_url, gc_young_threshold=20_000)
    async with running_platform(settings) as platform:
        assert gc.get_threshold() == (20_000, 10, 10)
        assert (await platform.client.get("/healthz")).status_code == 200
    assert gc.get_threshold() == (700, 10, 10)
