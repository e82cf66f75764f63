from typing import Any

import pytest

from honnin.faces.liveness import LivenessReport
from honnin.faces.passive import check_passive_liveness


def test_genuine_recordings_pass_every_signal(reports: dict[str, LivenessReport]) -> None:
    for case in ("genuine", "genuine_biden"):
        report = reports[case].passive
        assert report.passed, (case, [s.as_dict() for s in report.signals])
        assert {s.name for s in report.signals} == {"motion", "parallax", "moire", "screen_colour"}


def test_still_photo_shows_no_motion(reports: dict[str, LivenessReport]) -> None:
    report = reports["static"].passive
    assert not report.passed
    assert "motion_failed" in report.reasons


def test_tilted_photo_moves_like_a_plane(reports: dict[str, LivenessReport]) -> None:
    report = reports["planar"].passive
    assert report.signal("motion").passed  # it moves enough ...
    assert not report.signal("parallax").passed  # ... but one homography explains it
    assert report.signal("parallax").value < reports["genuine"].passive.signal("parallax").value


def test_screen_replay_shows_moire_and_screen_colour(reports: dict[str, LivenessReport]) -> None:
    report = reports["replay"].passive
    assert not report.passed
    assert not report.signal("moire").passed
    assert not report.signal("screen_colour").passed
    # Geometry alone cannot tell: the replayed head did turn in 3-D.
    assert report.signal("parallax").passed


def test_passive_check_accepts_frames_directly(recordings: Any) -> None:
    report = check_passive_liveness(recordings.frames["static"][:4])
    assert report.frames == 4
    assert report.signal("motion").value == pytest.approx(
        report.signal("motion").value
    )  # finite, not NaN
    assert not report.passed


def test_real_footage_is_not_taken_for_a_screen(faces_dir: Any) -> None:
    """The one real clip of the shared set (a film excerpt, camera-shot, compressed)."""
    from honnin.faces.video import frames_from_video

    clip = (faces_dir / "video" / "short_hamilton_clip.mp4").read_bytes()
    report = check_passive_liveness(frames_from_video(clip, max_frames=12))
    assert report.frames_with_face >= 4
    assert report.signal("moire").passed
    assert report.signal("screen_colour").passed
