import math

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.faces import geometry

# The six pose landmarks of geometry's generic head, indexed as in iBUG 300-W.
_HEAD = {
    30: (0.0, 0.0, 0.0),
    8: (0.0, -330.0, -65.0),
    36: (-225.0, 170.0, -135.0),
    45: (225.0, 170.0, -135.0),
    48: (-150.0, -150.0, -125.0),
    54: (150.0, -150.0, -125.0),
}


def _project(yaw: float, pitch: float, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """Landmarks of the generic head turned by ``yaw``/``pitch`` (image conventions)."""
    width, height = size
    a, b = math.radians(yaw), -math.radians(pitch)
    # Nose to image-right for positive yaw, up for positive pitch (x right, y down, z away).
    rot_y = np.array([[math.cos(a), 0, -math.sin(a)], [0, 1, 0], [math.sin(a), 0, math.cos(a)]])
    rot_x = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    model = np.array(list(_HEAD.values())) * np.array([1.0, -1.0, -1.0])
    rvec, _ = cv2.Rodrigues(rot_x @ rot_y)
    camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], dtype=np.float64)
    points, _ = cv2.projectPoints(model, rvec, np.array([0.0, 0.0, 3000.0]), camera, np.zeros(4))
    marks = np.zeros((68, 2))
    marks[list(_HEAD)] = points.reshape(-1, 2)
    return marks


@pytest.mark.parametrize(("yaw", "pitch"), [(0, 0), (25, 0), (-25, 0), (0, 15), (0, -15)])
def test_head_pose_recovers_the_rotation_with_documented_signs(yaw: float, pitch: float) -> None:
    marks = _project(yaw, pitch)
    eyes, mouth = (marks[36] + marks[45]) / 2, (marks[48] + marks[54]) / 2
    # The documented signs, read off the picture: nose right of the eyes' middle for
    # positive yaw, nose nearer the eyes than in the frontal view for positive pitch.
    assert np.sign(round(marks[30, 0] - eyes[0], 6)) == np.sign(yaw)
    nose_height = (marks[30, 1] - eyes[1]) / (mouth[1] - eyes[1])
    assert np.sign(round(0.53 - nose_height, 2)) == np.sign(pitch)
    pose = geometry.head_pose(marks, (640, 480))
    assert pose.yaw == pytest.approx(yaw, abs=2.0)
    assert pose.pitch == pytest.approx(pitch, abs=2.0)


def _eye(height: float) -> list[tuple[float, float]]:
    # p1..p6 of one eye: corners at x=0 and x=30, lids at +-height/2.
    return [
        (0, 0),
        (10, -height / 2),
        (20, -height / 2),
        (30, 0),
        (20, height / 2),
        (10, height / 2),
    ]


@given(st.floats(min_value=0.0, max_value=20.0))
def test_eye_aspect_ratio_follows_lid_opening(height: float) -> None:
    marks = np.zeros((68, 2))
    marks[36:42] = _eye(height)
    marks[42:48] = np.array(_eye(height)) + np.array([60, 0])
    assert geometry.eye_aspect_ratio(marks) == pytest.approx(height / 30.0)


def test_metrics_scale_with_the_face() -> None:
    marks = np.zeros((68, 2))
    marks[36:42] = _eye(9)
    marks[42:48] = np.array(_eye(9)) + np.array([60, 0])
    marks[48], marks[54] = (10, 80), (80, 80)
    marks[60], marks[64] = (15, 80), (75, 80)
    small = geometry.metrics(marks, (640, 480))
    big = geometry.metrics(marks * 2, (640, 480))
    assert small.interocular == pytest.approx(60.0)
    assert small.mouth_width_ratio == pytest.approx(big.mouth_width_ratio)
    assert small.eye_aspect_ratio == pytest.approx(0.3)
