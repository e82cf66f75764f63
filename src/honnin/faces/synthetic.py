"""Deterministic synthetic liveness data, generated from one still photo.

SYNTHETIC DATA: no public liveness video set is available to this project, so the
liveness checks are exercised and measured on sequences made here. They model the
signals the checks look for, not the full variety of real cameras, people and attacks.

* Genuine-like sequences: a 2.5-D re-rendering of the photo. Every control point (the 68
  landmarks, forehead and head-outline points) gets a depth from a face prior (an
  ellipsoid with a nose ridge, slightly recessed eyes); head yaw and pitch rotate those
  points in 3-D about an axis behind the face and a piecewise-affine warp over their
  triangulation moves the pixels. Near points move further than far ones: parallax.
  Eyelids close by sliding the upper-lid points onto the lower lid; a smile widens the
  mouth and lifts its corners. Small head sway and sensor noise make each frame differ.
* Attacks: the frontal photo tilted as a flat sheet (every frame a homography of the
  photo), a static photo (noise only), a replay (a genuine sequence re-shot from a
  screen: pixel-grid moire, blue cast, lifted blacks, blur) and a face swap mid-sequence.

Everything is driven by a seeded ``numpy.random.Generator``: same inputs, same pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from honnin.faces import engine
from honnin.faces.challenge import Action
from honnin.faces.engine import Landmarks
from honnin.faces.imaging import RGBImage
from honnin.faces.video import Frame

FloatArray = NDArray[np.float64]

DEFAULT_SIZE = (360, 480)
"""Output width x height: a portrait phone frame, scaled down to keep tests quick."""
_FACE_WIDTH_FRACTION = 0.42

_UPPER_LIDS = ((37, 41), (38, 40), (43, 47), (44, 46))
_MOUTH = tuple(range(48, 68))
_NOSE_DEPTH = {
    27: 0.12,
    28: 0.2,
    29: 0.3,
    30: 0.42,
    31: 0.22,
    32: 0.27,
    33: 0.3,
    34: 0.27,
    35: 0.22,
}

# Each action's peak expression.
ACTION_PEAKS: dict[Action, dict[str, float]] = {
    Action.TURN_LEFT: {"yaw": 28.0},
    Action.TURN_RIGHT: {"yaw": -28.0},
    Action.LOOK_UP: {"pitch": 25.0},
    Action.LOOK_DOWN: {"pitch": -25.0},
    Action.BLINK: {"eyes_closed": 1.0},
    Action.SMILE: {"smile": 1.0},
}


@dataclass(frozen=True, slots=True)
class Expression:
    """Pose (degrees), eyelid closure and smile (0..1), shift (pixels)."""

    yaw: float = 0.0
    pitch: float = 0.0
    eyes_closed: float = 0.0
    smile: float = 0.0
    dx: float = 0.0
    dy: float = 0.0


class FaceRig:
    """A photo prepared for re-rendering: framed, with control points and their depths."""

    def __init__(self, photo: RGBImage, marks: Landmarks, *, size: tuple[int, int]) -> None:
        width, height = size
        self.size = size
        span = marks[:, 0].max() - marks[:, 0].min()
        scale = _FACE_WIDTH_FRACTION * width / max(span, 1.0)
        centre = marks.mean(axis=0)
        target = np.array([width / 2.0, height * 0.5])
        affine = np.array(
            [
                [scale, 0.0, target[0] - scale * centre[0]],
                [0.0, scale, target[1] - scale * centre[1]],
            ]
        )
        base = cv2.warpAffine(
            photo, affine, (width, height), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
        )
        self.base: RGBImage = np.asarray(base, dtype=np.uint8)
        self.marks: FloatArray = marks @ affine[:, :2].T + affine[:, 2]
        self.points, self.depth = _control_points(self.marks, size)
        self.triangles = _triangulate(self.points, size)
        self.centre = self.marks.mean(axis=0)
        self.half_width = float(self.marks[:17, 0].max() - self.marks[:17, 0].min()) / 2.0

    @classmethod
    def from_photo(cls, photo: RGBImage, *, size: tuple[int, int] = DEFAULT_SIZE) -> FaceRig:
        face = engine.analyse(photo, with_embedding=False)
        return cls(photo, face.landmarks, size=size)

    def moved_points(self, expr: Expression) -> FloatArray:
        """Control points after the expression: the warp's destination."""
        points = self.points.copy()
        count = len(self.marks)
        marks = points[:count]
        for upper, lower in _UPPER_LIDS:
            marks[upper] += expr.eyes_closed * (marks[lower] - marks[upper])
        if expr.smile:
            mouth = list(_MOUTH)
            centre_x = marks[mouth, 0].mean()
            half = (marks[54, 0] - marks[48, 0]) / 2.0
            rel = (marks[mouth, 0] - centre_x) / max(half, 1.0)
            marks[mouth, 0] += expr.smile * 0.24 * half * rel
            marks[mouth, 1] -= expr.smile * 0.15 * half * rel**2
        # Rotate about a vertical/horizontal axis half a face width behind the face.
        axis_depth = 0.5 * self.half_width
        rel_x = points[:, 0] - self.centre[0]
        rel_y = points[:, 1] - self.centre[1]
        rel_z = self.depth + axis_depth
        yaw = math.radians(expr.yaw)
        pitch = math.radians(expr.pitch)
        x1 = rel_x * math.cos(yaw) + rel_z * math.sin(yaw)
        z1 = -rel_x * math.sin(yaw) + rel_z * math.cos(yaw)
        y2 = rel_y * math.cos(pitch) - z1 * math.sin(pitch)
        moved = np.stack([x1 + self.centre[0] + expr.dx, y2 + self.centre[1] + expr.dy], axis=1)
        # Image-border anchors stay put: the background does not move.
        fixed = self.depth < -1e5
        moved[fixed] = self.points[fixed]
        return moved

    def render(self, expr: Expression) -> RGBImage:
        moved = self.moved_points(expr)
        image = warp_piecewise(self.base, self.points, moved, self.triangles)
        if expr.eyes_closed > 0.5:
            image = _paint_lids(image, moved, (expr.eyes_closed - 0.5) * 2.0)
        return image


