"""Active liveness: did the face in the recording perform the challenge, in order, in time?

Signals per frame (see :mod:`honnin.faces.geometry`): head yaw / pitch from
``cv2.solvePnP``, the eye aspect ratio (Soukupová & Čech 2016) for blinks, the mouth
width over the inter-ocular distance for smiles. Each is read relative to the person's
own neutral level (the median over the recording, where the neutral pose dominates;
for the eyes an upper percentile, since they are open most of the time), so face shape
and camera tilt cancel out.

A run of frames meeting an action's condition is an *episode*. Steps are matched to
episodes in challenge order; each must begin within ``step_window_s`` of the previous
one (of the first frame for step one). A head movement asked for later in the sequence
appearing before the awaited one is ``out_of_order``: spontaneous blinks and smiles are
tolerated, head turns are deliberate. The same person must be present throughout:
embeddings of the first and last frames and of every matched action are compared
pairwise, so a face swapped in for one action fails the check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from honnin.faces import match, tracking
from honnin.faces.challenge import POSE_ACTIONS, Action, Challenge, check_binding
from honnin.faces.geometry import FaceMetrics
from honnin.faces.tracking import Observation, Track
from honnin.faces.video import DEFAULT_MAX_FRAMES, Frame, frames_from_video

YAW_DEGREES = 15.0
PITCH_DEGREES = 8.0
BLINK_EAR_RATIO = 0.75
OPEN_EAR_RATIO = 0.88
SMILE_WIDTH_RATIO = 1.07
FRONTAL_YAW = 12.0
FRONTAL_PITCH = 8.0
MIN_FACE_FRAMES = 4
MIN_FACE_FRACTION = 0.6
SAME_FACE_THRESHOLD = match.DLIB_PUBLISHED_THRESHOLD
"""Looser than the 1:1 threshold: within one recording pose and expression vary more
than between two frontal photos (impostor pairs of the calibration set start at 0.68)."""


@dataclass(frozen=True, slots=True)
class Baseline:
    """The person's neutral levels in this recording."""

    yaw: float
    pitch: float
    eye_aspect_ratio: float
    mouth_width_ratio: float


@dataclass(frozen=True, slots=True)
class Episode:
    """Consecutive frames meeting one action's condition."""

    action: Action
    start: int
    end: int
    start_t: float
    peak: int
    peak_value: float


@dataclass(frozen=True, slots=True)
class StepResult:
    """One challenge step: done or not, when, and how strongly."""

    action: Action
    done: bool
    at_s: float | None
    value: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "action": self.action.value,
            "done": self.done,
            "at_s": None if self.at_s is None else round(self.at_s, 3),
            "value": None if self.value is None else round(self.value, 3),
        }


@dataclass(frozen=True, slots=True)
class ActiveReport:
    """The outcome of an active-liveness check; ``reasons`` are stable codes."""

    passed: bool
    reasons: tuple[str, ...]
    steps: tuple[StepResult, ...]
    same_face: bool
    max_face_distance: float | None
    frames: int
    frames_with_face: int

    def as_dict(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "reasons": list(self.reasons),
            "steps": [s.as_dict() for s in self.steps],
            "same_face": self.same_face,
            "max_face_distance": (
                None if self.max_face_distance is None else round(self.max_face_distance, 4)
            ),
            "frames": self.frames,
            "frames_with_face": self.frames_with_face,
        }


def baseline(observations: Sequence[Observation]) -> Baseline:
    measured = [o.metrics for o in observations if o.metrics is not None]
    if not measured:
        return Baseline(yaw=0.0, pitch=0.0, eye_aspect_ratio=0.0, mouth_width_ratio=0.0)
    pose = Baseline(
        yaw=float(np.median([m.pose.yaw for m in measured])),
        pitch=float(np.median([m.pose.pitch for m in measured])),
        eye_aspect_ratio=0.0,
        mouth_width_ratio=0.0,
    )
    # Eyes and mouth look different when the head is turned: read them frontal only.
    frontal = [m for m in measured if _frontal(m, pose)] or measured
    return Baseline(
        yaw=pose.yaw,
        pitch=pose.pitch,
        eye_aspect_ratio=float(np.percentile([m.eye_aspect_ratio for m in frontal], 60)),
        mouth_width_ratio=float(np.median([m.mouth_width_ratio for m in frontal])),
    )


