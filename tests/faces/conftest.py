"""Shared, session-cached face data: dlib work is slow, so each image and each synthetic
recording is analysed once per test session and the tests assert on the results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from honnin.faces import synthetic, tracking
from honnin.faces.challenge import Action, Challenge
from honnin.faces.imaging import decode_image
from honnin.faces.liveness import LivenessReport, check_liveness
from honnin.faces.video import Frame

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "faces"
NOW = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
ACTIONS = (Action.TURN_LEFT, Action.BLINK, Action.TURN_RIGHT, Action.SMILE)
FPS = 5.0


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not FACES.is_dir():
        pytest.skip("the shared face set is not present")
    return FACES


@pytest.fixture(scope="session")
def read_face(faces_dir: Path) -> Callable[[str], bytes]:
    def read(name: str) -> bytes:
        return (faces_dir / name).read_bytes()

    return read


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def actions() -> tuple[Action, ...]:
    return ACTIONS


@pytest.fixture(scope="session")
def challenge_for() -> Callable[..., Challenge]:
    """Builds a challenge issued at ``NOW`` for the given actions."""
    return make_challenge


def make_challenge(
    actions: tuple[Action, ...] = ACTIONS, *, window: float = 6.0, nonce: str = "n0nce"
) -> Challenge:
    return Challenge(
        nonce=nonce,
        actions=actions,
        issued_at=NOW,
        expires_at=NOW + timedelta(seconds=120),
        step_window_s=window,
    )


@dataclass(frozen=True)
class Recordings:
    """Synthetic recordings of two people (frontal source photos) and their attacks."""

    frames: dict[str, list[Frame]]
    tracks: dict[str, tracking.Track]

    def liveness(self, case: str, challenge: Challenge | None = None) -> LivenessReport:
        chosen = challenge or make_challenge()
        return check_liveness(self.frames[case], chosen, nonce=chosen.nonce, now=NOW)


@pytest.fixture(scope="session")
def rigs(read_face: Callable[[str], bytes]) -> dict[str, synthetic.FaceRig]:
    return {
        "obama": synthetic.FaceRig.from_photo(decode_image(read_face("obama/obama_1.jpg"))),
        "biden": synthetic.FaceRig.from_photo(decode_image(read_face("biden/biden_2.jpg"))),
    }


@pytest.fixture(scope="session")
def recordings(rigs: dict[str, synthetic.FaceRig]) -> Recordings:
    obama, biden = rigs["obama"], rigs["biden"]
    genuine = synthetic.genuine(obama, ACTIONS, fps=FPS, seed=1)
    frames = {
        "genuine": genuine,
        "genuine_biden": synthetic.genuine(biden, ACTIONS, fps=FPS, seed=2),
        "static": synthetic.static_photo(obama, frames=8, fps=FPS, seed=3),
        "planar": synthetic.planar_photo(obama, ACTIONS, fps=FPS, seed=4),
        "replay": synthetic.screen_replay(genuine, seed=5),
        "swap": synthetic.face_swap(obama, biden, ACTIONS, fps=FPS, seed=6),
    }
    return Recordings(frames=frames, tracks={})


@pytest.fixture(scope="session")
def reports(recordings: Recordings) -> dict[str, LivenessReport]:
    """One combined liveness report per recording, against the matching challenge."""
    return {case: recordings.liveness(case) for case in recordings.frames}
