"""Measurements on 68-point landmarks (iBUG 300-W order); pure functions.

* Head pose: ``cv2.solvePnP`` of six landmarks against a generic 3-D head (nose tip,
  chin, outer eye corners, mouth corners; the model used by Mallick, "Head pose
  estimation using OpenCV and dlib", 2016) with a pinhole camera whose focal length is
  the image width, which is within the error of any unknown phone camera.
* Eye aspect ratio (EAR): Soukupová & Čech, "Real-Time Eye Blink Detection using Facial
  Landmarks", CVWW 2016, eq. 1.
* Mouth: width over inter-ocular distance (a smile widens the mouth) and the inner-lip
  aspect ratio (an open mouth).

Yaw sign convention: positive when the nose points to the image's right. In frames as a
front camera records them (not mirrored) that is the subject turning to *their* left.
Pitch is positive when the subject looks up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from honnin.faces.engine import Landmarks

# Generic head in millimetres, y up, z towards the camera (nose tip at the origin).
_MODEL_POINTS = np.array(
    [
        (0.0, 0.0, 0.0),  # 30 nose tip
        (0.0, -330.0, -65.0),  # 8 chin
        (-225.0, 170.0, -135.0),  # 36 outer corner of the eye on the image left
        (225.0, 170.0, -135.0),  # 45 outer corner of the eye on the image right
        (-150.0, -150.0, -125.0),  # 48 mouth corner, image left
        (150.0, -150.0, -125.0),  # 54 mouth corner, image right
    ],
    dtype=np.float64,
)
_POSE_INDICES = (30, 8, 36, 45, 48, 54)
_LEFT_EYE = (36, 37, 38, 39, 40, 41)
_RIGHT_EYE = (42, 43, 44, 45, 46, 47)


@dataclass(frozen=True, slots=True)
class Pose:
    """Head rotation in degrees (see the module docstring for the signs)."""

    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True, slots=True)
class FaceMetrics:
    """Everything the liveness checks read from one frame's landmarks."""

    pose: Pose
    eye_aspect_ratio: float
    mouth_width_ratio: float
    mouth_open_ratio: float
    interocular: float


def head_pose(marks: Landmarks, image_size: tuple[int, int]) -> Pose:
    """Yaw, pitch and roll of the head whose landmarks are ``marks``.

    ``image_size`` is (width, height) of the frame the landmarks come from.
    """
    width, height = image_size
    focal = float(width)
    camera = np.array(
        [[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]],
        dtype=np.float64,
    )
    # The model is y-up; image rows grow downwards, so flip y (and z to stay right-handed).
    model = _MODEL_POINTS * np.array([1.0, -1.0, -1.0])
    image_points = np.ascontiguousarray(marks[list(_POSE_INDICES)], dtype=np.float64)
    # Start from "facing the camera at the distance the eye span implies": without a
    # guess, six near-coplanar points let the solver settle on a mirrored solution.
    span = float(np.linalg.norm(image_points[2] - image_points[3]))
    rvec0 = np.zeros((3, 1))
    tvec0 = np.array([[0.0], [0.0], [focal * 450.0 / max(span, 1.0)]])
    ok, rvec, _tvec = cv2.solvePnP(
        model,
        image_points,
        camera,
        np.zeros(4),
        rvec0,
        tvec0,
        useExtrinsicGuess=True,
        flags=cv2.SOLVEPNP_ITERATIVE,
    )
    if not ok:
        return Pose(yaw=0.0, pitch=0.0, roll=0.0)
    rotation, _ = cv2.Rodrigues(rvec)
    # Intrinsic x-y-z decomposition of R = Rz(roll) Ry(yaw) Rx(pitch).
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, -rotation[2, 0]))))
    pitch = math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))
    roll = math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    # With the flipped model, a nose turned to image-right gives a negative y rotation.
    return Pose(yaw=-yaw, pitch=-pitch, roll=roll)


def _dist(marks: Landmarks, i: int, j: int) -> float:
    return float(np.linalg.norm(marks[i] - marks[j]))


def eye_aspect_ratio(marks: Landmarks) -> float:
    """Mean EAR of both eyes: about 0.3 open, below ~0.2 closed."""
    ratios = []
    for p1, p2, p3, p4, p5, p6 in (_LEFT_EYE, _RIGHT_EYE):
        width = _dist(marks, p1, p4)
        if width <= 0:
            continue
        ratios.append((_dist(marks, p2, p6) + _dist(marks, p3, p5)) / (2.0 * width))
    return float(np.mean(ratios)) if ratios else 0.0


def interocular(marks: Landmarks) -> float:
    """Distance between the eye centres: the face's own unit of length."""
    left = marks[list(_LEFT_EYE)].mean(axis=0)
    right = marks[list(_RIGHT_EYE)].mean(axis=0)
    return float(np.linalg.norm(left - right))


def metrics(marks: Landmarks, image_size: tuple[int, int]) -> FaceMetrics:
    """All per-frame measurements used by the liveness checks."""
    unit = max(interocular(marks), 1e-6)
    mouth_width = _dist(marks, 60, 64)
    inner_open = (_dist(marks, 61, 67) + _dist(marks, 62, 66) + _dist(marks, 63, 65)) / 3.0
    return FaceMetrics(
        pose=head_pose(marks, image_size),
        eye_aspect_ratio=eye_aspect_ratio(marks),
        mouth_width_ratio=_dist(marks, 48, 54) / unit,
        mouth_open_ratio=inner_open / max(mouth_width, 1e-6),
        interocular=unit,
    )