def _frontal(m: FaceMetrics, base: Baseline) -> bool:
    return (
        abs(m.pose.yaw - base.yaw) < FRONTAL_YAW and abs(m.pose.pitch - base.pitch) < FRONTAL_PITCH
    )


def _measure(action: Action, m: FaceMetrics, base: Baseline) -> tuple[bool, float]:
    """Whether ``m`` shows ``action`` and the value that decided it."""
    rules: dict[Action, Callable[[], tuple[bool, float]]] = {
        Action.TURN_LEFT: lambda: _above(m.pose.yaw - base.yaw, YAW_DEGREES),
        Action.TURN_RIGHT: lambda: _above(base.yaw - m.pose.yaw, YAW_DEGREES),
        Action.LOOK_UP: lambda: _above(m.pose.pitch - base.pitch, PITCH_DEGREES),
        Action.LOOK_DOWN: lambda: _above(base.pitch - m.pose.pitch, PITCH_DEGREES),
        Action.BLINK: lambda: _closed(m, base),
        Action.SMILE: lambda: _smiling(m, base),
    }
    return rules[action]()


def _above(value: float, threshold: float) -> tuple[bool, float]:
    return value >= threshold, value


def _closed(m: FaceMetrics, base: Baseline) -> tuple[bool, float]:
    ratio = m.eye_aspect_ratio / max(base.eye_aspect_ratio, 1e-6)
    return ratio <= BLINK_EAR_RATIO and _frontal(m, base), ratio


def _smiling(m: FaceMetrics, base: Baseline) -> tuple[bool, float]:
    ratio = m.mouth_width_ratio / max(base.mouth_width_ratio, 1e-6)
    return ratio >= SMILE_WIDTH_RATIO and _frontal(m, base), ratio


def episodes(track: Track) -> dict[Action, list[Episode]]:
    """Every episode of every action in the recording."""
    observations = track.observations
    base = baseline(observations)
    found: dict[Action, list[Episode]] = {action: [] for action in Action}
    for action in Action:
        run: list[tuple[int, float]] = []
        for obs in [*observations, None]:
            hit, value = (False, 0.0)
            if obs is not None and obs.metrics is not None:
                hit, value = _measure(action, obs.metrics, base)
            if hit and obs is not None:
                run.append((obs.index, value))
                continue
            if run:
                episode = _episode(action, run, observations, base)
                if episode is not None:
                    found[action].append(episode)
                run = []
    return found


def _episode(
    action: Action,
    run: list[tuple[int, float]],
    observations: Sequence[Observation],
    base: Baseline,
) -> Episode | None:
    start, end = run[0][0], run[-1][0]
    pick = min if action is Action.BLINK else max
    peak, value = pick(run, key=lambda item: item[1])
    if action is Action.BLINK and not _reopens(observations, end, base):
        return None
    return Episode(
        action=action,
        start=start,
        end=end,
        start_t=observations[start].t,
        peak=peak,
        peak_value=value,
    )


def _reopens(observations: Sequence[Observation], end: int, base: Baseline) -> bool:
    """A blink is a closing *and* an opening: a still photo of closed eyes is no blink."""
    for obs in observations[end + 1 :]:
        if obs.metrics is not None:
            ratio = obs.metrics.eye_aspect_ratio / max(base.eye_aspect_ratio, 1e-6)
            if ratio >= OPEN_EAR_RATIO:
                return True
    return False


def match_steps(
    challenge: Challenge, found: dict[Action, list[Episode]], *, start_t: float
) -> tuple[list[StepResult], list[Episode], list[str]]:
    """Match challenge steps to episodes in order; return steps, matched episodes, reasons."""
    steps: list[StepResult] = []
    matched: list[Episode] = []
    reasons: list[str] = []
    cursor = -1
    reference_t = start_t
    for position, action in enumerate(challenge.actions):
        candidates = [e for e in found[action] if e.start > cursor]
        chosen = candidates[0] if candidates else None
        limit = chosen.start if chosen is not None else None
        later = set(challenge.actions[position + 1 :]) & POSE_ACTIONS - {action}
        intruders = [
            e
            for other in later
            for e in found[other]
            if e.start > cursor and (limit is None or e.start < limit)
        ]
        if chosen is None or intruders:
            earlier = any(e.start <= cursor for e in found[action])
            reasons.append("out_of_order" if intruders or earlier else f"missing_{action.value}")
            break
        if chosen.start_t - reference_t > challenge.step_window_s:
            reasons.append("step_late")
            break
        steps.append(
            StepResult(action=action, done=True, at_s=chosen.start_t, value=chosen.peak_value)
        )
        matched.append(chosen)
        cursor = chosen.start
        reference_t = chosen.start_t
    steps.extend(
        StepResult(action=action, done=False, at_s=None, value=None)
        for action in challenge.actions[len(steps) :]
    )
    return steps, matched, reasons


