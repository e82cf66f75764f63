"""Verification records and events as RFC 8785 entries without personal data."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from honnin.ledger import records
from honnin.ledger.errors import EntryError, RecordError

KEY = b"consortium-key-0123456789abcdef"
T0 = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def make(**changes: object) -> records.VerificationRecord:
    values: dict[str, object] = {
        "subject_id": records.subject_id(KEY, {"name": "山田太郎", "birthdate": "1990-01-01"}),
        "provider": "a.test/ledger",
        "method": "jp_he",
        "assurance_level": "IAL2",
        "verified_at": T0,
        "valid_until": T0 + timedelta(days=365),
        "evidence_digest": records.evidence_digest(b"s" * 32, b"evidence"),
    }
    values.update(changes)
    return records.VerificationRecord(**values)  # type: ignore[arg-type]


def test_entry_is_canonical_json_and_round_trips() -> None:
    record = make()
    data = record.to_entry()
    assert data == rfc8785.dumps(json.loads(data))
    assert records.parse_record(data) == record
    assert "山田".encode() not in data
    assert b"1990" not in data
    body = json.loads(data)["record"]
    assert body["verified_at"] == "2026-11-01T09:30:00Z"


def test_subject_id_is_keyed_and_stable() -> None:
    identity = {"name": "山田太郎", "birthdate": "1990-01-01"}
    assert records.subject_id(KEY, identity) == records.subject_id(
        KEY, dict(reversed(identity.items()))
    )
    assert records.subject_id(KEY, identity) != records.subject_id(b"x" * 32, identity)
    with pytest.raises(RecordError):
        records.subject_id(b"short", identity)


def test_salted_digest_depends_on_the_salt() -> None:
    assert records.evidence_digest(b"a" * 32, b"e") != records.evidence_digest(b"b" * 32, b"e")


def test_usable_window() -> None:
    record = make()
    assert record.usable_at(T0 + timedelta(days=10), max_age_days=30)
    assert not record.usable_at(T0 + timedelta(days=31), max_age_days=30)
    assert not record.usable_at(T0 + timedelta(days=366), max_age_days=400)
    assert not record.usable_at(T0 - timedelta(days=1), max_age_days=30)


@pytest.mark.parametrize(
    "changes",
    [
        {"subject_id": "NOT-HEX"},
        {"evidence_digest": "ab"},
        {"method": ""},
        {"valid_until": T0},
    ],
)
def test_invalid_records(changes: dict[str, object]) -> None:
    with pytest.raises(RecordError):
        make(**changes)


def test_non_canonical_or_foreign_entries_are_refused() -> None:
    data = make().to_entry()
    with pytest.raises(RecordError, match="canonical"):
        records.parse_record(json.dumps(json.loads(data), indent=1).encode())
    event = records.event_entry("trace.delivered", {"b": 1, "a": "x"})
    assert records.parse_entry(event) == ("trace.delivered", {"a": "x", "b": 1})
    with pytest.raises(RecordError):
        records.parse_record(event)
    with pytest.raises(EntryError):
        records.event_entry("verification", {})
    with pytest.raises(EntryError):
        records.event_entry("x", {"f": float("nan")})


@given(st.binary(max_size=300))
def test_entry_parser_raises_only_record_errors(data: bytes) -> None:
    with contextlib.suppress(RecordError):
        records.parse_record(data)