def _paint_lids(image: RGBImage, points: FloatArray, weight: float) -> RGBImage:
    """Cover what is left of each eye with lid skin and draw the lash line.

    The warp alone leaves a sliver of iris and sclera between the lids, which the
    landmark model still reads as an open eye.
    """
    out = image.astype(np.float64)
    for eye in (range(36, 42), range(42, 48)):
        outline = points[list(eye)]
        centre = outline.mean(axis=0)
        width = float(np.linalg.norm(outline[3] - outline[0]))
        grown = centre + (outline - centre) * np.array([1.1, 2.2])
        mask = np.zeros(image.shape[:2], dtype=np.uint8)
        cv2.fillConvexPoly(mask, grown.round().astype(np.int32), 255)
        soft = cv2.GaussianBlur(mask, (0, 0), 1.5).astype(np.float64)[..., None] / 255.0
        above = (centre - [0.0, 0.45 * width]).round().astype(int)
        top, left = max(above[1] - 2, 0), max(above[0] - 3, 0)
        skin = image[top : above[1] + 2, left : above[0] + 3].reshape(-1, 3).mean(axis=0)
        out = out * (1.0 - weight * soft) + skin * weight * soft
        lash = outline[[0, 5, 4, 3]].round().astype(np.int32)
        shade = np.zeros(image.shape[:2], dtype=np.uint8)
        cv2.polylines(shade, [lash], isClosed=False, color=255, thickness=1)
        dark = cv2.GaussianBlur(shade, (0, 0), 0.7).astype(np.float64)[..., None] / 255.0
        out = out * (1.0 - 0.6 * weight * dark)
    return np.clip(out, 0, 255).astype(np.uint8)