def same_face(track: Track, *, threshold: float) -> tuple[bool, float | None]:
    """Whether every sampled embedding is within ``threshold`` of the first one.

    The first face frame is the person looking at the camera before any action: the
    most reliable embedding. Comparing every other sample with it (rather than all
    pairs) keeps two extreme poses from being compared with each other.
    """
    if not track.embeddings:
        return False, None
    first = min(track.embeddings)
    reference = track.embeddings[first]
    others = [v for k, v in track.embeddings.items() if k != first]
    if not others:
        return True, None
    worst = max(match.distance(reference, v) for v in others)
    return worst <= threshold, worst


def presence_reasons(track: Track) -> list[str]:
    """Codes for recordings where the face is missing, doubled or barely seen."""
    reasons = []
    total = len(track.observations)
    detected = [o for o in track.observations if o.faces > 0]
    if any(o.faces > 1 for o in track.observations):
        reasons.append("multiple_faces")
    if len(track.with_face) < MIN_FACE_FRAMES:
        reasons.append("too_few_face_frames")
    elif len(detected) < MIN_FACE_FRACTION * total:
        reasons.append("face_not_found")
    return reasons


def evaluate(
    track: Track,
    frames: Sequence[Frame],
    challenge: Challenge,
    *,
    nonce: str,
    now: datetime,
    same_face_threshold: float = SAME_FACE_THRESHOLD,
) -> tuple[ActiveReport, Track]:
    """The active report for an already observed recording (and the track, embedded)."""
    reasons = check_binding(challenge, nonce=nonce, now=now)
    observations = track.observations
    duration = observations[-1].t - observations[0].t
    if duration > (challenge.expires_at - challenge.issued_at).total_seconds():
        reasons.append("recording_too_long")
    reasons.extend(presence_reasons(track))
    steps, matched, step_reasons = match_steps(
        challenge, episodes(track), start_t=observations[0].t
    )
    reasons.extend(step_reasons)
    faces = track.with_face
    samples = [faces[0].index, faces[-1].index] if faces else []
    # The first frame of each action: the person doing it, in the least extreme pose
    # that still counts, where the embedding is most reliable.
    samples += [e.start for e in matched]
    track = tracking.with_embeddings(track, frames, samples)
    same, worst = same_face(track, threshold=same_face_threshold)
    if not same:
        reasons.append("face_changed")
    report = ActiveReport(
        passed=not reasons,
        reasons=tuple(dict.fromkeys(reasons)),
        steps=tuple(steps),
        same_face=same,
        max_face_distance=worst,
        frames=len(observations),
        frames_with_face=len(faces),
    )
    return report, track


def check_active_liveness(
    frames: Sequence[Frame] | bytes,
    challenge: Challenge,
    *,
    nonce: str,
    now: datetime,
    same_face_threshold: float = SAME_FACE_THRESHOLD,
    detect_max_side: int = tracking.DEFAULT_VIDEO_DETECT_MAX_SIDE,
    max_frames: int = DEFAULT_MAX_FRAMES,
) -> ActiveReport:
    """Check a recording (frames, or encoded video bytes) against ``challenge``.

    ``nonce`` is the one the client sent back with the upload and ``now`` the time it
    arrived. CPU only; no I/O besides decoding the bytes given.
    """
    frame_list = (
        frames_from_video(frames, max_frames=max_frames)
        if isinstance(frames, bytes)
        else list(frames)
    )
    track = tracking.observe(frame_list, detect_max_side=detect_max_side)
    report, _ = evaluate(
        track, frame_list, challenge, nonce=nonce, now=now, same_face_threshold=same_face_threshold
    )
    return report
