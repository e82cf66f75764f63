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