def _control_points(marks: Landmarks, size: tuple[int, int]) -> tuple[FloatArray, FloatArray]:
    width, height = size
    centre = marks.mean(axis=0)
    half_w = (marks[:17, 0].max() - marks[:17, 0].min()) / 2.0
    up = marks[27] - marks[8]
    up /= max(float(np.linalg.norm(up)), 1e-6)
    brows = marks[17:27]
    forehead = np.concatenate([brows + up * 0.35 * half_w, brows[::3] + up * 0.75 * half_w])
    face = np.concatenate([marks, forehead])
    half_h = max(float(np.abs(face[:, 1] - centre[1]).max()), 1.0)
    angles = np.linspace(0, 2 * math.pi, 16, endpoint=False)
    ring = centre + np.stack(
        [1.35 * half_w * np.cos(angles), 1.25 * half_h * np.sin(angles)], axis=1
    )
    edge_x = np.linspace(0, width - 1, 5)
    edge_y = np.linspace(0, height - 1, 5)
    border = np.array(
        [(x, 0.0) for x in edge_x]
        + [(x, height - 1.0) for x in edge_x]
        + [(0.0, y) for y in edge_y[1:-1]]
        + [(width - 1.0, y) for y in edge_y[1:-1]]
    )
    ring[:, 0] = np.clip(ring[:, 0], 2, width - 3)
    ring[:, 1] = np.clip(ring[:, 1], 2, height - 3)
    u = (face[:, 0] - centre[0]) / half_w
    v = (face[:, 1] - centre[1]) / half_h
    depth = 0.75 * half_w * np.sqrt(np.clip(1.0 - 0.8 * u**2 - 0.45 * v**2, 0.0, None))
    for index, extra in _NOSE_DEPTH.items():
        depth[index] += extra * half_w
    depth[36:48] -= 0.05 * half_w
    depth[48:68] += 0.06 * half_w
    points = np.concatenate([face, ring, border])
    depths = np.concatenate([depth, np.zeros(len(ring)), np.full(len(border), -1e6)])
    return points, depths


def _triangulate(points: FloatArray, size: tuple[int, int]) -> NDArray[np.int32]:
    width, height = size
    subdiv = cv2.Subdiv2D((0, 0, width, height))
    for x, y in points:
        subdiv.insert((float(x), float(y)))
    triangles = []
    for tri in np.asarray(subdiv.getTriangleList(), dtype=np.float64):
        corners = tri.reshape(3, 2)
        if np.any(corners < -1) or np.any(corners[:, 0] > width) or np.any(corners[:, 1] > height):
            continue
        ids = [int(np.argmin(np.linalg.norm(points - c, axis=1))) for c in corners]
        if len(set(ids)) == 3:
            triangles.append(ids)
    return np.array(triangles, dtype=np.int32)


