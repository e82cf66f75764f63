from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from honnin.faces.challenge import Action, Challenge
from honnin.faces.errors import InvalidChallengeError
from honnin.faces.liveness import check_liveness
from honnin.faces.video import encode_mp4


def test_combined_report_from_video_bytes(
    recordings: Any, challenge_for: Callable[..., Challenge], now: datetime
) -> None:
    video = encode_mp4(recordings.frames["genuine"], fps=5)
    challenge = challenge_for((Action.TURN_LEFT, Action.BLINK))
    report = check_liveness(video, challenge, nonce=challenge.nonce, now=now)
    assert report.passed, report.as_dict()
    body = report.as_dict()
    assert body["active"]["steps"][0]["action"] == "turn_left"
    assert set(body["passive"]["signals"]) == {"motion", "parallax", "moire", "screen_colour"}


def test_replay_fails_the_combined_check_although_the_actions_were_done(
    reports: dict[str, Any],
) -> None:
    report = reports["replay"]
    assert report.active is not None
    assert report.active.passed  # the replayed person did perform the actions ...
    assert not report.passed  # ... but on a screen
    assert "moire_failed" in report.reasons


def test_challenge_without_nonce_is_refused(
    recordings: Any, challenge_for: Callable[..., Challenge]
) -> None:
    with pytest.raises(InvalidChallengeError):
        check_liveness(recordings.frames["static"][:4], challenge_for())


def test_selfie_frame_is_frontal_and_matches_the_source(
    reports: dict[str, Any], recordings: Any, read_face: Callable[[str], bytes]
) -> None:
    from honnin.faces import match
    from honnin.faces.imaging import decode_image

    index = reports["genuine"].selfie_frame
    assert index is not None
    frame = recordings.frames["genuine"][index]
    chip = decode_image(read_face("obama/obama_240p.jpg"))
    assert match.compare_pixels(frame.pixels, chip).match


def test_jpeg_frames_uploaded_one_by_one(
    recordings: Any, challenge_for: Callable[..., Challenge], now: datetime
) -> None:
    """The capture page may post JPEG stills with their capture times instead of a video."""
    from honnin.faces.imaging import encode_image
    from honnin.faces.video import frames_from_images

    source = recordings.frames["genuine"][::2]
    stills = [encode_image(f.pixels, fmt="JPEG", quality=80) for f in source]
    frames = frames_from_images(stills, times=[f.t for f in source])
    challenge = challenge_for((Action.TURN_LEFT, Action.TURN_RIGHT))
    report = check_liveness(frames, challenge, nonce=challenge.nonce, now=now)
    assert report.passed, report.reasons
