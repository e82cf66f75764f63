from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from honnin.faces import tracking
from honnin.faces.active import ActiveReport, check_active_liveness, episodes, match_steps
from honnin.faces.challenge import Action, Challenge
from honnin.faces.liveness import LivenessReport
from honnin.faces.video import Frame

MakeChallenge = Callable[..., Challenge]


def active_of(report: LivenessReport) -> ActiveReport:
    assert report.active is not None
    return report.active


def test_genuine_recording_performs_the_challenge(
    reports: dict[str, LivenessReport], actions: tuple[Action, ...]
) -> None:
    for case in ("genuine", "genuine_biden"):
        report = active_of(reports[case])
        assert report.passed, (case, report.reasons)
        assert [s.action for s in report.steps] == list(actions)
        times = [s.at_s for s in report.steps]
        assert all(t is not None for t in times)
        assert times == sorted(times)
        assert report.same_face


def test_face_swapped_mid_sequence_is_caught(reports: dict[str, LivenessReport]) -> None:
    report = active_of(reports["swap"])
    assert not report.passed
    assert "face_changed" in report.reasons
    assert report.max_face_distance is not None
    assert report.max_face_distance > 0.6


def test_photo_cannot_blink(reports: dict[str, LivenessReport]) -> None:
    for case in ("static", "planar"):
        report = active_of(reports[case])
        assert not report.passed
        assert not all(step.done for step in report.steps)


def test_challenge_done_out_of_order_fails(recordings: Any, challenge_for: MakeChallenge) -> None:
    # The person turned left first; a challenge asking right-then-left must fail.
    track = tracking.observe(recordings.frames["genuine"])
    reversed_turns = challenge_for((Action.TURN_RIGHT, Action.TURN_LEFT))
    steps, _, reasons = match_steps(reversed_turns, episodes(track), start_t=0.0)
    assert reasons == ["out_of_order"]
    assert not steps[0].done
    in_order = challenge_for((Action.TURN_LEFT, Action.TURN_RIGHT))
    assert match_steps(in_order, episodes(track), start_t=0.0)[2] == []


def test_step_outside_its_window_is_late(recordings: Any, challenge_for: MakeChallenge) -> None:
    track = tracking.observe(recordings.frames["genuine"])
    # Smile is the fourth action, ~5 s in; a 0.5 s window per step cannot be met.
    tight = challenge_for((Action.TURN_LEFT, Action.SMILE), window=0.5)
    assert match_steps(tight, episodes(track), start_t=0.0)[2] == ["step_late"]


def test_late_upload_and_wrong_nonce_fail(
    recordings: Any, challenge_for: MakeChallenge, now: datetime
) -> None:
    frames = recordings.frames["genuine"][:4]
    challenge = challenge_for((Action.BLINK,))
    late = check_active_liveness(
        frames, challenge, nonce=challenge.nonce, now=now + timedelta(minutes=5)
    )
    assert "challenge_expired" in late.reasons
    forged = check_active_liveness(frames, challenge, nonce="guessed", now=now)
    assert "nonce_mismatch" in forged.reasons


def test_no_face_and_two_faces_in_the_recording(
    recordings: Any, challenge_for: MakeChallenge, now: datetime
) -> None:
    challenge = challenge_for((Action.BLINK,))
    blank = [Frame(pixels=np.full((240, 320, 3), 90, np.uint8), t=i / 5) for i in range(5)]
    empty = check_active_liveness(blank, challenge, nonce=challenge.nonce, now=now)
    assert not empty.passed
    assert "too_few_face_frames" in empty.reasons
    one = recordings.frames["genuine"][:5]
    two = recordings.frames["genuine_biden"][:5]
    pairs = [
        Frame(pixels=np.hstack([a.pixels, b.pixels]), t=a.t) for a, b in zip(one, two, strict=True)
    ]
    doubled = check_active_liveness(pairs, challenge, nonce=challenge.nonce, now=now)
    assert "multiple_faces" in doubled.reasons


def test_eyes_that_close_and_stay_closed_are_no_blink(
    rigs: dict[str, Any], challenge_for: MakeChallenge, now: datetime
) -> None:
    from honnin.faces.synthetic import Expression

    rig = rigs["biden"]
    opened, closed = rig.render(Expression()), rig.render(Expression(eyes_closed=1.0))
    frames = [Frame(pixels=opened, t=i / 5) for i in range(4)]
    frames += [Frame(pixels=closed, t=(4 + i) / 5) for i in range(4)]
    challenge = challenge_for((Action.BLINK,))
    shut = check_active_liveness(frames, challenge, nonce=challenge.nonce, now=now)
    assert shut.reasons == ("missing_blink",)
    frames.append(Frame(pixels=opened, t=8 / 5))
    blinked = check_active_liveness(frames, challenge, nonce=challenge.nonce, now=now)
    assert blinked.passed, blinked.reasons
