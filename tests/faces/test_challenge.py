import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.faces.challenge import (
    TURNS,
    Action,
    Challenge,
    check_binding,
    issue_challenge,
    parse_actions,
    seal,
    unseal,
)
from honnin.faces.errors import InvalidChallengeError

NOW = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)


@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=8))
def test_issued_sequences_hold_a_turn_and_no_immediate_repeat(seed: int, length: int) -> None:
    challenge = issue_challenge(now=NOW, rng=random.Random(seed), length=length)
    assert len(challenge.actions) == length
    assert any(a in TURNS for a in challenge.actions)
    assert all(a != b for a, b in zip(challenge.actions, challenge.actions[1:], strict=False))
    assert challenge.expires_at - challenge.issued_at == timedelta(seconds=120)


def test_issue_is_deterministic_with_an_injected_rng_and_random_without() -> None:
    first = issue_challenge(now=NOW, rng=random.Random(7))
    again = issue_challenge(now=NOW, rng=random.Random(7))
    assert first == again
    nonces = {issue_challenge(now=NOW).nonce for _ in range(20)}
    assert len(nonces) == 20


def test_binding_checks_nonce_and_deadline() -> None:
    challenge = issue_challenge(now=NOW, rng=random.Random(1), ttl_s=60)
    assert check_binding(challenge, nonce=challenge.nonce, now=NOW + timedelta(seconds=59)) == []
    late = NOW + timedelta(seconds=61)
    assert check_binding(challenge, nonce=challenge.nonce, now=late) == ["challenge_expired"]
    assert check_binding(challenge, nonce="other", now=NOW) == ["nonce_mismatch"]
    early = NOW - timedelta(seconds=1)
    assert check_binding(challenge, nonce=challenge.nonce, now=early) == ["challenge_not_yet_valid"]


def test_naive_clock_is_refused() -> None:
    with pytest.raises(InvalidChallengeError):
        issue_challenge(now=datetime(2026, 1, 1))


def test_sealed_token_round_trips_and_detects_tampering() -> None:
    challenge = issue_challenge(now=NOW, rng=random.Random(3))
    token = seal(challenge, key=b"k" * 32)
    assert unseal(token, key=b"k" * 32) == challenge
    with pytest.raises(InvalidChallengeError):
        unseal(token, key=b"x" * 32)
    body, tag = token.split(".")
    with pytest.raises(InvalidChallengeError):
        unseal(body[:-2] + "AA." + tag, key=b"k" * 32)
    with pytest.raises(InvalidChallengeError):
        unseal("garbage", key=b"k" * 32)


@given(st.lists(st.sampled_from(list(Action)), min_size=1, max_size=8))
def test_parse_actions_round_trips(actions: list[Action]) -> None:
    assert parse_actions(",".join(a.value for a in actions)) == tuple(actions)


@given(st.text(max_size=40))
def test_parse_actions_rejects_anything_else_with_a_code(text: str) -> None:
    names = [p.strip().lower().replace("-", "_") for p in text.split(",") if p.strip()]
    if names and len(names) <= 8 and all(n in {a.value for a in Action} for n in names):
        assert parse_actions(text) == tuple(Action(n) for n in names)
    else:
        with pytest.raises(InvalidChallengeError):
            parse_actions(text)


def test_from_dict_rejects_malformed_input() -> None:
    good = issue_challenge(now=NOW, rng=random.Random(2)).as_dict()
    assert Challenge.from_dict(good).nonce == good["nonce"]
    for broken in ({**good, "actions": "blink"}, {**good, "issued_at": "yesterday"}, {}):
        with pytest.raises(InvalidChallengeError):
            Challenge.from_dict(broken)
