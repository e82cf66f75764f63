"""Faces: detection, landmarks, embeddings and matching (dlib), active and passive liveness.

The public functions are pure CPU work on bytes or frames given to them (no network,
no database), so callers can run them in a process pool:

* :func:`compare` (selfie vs chip / card portrait) -> :class:`CompareResult`
* :func:`issue_challenge` -> :class:`Challenge`
* :func:`check_active_liveness`, :func:`check_passive_liveness`, :func:`check_liveness`

Attributes load lazily so that ``honnin`` CLI start-up does not import dlib and OpenCV.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from honnin.faces.active import ActiveReport, check_active_liveness
    from honnin.faces.challenge import Action, Challenge, issue_challenge
    from honnin.faces.engine import warm_up
    from honnin.faces.liveness import LivenessReport, check_liveness
    from honnin.faces.match import CompareResult, compare
    from honnin.faces.passive import PassiveReport, check_passive_liveness
    from honnin.faces.video import Frame, frames_from_images, frames_from_video

_EXPORTS = {
    "ActiveReport": "honnin.faces.active",
    "check_active_liveness": "honnin.faces.active",
    "Action": "honnin.faces.challenge",
    "Challenge": "honnin.faces.challenge",
    "issue_challenge": "honnin.faces.challenge",
    "warm_up": "honnin.faces.engine",
    "LivenessReport": "honnin.faces.liveness",
    "check_liveness": "honnin.faces.liveness",
    "CompareResult": "honnin.faces.match",
    "compare": "honnin.faces.match",
    "PassiveReport": "honnin.faces.passive",
    "check_passive_liveness": "honnin.faces.passive",
    "Frame": "honnin.faces.video",
    "frames_from_images": "honnin.faces.video",
    "frames_from_video": "honnin.faces.video",
}

__all__ = [
    "Action",
    "ActiveReport",
    "Challenge",
    "CompareResult",
    "Frame",
    "LivenessReport",
    "PassiveReport",
    "check_active_liveness",
    "check_liveness",
    "check_passive_liveness",
    "compare",
    "frames_from_images",
    "frames_from_video",
    "issue_challenge",
    "warm_up",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'honnin.faces' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)
