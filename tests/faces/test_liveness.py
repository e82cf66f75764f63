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


def _observation(index: int, *, yaw: float, ear: float) -> Any:
    from honnin.faces.geometry import FaceMetrics, Pose
    from honnin.faces.tracking import Observation

    metrics = FaceMetrics(
        pose=Pose(yaw=yaw, pitch=6.0, roll=0.0),
        eye_aspect_ratio=ear,
        mouth_width_ratio=1.17,
        mouth_open_ratio=0.0,
        interocular=60.0,
    )
    return Observation(
        index=index, t=index / 6, faces=1, box=None, landmarks=None, metrics=metrics, tracked=False
    )


def test_selfie_frame_skips_a_lone_open_eye_reading_inside_a_blink() -> None:
    """Readings from a synthetic blink that once put a verification in review: the lids
    read open at 0.216 in the middle of a blink, and that face matched the card worse
    than any still frame (0.56 against 0.52)."""
    from honnin.faces.liveness import selfie_frame
    from honnin.faces.tracking import Track

    readings = [(-2.7, 0.216), (-0.1, 0.222), (-1.7, 0.220), (1.0, 0.191), (1.0, 0.112)]
    readings += [(0.7, 0.216), (0.3, 0.169), (1.6, 0.127), (1.7, 0.173), (1.1, 0.230)]
    readings += [(-1.4, 0.211), (-1.1, 0.205), (-5.2, 0.225), (-1.6, 0.231), (5.7, 0.214)]
    observations = tuple(_observation(i, yaw=yaw, ear=ear) for i, (yaw, ear) in enumerate(readings))
    chosen = selfie_frame(Track(observations=observations, size=(640, 480), embeddings={}))
    assert chosen == 1  # frontal, eyes open before and after; not 5, inside the blink
