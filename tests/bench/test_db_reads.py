"""``honnin bench db_reads``: both read paths measured in one run on PostgreSQL, and a
clear error where there is nothing to compare."""

from __future__ import annotations

import pytest

from conftest import postgres_base_url
from honnin.bench_runner import load

db_reads = load("db_reads")


def test_both_paths_read_every_seeded_row_and_are_reported() -> None:
    result = db_reads.run(postgres_url=postgres_base_url(), reads="60", concurrency="4")
    # _load raises when a read finds nothing, so a path that returned no rows fails here.
    for path in ("direct", "baseline_sqlalchemy"):
        assert result[path]["cpu_us_per_read"] > 0
        assert result[path]["reads_per_s"] > 0
    assert (result["reads_per_round"], result["concurrency"], result["rounds"]) == (60, 4, 2)


def test_sqlite_has_no_direct_path_to_compare(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HONNIN_TEST_POSTGRES_URL", raising=False)
    with pytest.raises(ValueError, match="needs PostgreSQL"):
        db_reads.run()
    with pytest.raises(ValueError, match="needs PostgreSQL"):
        db_reads.run(postgres_url="sqlite+aiosqlite:///x.db")


@pytest.mark.parametrize("option", ["reads", "concurrency", "rounds"])
@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_counts_must_be_whole_numbers_of_one_or_more(option: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"{option} must be a whole number"):
        db_reads.run(**{option: value})
