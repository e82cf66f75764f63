"""Active and passive liveness in one pass over the frames.

Both checks read the same per-frame landmarks, so a caller that wants both (the
verification service) pays for detection once. See :mod:`honnin.faces.active` and
:mod:`honnin.faces.passive` for the signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from honnin.faces import active, passive, tracking
from honnin.faces.active import ActiveReport
from honnin.faces.challenge import Challenge
from honnin.faces.errors import InvalidChallengeError
from honnin.faces.passive import PassiveReport
from honnin.faces.video import DEFAULT_MAX_FRAMES, Frame, frames_from_video


@dataclass(frozen=True, slots=True)
class LivenessReport:
    """The combined verdict: live only when every check that ran passed."""

    passed: bool
    reasons: tuple[str, ...]
    active: ActiveReport | None
    passive: PassiveReport
    selfie_frame: int | None
    """Index of the most frontal, eyes-open frame: the one to match with a document."""

    def as_dict(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "reasons": list(self.reasons),
            "selfie_frame": self.selfie_frame,
            "active": None if self.active is None else self.active.as_dict(),
            "passive": self.passive.as_dict(),
        }


def check_liveness(
    frames: Sequence[Frame] | bytes,
    challenge: Challenge | None = None,
    *,
    nonce: str | None = None,
    now: datetime | None = None,
    same_face_threshold: float = active.SAME_FACE_THRESHOLD,
    detect_max_side: int = tracking.DEFAULT_VIDEO_DETECT_MAX_SIDE,
    max_frames: int = DEFAULT_MAX_FRAMES,
) -> LivenessReport:
    """Passive checks always; the active check too when a ``challenge`` is given.

    With a challenge, ``nonce`` (as sent back by the client) and ``now`` (arrival time)
    are required. CPU only; no I/O besides decoding the bytes given.
    """
    frame_list = (
        frames_from_video(frames, max_frames=max_frames)
        if isinstance(frames, bytes)
        else list(frames)
    )
    track = tracking.observe(frame_list, detect_max_side=detect_max_side)
    active_report = None
    reasons: list[str] = []
    if challenge is not None:
        if nonce is None or now is None:
            raise InvalidChallengeError("a challenge needs the returned nonce and the time")
        active_report, track = active.evaluate(
            track,
            frame_list,
            challenge,
            nonce=nonce,
            now=now,
            same_face_threshold=same_face_threshold,
        )
        reasons.extend(active_report.reasons)
    passive_report = passive.evaluate(track, frame_list)
    reasons.extend(r for r in passive_report.reasons if r not in reasons)
    return LivenessReport(
        passed=not reasons,
        reasons=tuple(reasons),
        active=active_report,
        passive=passive_report,
        selfie_frame=selfie_frame(track),
    )


def selfie_frame(track: tracking.Track) -> int | None:
    """The frame closest to a neutral, frontal, eyes-open pose (None without a face).

    Eyes count as open only when they are open in the frames on either side too: one
    reading inside a blink can come out open (landmark noise on half-closed lids), and
    that frame's face matches the document worse than any still one.
    """
    observations = track.observations
    candidates = [
        at for at, o in enumerate(observations) if o.metrics is not None and not o.tracked
    ]
    if not candidates:
        return None
    base = active.baseline(observations)

    def distance(at: int) -> float:
        m = observations[at].metrics
        assert m is not None
        nearby = observations[max(0, at - 1) : at + 2]
        eye_aspect_ratio = min(o.metrics.eye_aspect_ratio for o in nearby if o.metrics is not None)
        eyes = max(0.0, 1.0 - eye_aspect_ratio / max(base.eye_aspect_ratio, 1e-6))
        return abs(m.pose.yaw - base.yaw) + abs(m.pose.pitch - base.pitch) + 30.0 * eyes

    return observations[min(candidates, key=distance)].index
