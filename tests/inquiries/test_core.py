import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.inquiries import core


def test_callback_verdict_precedence() -> None:
    assert core.callback_verdict(
        expired=True, issuer_problem="issuer_mismatch", error=None, code="c"
    ) == (
        "expired",
        "consent_expired",
    )
    assert core.callback_verdict(
        expired=False, issuer_problem="issuer_mismatch", error="access_denied", code=None
    ) == (
        "failed",
        "issuer_mismatch",
    )
    assert core.callback_verdict(
        expired=False, issuer_problem=None, error="access_denied", code=None
    ) == (
        "denied",
        "user_denied",
    )
    assert core.callback_verdict(
        expired=False, issuer_problem=None, error="server_error", code=None
    ) == (
        "failed",
        "bank_refused",
    )
    assert core.callback_verdict(expired=False, issuer_problem=None, error=None, code=None) == (
        "failed",
        "bank_protocol_error",
    )
    assert core.callback_verdict(expired=False, issuer_problem=None, error=None, code="abc") is None


@given(
    returned=st.sets(
        st.sampled_from(["family_name", "given_name", "birthdate", "address", "gender"])
    ),
    allowed=st.sets(st.sampled_from(["family_name", "given_name", "birthdate", "address"])),
)
def test_release_never_passes_unrequested_claims(returned: set[str], allowed: set[str]) -> None:
    verified = {
        "verification": {"trust_framework": "jp_aml"},
        "claims": dict.fromkeys(returned, "x"),
    }
    released = core.release_claims(verified, allowed)
    assert set(released["claims"]) == returned & allowed
    assert released["verification"] == verified["verification"]


def test_digest_is_canonical() -> None:
    assert core.content_digest({"b": 1, "a": "髙"}) == core.content_digest({"a": "髙", "b": 1})


_MOMENTS = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.just(UTC),
)
_IDS = st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z")


@given(moment=_MOMENTS, row_id=_IDS)
def test_a_cursor_gives_back_its_position(moment: datetime, row_id: str) -> None:
    position = core.PagePosition(created_at=moment, id=row_id)
    text = core.encode_cursor(position)
    assert len(text) <= 200  # what the API accepts back
    assert re.fullmatch(r"[A-Za-z0-9_-]+", text)  # URL-safe as it is, no padding
    assert core.decode_cursor(text) == position


def test_a_cursor_keeps_the_instant_whatever_the_time_zone() -> None:
    tokyo = timezone(timedelta(hours=9))
    moment = datetime(2026, 11, 22, 9, 0, 0, 123456, tzinfo=tokyo)
    decoded = core.decode_cursor(core.encode_cursor(core.PagePosition(moment, "inq_1")))
    assert decoded.created_at == moment
    assert decoded.created_at.tzinfo == UTC


@given(text=st.text(max_size=300))
def test_anything_else_is_a_cursor_error(text: str) -> None:
    try:
        position = core.decode_cursor(text)
    except core.CursorError:
        return
    # The rare text that does decode is a cursor of the same position.
    assert core.decode_cursor(core.encode_cursor(position)) == position


@pytest.mark.parametrize(
    "value",
    [
        [],
        ["2026-11-22T00:00:00.000000Z"],
        ["2026-11-22T00:00:00.000000Z", 7],
        ["2026-11-22T00:00:00.000000Z", "has space"],
        ["2026-11-22T00:00:00.000000Z", "x" * 65],
        ["2026-11-22", "inq_1"],
        ["2026-11-22T00:00:00.000000Z", "inq_1", "extra"],
        {"at": "2026-11-22T00:00:00.000000Z"},
    ],
)
def test_a_well_formed_but_foreign_cursor_is_an_error(value: object) -> None:
    text = base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    with pytest.raises(core.CursorError):
        core.decode_cursor(text)


def test_the_previous_key_signs_until_its_overlap_ends_and_not_at_that_instant() -> None:
    until = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    state = core.WebhookKeyState(version=3, previous_version=2, previous_valid_until=until)
    assert state.signing_versions(until - timedelta(microseconds=1)) == (3, 2)
    assert state.signing_versions(until) == (3,)
    assert core.WebhookKeyState().signing_versions(until) == (0,)


@given(keys=st.lists(st.binary(min_size=1, max_size=64), min_size=1, max_size=4, unique=True))
def test_a_signature_header_verifies_with_each_of_its_keys_and_no_other(keys: list[bytes]) -> None:
    body, now = b'{"type":"bank_inquiry.finished"}', 1_800_000_000
    header = core.signature_header(secrets=keys, message_id="msg_1", timestamp=now, body=body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": header}
    assert len(header.split()) == len(keys)
    for key in keys:
        assert core.verify_webhook(secret=key, headers=headers, body=body, now=now)
    assert not core.verify_webhook(
        secret=b"".join(keys) + b"x", headers=headers, body=body, now=now
    )


def test_the_never_rotated_key_is_the_one_issued_before_rotation_existed() -> None:
    # Receivers configured before rotation existed keep verifying: version 0 is the old
    # derivation, HMAC-SHA256(master, "webhook:<enterprise id>").
    master, enterprise = b"deployment secret", "ent_1"
    legacy = hmac.new(master, b"webhook:ent_1", hashlib.sha256).digest()
    assert core.enterprise_webhook_secret(master, enterprise) == legacy
    assert core.enterprise_webhook_secret(master, enterprise, 0) == legacy
    rotated = {core.enterprise_webhook_secret(master, enterprise, v) for v in range(1, 4)}
    assert len(rotated) == 3
    assert legacy not in rotated
