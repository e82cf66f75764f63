"""Liveness benchmark on SYNTHETIC recordings: APCER / BPCER per attack, ms per frame.

    honnin bench faces_liveness --json [-o seeds=1] [-o fps=6] [-o length=3]

No public liveness video set is available, so bona fide and attack presentations are
made by :mod:`honnin.faces.synthetic` from the frontal photos of the shared face set
(ISO/IEC 30107-3 §13 vocabulary: APCER per attack type = attacks accepted as live;
BPCER = bona fide presentations rejected). Bona fide: the person performs a random
challenge (raw frames, and re-encoded as JPEG q70 like a browser upload). Attacks:
static photo, tilted flat photo performing the turns, screen replay of a bona fide
recording (full and half strength), face swap mid-sequence, and the tilted photo
against a challenge of head movements only (nothing a photo cannot fake by tilting).
Baseline in the same run: the same decisions by the active check alone (what passive
detection adds).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from honnin.faces import engine, geometry, synthetic
from honnin.faces.challenge import POSE_ACTIONS, issue_challenge
from honnin.faces.imaging import RGBImage, decode_image, encode_image
from honnin.faces.liveness import check_liveness
from honnin.faces.video import Frame

FACES = Path(__file__).resolve().parents[1].parent / "shared/data/faces"
MAX_SOURCE_YAW = 10.0
"""The 2.5-D re-rendering assumes a frontal start; turned sources give lopsided turns."""
MIN_FACE_PX = 120


def source_photos() -> list[tuple[str, RGBImage]]:
    """Single-face photos of the shared set that are frontal and large enough."""
    chosen = []
    for path in sorted(FACES.glob("*/*.*")):
        if path.parent.name in {"group", "partial"} or path.suffix not in {".jpg", ".png"}:
            continue
        image = decode_image(path.read_bytes())
        face = engine.analyse(image, with_embedding=False)
        yaw = geometry.head_pose(face.landmarks, (image.shape[1], image.shape[0])).yaw
        if face.box.width >= MIN_FACE_PX and abs(yaw) <= MAX_SOURCE_YAW:
            chosen.append((f"{path.parent.name}/{path.name}", image))
    return chosen


NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _jpeg(frames: list[Frame]) -> list[Frame]:
    return [
        Frame(pixels=decode_image(encode_image(f.pixels, fmt="JPEG", quality=70)), t=f.t)
        for f in frames
    ]


def run(**options: str) -> dict[str, Any]:
    seeds = int(options.get("seeds", "1"))
    fps = float(options.get("fps", "6"))
    length = int(options.get("length", "3"))
    sources = source_photos()
    rigs = [synthetic.FaceRig.from_photo(image) for _, image in sources]
    outcomes: dict[str, list[tuple[bool, bool]]] = {}
    frames_total = 0
    seconds = 0.0
    for seed in range(seeds):
        for index, rig in enumerate(rigs):
            key = seed * 100 + index
            challenge = issue_challenge(now=NOW, rng=random.Random(key), length=length)
            actions = challenge.actions
            pose_only = issue_challenge(
                now=NOW, rng=random.Random(key), length=length, pool=sorted(POSE_ACTIONS)
            )
            # The swap needs someone else: the next source of another identity.
            identity = sources[index][0].split("/")[0]
            other = next(
                rigs[j % len(rigs)]
                for j in range(index + 1, index + len(rigs))
                if sources[j % len(rigs)][0].split("/")[0] != identity
            )
            bona_fide = synthetic.genuine(rig, actions, fps=fps, seed=key)
            cases: dict[str, Callable[[], list[Frame]]] = {
                "bona_fide": lambda b=bona_fide: b,
                "bona_fide_jpeg": lambda b=bona_fide: _jpeg(b),
                "static_photo": lambda r=rig, k=key: synthetic.static_photo(
                    r, frames=int(3 * fps), fps=fps, seed=k
                ),
                "planar_photo": lambda r=rig, a=actions, k=key: synthetic.planar_photo(
                    r, a, fps=fps, seed=k
                ),
                # Turns only (no blink / smile to betray it): geometry must catch it.
                "planar_photo_pose_only_challenge": lambda r=rig, a=pose_only.actions, k=key: (
                    synthetic.planar_photo(r, a, fps=fps, seed=k)
                ),
                "screen_replay": lambda b=bona_fide, k=key: _jpeg(
                    synthetic.screen_replay(b, seed=k)
                ),
                "screen_replay_half": lambda b=bona_fide, k=key: _jpeg(
                    synthetic.screen_replay(b, seed=k, strength=0.5)
                ),
                "face_swap": lambda r=rig, o=other, a=actions, k=key: synthetic.face_swap(
                    r, o, a, fps=fps, seed=k
                ),
            }
            for name, make in cases.items():
                frames = make()
                asked = pose_only if "pose_only" in name else challenge
                start = time.process_time()
                report = check_liveness(frames, asked, nonce=asked.nonce, now=NOW)
                seconds += time.process_time() - start
                frames_total += len(frames)
                active_only = report.active is not None and report.active.passed
                outcomes.setdefault(name, []).append((report.passed, active_only))
    rates: dict[str, Any] = {}
    for name, results in outcomes.items():
        bona = name.startswith("bona_fide")
        errors = sum((not live) if bona else live for live, _ in results)
        baseline_errors = sum((not live) if bona else live for _, live in results)
        rates[name] = {
            "presentations": len(results),
            "metric": "BPCER" if bona else "APCER",
            "rate": round(errors / len(results), 4),
            "baseline_active_only_rate": round(baseline_errors / len(results), 4),
        }
    attacks = [v for k, v in rates.items() if not k.startswith("bona_fide")]
    return {
        "data": "SYNTHETIC (honnin.faces.synthetic), not real recordings",
        "source_photos": [name for name, _ in sources],
        "seeds": seeds,
        "fps": fps,
        "challenge_length": length,
        "per_type": rates,
        "max_apcer": max(v["rate"] for v in attacks),
        "bpcer": max(v["rate"] for k, v in rates.items() if k.startswith("bona_fide")),
        "cpu_ms_per_frame": round(1000.0 * seconds / max(frames_total, 1), 2),
        "frames_analysed": frames_total,
    }
