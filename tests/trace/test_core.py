"""The pure event model: claim names only, pseudonyms, digests, cursors, outcome classes."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.trace import charts, core
from honnin.trace.errors import InvalidCursorError, InvalidTraceEventError

KEY = b"k" * 32


@given(st.text(max_size=120))
def test_anything_but_a_claim_name_is_refused_with_the_stable_error(text: str) -> None:
    try:
        names = core.normalise_claim_names([text])
    except InvalidTraceEventError:
        return
    assert names == (text,)
    assert text.isascii()
    assert " " not in text


@pytest.mark.parametrize(
    "name", ["family_name", "family_name#ja-Kana-JP", "address.postal_code", "birthdate"]
)
def test_oidc4ida_claim_names_are_accepted(name: str) -> None:
    assert core.normalise_claim_names([name, name]) == (name,)


def test_pseudonym_ignores_width_spaces_and_case_but_not_identity() -> None:
    full = {"family_name": "ヤマダ　タロウ", "birthdate": "1990-01-02"}
    half = {"Family_Name": "ﾔﾏﾀﾞ ﾀﾛｳ", "birthdate": "1990-01-02 "}
    other = {"family_name": "ヤマダ　ハナコ", "birthdate": "1990-01-02"}
    spacing_mark = {"family_name": "ヤマタ゛ タロウ", "birthdate": "1990-01-02"}
    assert core.subject_pseudonym(KEY, full) == core.subject_pseudonym(KEY, half)
    assert core.subject_pseudonym(KEY, full) == core.subject_pseudonym(KEY, spacing_mark)
    assert core.subject_pseudonym(KEY, full) != core.subject_pseudonym(KEY, other)
    assert core.subject_pseudonym(KEY, full) != core.subject_pseudonym(b"x" * 32, full)
    with pytest.raises(InvalidTraceEventError):
        core.subject_pseudonym(b"short", full)
    with pytest.raises(InvalidTraceEventError):
        core.subject_pseudonym(KEY, {"family_name": "  "})


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(min_value=0, max_value=2**63 - 1),
)
def test_cursor_round_trips(at: datetime, row_id: int) -> None:
    cursor = core.Cursor(at=at, id=row_id)
    assert core.decode_cursor(core.encode_cursor(cursor)) == cursor


@given(st.text(alphabet=string.ascii_letters + string.digits + "-_=", max_size=300))
def test_garbage_cursors_are_invalid_cursor_errors(text: str) -> None:
    try:
        cursor = core.decode_cursor(text)
    except InvalidCursorError:
        return
    # Whatever decodes is a real position (an aware time and a non-negative id).
    assert cursor.at.tzinfo is not None
    assert cursor.id >= 0


def test_digest_covers_every_field_and_the_time() -> None:
    at = datetime(2026, 11, 21, tzinfo=UTC)
    event = core.TraceEvent(kind="delivered", object_id="inq_1", outcome="ok", bank_id="b1")
    digest = core.event_digest(event, at=at)
    assert digest != core.event_digest(event, at=at + timedelta(microseconds=1))
    changed = core.TraceEvent(kind="delivered", object_id="inq_1", outcome="ok", bank_id="b2")
    assert digest != core.event_digest(changed, at=at)
    assert core.event_document(event, at=at)["object_type"] == "inquiry"


@pytest.mark.parametrize(
    ("kind", "outcome", "expected"),
    [
        ("bank.fetched", "match", "ok"),
        ("consent.refused", "access_denied", "denied"),
        ("inquiry.created", "contract_denied", "denied"),
        ("inquiry.failed", "bank_unavailable", "error"),
        ("inquiry.expired", "expired", "error"),
        ("webhook.delivered", "delivered", "ok"),
    ],
)
def test_outcome_classes(kind: str, outcome: str, expected: str) -> None:
    assert core.classify(kind, outcome) == expected


def test_charts_escape_labels() -> None:
    svg = charts.sankey(
        [("<b>", "e&1", 3)], left_labels={"<b>": "<script>"}, right_labels={}, title="t"
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "no data movements" in charts.sankey([], title="t")
    bars = charts.timeline([charts.StackedBar(label="<x>", ok=3, denied=1, error=0)], title="x")
    assert "&lt;x&gt;" in bars
    assert 'class="denied"' in bars


@given(st.text(max_size=300))
def test_any_purpose_is_cleaned_not_refused(text: str) -> None:
    cleaned = core.clean_purpose(text)
    if cleaned is not None:
        assert 0 < len(cleaned) <= core.MAX_PURPOSE
        assert cleaned.isprintable()
        assert cleaned == cleaned.strip()
    event = core.TraceEvent(kind="delivered", object_id="x", outcome="ok", purpose=text)
    assert event.purpose == cleaned
