"""RFC 9111 freshness rules for bank metadata and JWKS (the connector's use of them is
tested in tests/banks/test_connector_cache.py)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from honnin.gateway.httpcache import freshness_seconds, parse_cache_control


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 300.0),
        ({"cache-control": "max-age=60"}, 60.0),
        ({"cache-control": "public, max-age=60", "age": "15"}, 45.0),
        ({"cache-control": "max-age=999999"}, 3600.0),
        ({"cache-control": "no-store"}, 0.0),
        ({"cache-control": "no-cache, max-age=60"}, 0.0),
        ({"cache-control": "max-age=abc"}, 0.0),
        ({"cache-control": 'max-age="30"'}, 30.0),
        (
            {"expires": "Sat, 21 Nov 2026 05:10:00 GMT", "date": "Sat, 21 Nov 2026 05:00:00 GMT"},
            600.0,
        ),
        ({"expires": "0", "date": "Sat, 21 Nov 2026 05:00:00 GMT"}, 0.0),
    ],
)
def test_freshness(headers: dict[str, str], expected: float) -> None:
    assert freshness_seconds(headers, default=300, maximum=3600) == expected


@given(st.text(max_size=200))
def test_any_cache_control_value_parses(value: str) -> None:
    directives = parse_cache_control(value)
    assert directives.max_age is None or 0 <= directives.max_age <= 2**31


@given(st.dictionaries(st.sampled_from(["cache-control", "expires", "date", "age"]), st.text()))
@example({"age": "²"})  # found by Hypothesis: str.isdigit() takes it, float() does not
@example({"cache-control": "max-age=²"})
@example({"cache-control": "max-age=" + "9" * 5000})  # int() refuses 4300+ digits
def test_freshness_is_bounded_for_any_headers(headers: dict[str, str]) -> None:
    assert 0 <= freshness_seconds(headers, default=300, maximum=3600) <= 3600