def warp_piecewise(
    image: RGBImage, src: FloatArray, dst: FloatArray, triangles: NDArray[np.int32]
) -> RGBImage:
    """Move ``src`` control points to ``dst``, each triangle by its own affine map."""
    height, width = image.shape[:2]
    labels = np.full((height, width), -1, dtype=np.int32)
    coefficients = np.zeros((len(triangles) + 1, 2, 3))
    coefficients[-1] = [[1, 0, 0], [0, 1, 0]]
    for k, tri in enumerate(triangles):
        d = dst[tri].astype(np.float32)
        area = (d[1, 0] - d[0, 0]) * (d[2, 1] - d[0, 1]) - (d[2, 0] - d[0, 0]) * (d[1, 1] - d[0, 1])
        if abs(area) < 1e-3:
            continue
        coefficients[k] = cv2.getAffineTransform(d, src[tri].astype(np.float32))
        cv2.fillConvexPoly(
            labels, np.round(d * 16).astype(np.int32), k, lineType=cv2.LINE_8, shift=4
        )
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    picked = coefficients[labels]  # label -1 selects the identity row
    map_x = picked[..., 0, 0] * xs + picked[..., 0, 1] * ys + picked[..., 0, 2]
    map_y = picked[..., 1, 0] * xs + picked[..., 1, 1] * ys + picked[..., 1, 2]
    warped = cv2.remap(
        image,
        map_x.astype(np.float32),
        map_y.astype(np.float32),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.ascontiguousarray(warped, dtype=np.uint8)


# --- scripts -------------------------------------------------------------------------


def script(
    actions: Sequence[Action], *, fps: float, lead_s: float = 0.4, action_s: float = 1.0
) -> list[tuple[float, Expression]]:
    """The timeline of expressions performing ``actions`` one after another.

    Each action ramps in, holds and ramps out within ``action_s``; the head is neutral
    for ``lead_s`` before the first and between actions.
    """
    timeline: list[tuple[float, Expression]] = []
    step = 1.0 / fps
    t = 0.0
    total = lead_s + len(actions) * (action_s + lead_s)
    while t <= total + 1e-9:
        expr = Expression()
        offset = t - lead_s
        slot = action_s + lead_s
        index = int(offset // slot) if offset >= 0 else -1
        within = offset - index * slot if index >= 0 else -1.0
        if 0 <= index < len(actions) and 0 <= within <= action_s:
            # A trapezoid: up over the first 35 %, held, down over the last 35 %.
            phase = within / action_s
            weight = min(1.0, phase / 0.35, (1.0 - phase) / 0.35)
            peak = ACTION_PEAKS[actions[index]]
            expr = Expression(**{k: v * max(0.0, weight) for k, v in peak.items()})
        timeline.append((round(t, 6), expr))
        t += step
    return timeline


def _sway(rng: np.random.Generator, expr: Expression, t: float, phase: FloatArray) -> Expression:
    return replace(
        expr,
        yaw=expr.yaw + 1.5 * math.sin(1.3 * t + phase[0]),
        pitch=expr.pitch + 1.0 * math.sin(0.9 * t + phase[1]),
        dx=expr.dx + 3.0 * math.sin(0.7 * t + phase[2]) + rng.normal(0, 0.3),
        dy=expr.dy + 2.0 * math.sin(0.5 * t + phase[3]) + rng.normal(0, 0.3),
    )


def _noisy(image: RGBImage, rng: np.random.Generator, sigma: float = 1.5) -> RGBImage:
    noise = rng.normal(0.0, sigma, image.shape)
    return np.clip(image.astype(np.float64) + noise, 0, 255).astype(np.uint8)


def genuine(
    rig: FaceRig, actions: Sequence[Action], *, fps: float = 8.0, seed: int = 0
) -> list[Frame]:
    """A live-like recording of the face in ``rig`` performing ``actions`` in order."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * math.pi, 4)
    return [
        Frame(pixels=_noisy(rig.render(_sway(rng, expr, t, phase)), rng), t=t)
        for t, expr in script(actions, fps=fps)
    ]


def static_photo(rig: FaceRig, *, frames: int = 12, fps: float = 8.0, seed: int = 0) -> list[Frame]:
    """Attack: a photo held still in front of the camera (sensor noise only)."""
    rng = np.random.default_rng(seed)
    still = rig.render(Expression())
    return [Frame(pixels=_noisy(still, rng), t=i / fps) for i in range(frames)]


def sheet_homography(
    size: tuple[int, int], *, yaw: float, pitch: float, dx: float, dy: float
) -> FloatArray:
    """The image motion of a flat photo rotated by ``yaw``/``pitch`` degrees (pinhole)."""
    width, height = size
    focal = 1.2 * width
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    centred = corners - [width / 2.0, height / 2.0]
    a, b = math.radians(yaw), math.radians(pitch)
    rot_y = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rot_x = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    points = np.c_[centred, np.zeros(4)] @ (rot_x @ rot_y).T
    depth = focal - points[:, 2]
    projected = focal * points[:, :2] / depth[:, None] + [width / 2.0 + dx, height / 2.0 + dy]
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), projected.astype(np.float32))
    return np.asarray(matrix, dtype=np.float64)


def planar_photo(
    rig: FaceRig, actions: Sequence[Action], *, fps: float = 8.0, seed: int = 0
) -> list[Frame]:
    """Attack: the photo on a flat sheet, tilted to mimic the head turns asked for."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * math.pi, 4)
    still = rig.render(Expression())
    frames = []
    for t, expr in script(actions, fps=fps):
        moved = _sway(rng, expr, t, phase)
        matrix = sheet_homography(
            rig.size, yaw=1.2 * moved.yaw, pitch=1.2 * moved.pitch, dx=moved.dx, dy=moved.dy
        )
        pixels = cv2.warpPerspective(
            still, matrix, rig.size, flags=cv2.INTER_LINEAR, borderValue=(96, 90, 84)
        )
        frames.append(Frame(pixels=_noisy(np.asarray(pixels, dtype=np.uint8), rng), t=t))
    return frames


def screen_replay(frames: Sequence[Frame], *, seed: int = 0, strength: float = 1.0) -> list[Frame]:
    """Attack: ``frames`` shown on a screen and filmed again."""
    rng = np.random.default_rng(seed)
    out = []
    for frame in frames:
        height, width = frame.pixels.shape[:2]
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
        angle = rng.uniform(0.15, 0.35)
        pitch_px = rng.uniform(2.6, 3.4)
        grid = np.cos(2 * math.pi * (xs * math.cos(angle) + ys * math.sin(angle)) / pitch_px)
        grid2 = np.cos(2 * math.pi * (-xs * math.sin(angle) + ys * math.cos(angle)) / pitch_px)
        image = cv2.GaussianBlur(frame.pixels, (0, 0), 0.8).astype(np.float64)
        image *= (1.0 + strength * 0.09 * (grid + grid2))[..., None]
        image = 0.82 * image + 22.0 * strength
        image[..., 0] *= 1.0 - 0.08 * strength
        image[..., 2] = image[..., 2] * (1.0 + 0.10 * strength) + 6.0 * strength
        pixels = _noisy(np.clip(image, 0, 255).astype(np.uint8), rng)
        out.append(Frame(pixels=pixels, t=frame.t))
    return out


def face_swap(
    first: FaceRig, second: FaceRig, actions: Sequence[Action], *, fps: float = 8.0, seed: int = 0
) -> list[Frame]:
    """Attack: the first person starts the challenge, a second one finishes it."""
    one = genuine(first, actions, fps=fps, seed=seed)
    two = genuine(second, actions, fps=fps, seed=seed + 1)
    half = len(one) // 2
    return one[:half] + two[half:]


def chip_portrait(photo: RGBImage, *, size: tuple[int, int] = (240, 320)) -> RGBImage:
    """A chip-style portrait of the single face in ``photo``: frontal crop, small.

    Geometry after ICAO 9303-3 / ISO/IEC 19794-5 token images: eyes level a little above
    the middle, the head filling about half the width.
    """
    face = engine.analyse(photo, with_embedding=False)
    marks = face.landmarks
    width, height = size
    left_eye = marks[36:42].mean(axis=0)
    right_eye = marks[42:48].mean(axis=0)
    eye_distance = float(np.linalg.norm(right_eye - left_eye))
    angle = math.degrees(math.atan2(right_eye[1] - left_eye[1], right_eye[0] - left_eye[0]))
    scale = 0.25 * width / max(eye_distance, 1.0)
    centre = (left_eye + right_eye) / 2.0
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, scale)
    matrix[:, 2] += np.array([width / 2.0, 0.42 * height]) - centre
    portrait = cv2.warpAffine(
        photo, matrix, (width, height), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    )
    return np.ascontiguousarray(portrait, dtype=np.uint8)
