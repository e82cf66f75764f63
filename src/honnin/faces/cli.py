"""``honnin face``: compare two face images, check a recording's liveness, calibrate.

Heavy modules (dlib, OpenCV) are imported inside the commands so that every other
``honnin`` command starts without them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from honnin.cli_support import cli_errors, emit, fail

app = typer.Typer(help="Face match and liveness (dlib).", no_args_is_help=True)

_ATTACKS = ("none", "static", "planar", "replay", "swap")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")


@app.command("compare")
def compare_command(
    image_a: Annotated[Path, typer.Argument(help="first image (JPEG, PNG, JPEG 2000)")],
    image_b: Annotated[Path, typer.Argument(help="second image")],
    threshold: Annotated[
        float | None, typer.Option(help="distance threshold (default: the calibrated one)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Distance, similarity and match decision of the single faces in two images."""
    from honnin.faces import match

    first, second = _read(image_a), _read(image_b)
    with cli_errors():
        result = match.compare(
            first, second, threshold=match.DEFAULT_THRESHOLD if threshold is None else threshold
        )
    emit(result.as_dict(), as_json=as_json, human=_compare_text)


def _compare_text(data: dict[str, Any]) -> str:
    verdict = "MATCH" if data["match"] else "NO MATCH"
    return (
        f"{verdict}: distance {data['distance']} (threshold {data['threshold']}), "
        f"similarity {data['similarity']}, faces {data['faces']}"
    )


@app.command("liveness")
def liveness_command(
    video: Annotated[Path, typer.Argument(help="recording (MP4, WebM, Y4M, ...)")],
    challenge: Annotated[
        str | None,
        typer.Option(help="actions in order, e.g. turn_left,blink,turn_right,smile"),
    ] = None,
    max_frames: Annotated[int, typer.Option(min=4, max=240, help="frames analysed")] = 48,
    step_window: Annotated[
        float, typer.Option(min=0.5, max=60, help="seconds allowed for each step")
    ] = 6.0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Liveness report: passive signals, plus the challenge steps when one is given.

    A challenge given here is checked for its actions, order and step windows; nonce
    and deadline binding belong to the issuing server and are not checked.
    """
    from honnin.faces import challenge as challenges
    from honnin.faces.liveness import check_liveness
    from honnin.faces.video import frames_from_video

    data = _read(video)
    with cli_errors():
        frames = frames_from_video(data, max_frames=max_frames)
        issued = None
        now = challenges.utc_now()
        if challenge is not None:
            issued = challenges.Challenge(
                nonce="cli",
                actions=challenges.parse_actions(challenge),
                issued_at=now,
                expires_at=now + timedelta(seconds=frames[-1].t - frames[0].t + 1.0),
                step_window_s=step_window,
            )
        report = check_liveness(frames, issued, nonce="cli", now=now)
    emit(report.as_dict(), as_json=as_json, human=_liveness_text)


def _liveness_text(data: dict[str, Any]) -> str:
    lines = [
        f"live: {data['passed']}" + (f" ({', '.join(data['reasons'])})" if data["reasons"] else "")
    ]
    if data["active"] is not None:
        lines.extend(
            f"  step {step['action']}: done={step['done']} at={step['at_s']}"
            for step in data["active"]["steps"]
        )
    for name, signal in data["passive"]["signals"].items():
        lines.append(
            f"  {name}: {signal['value']} (threshold {signal['threshold']}, "
            f"passed={signal['passed']})"
        )
    return "\n".join(lines)


@app.command("challenge")
def challenge_command(
    length: Annotated[int, typer.Option(min=1, max=8, help="number of actions")] = 3,
    ttl: Annotated[float, typer.Option(min=10, help="seconds until it expires")] = 120.0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Issue a random active-liveness challenge (nonce, actions, deadline)."""
    from honnin.faces.challenge import issue_challenge, utc_now

    with cli_errors():
        issued = issue_challenge(now=utc_now(), length=length, ttl_s=ttl)
    emit(issued.as_dict(), as_json=as_json, human=lambda d: ",".join(d["actions"]))


@app.command("calibrate")
def calibrate_command(
    directory: Annotated[Path, typer.Argument(help="folder of IDENTITY/IMAGE files")],
    chips: Annotated[
        bool, typer.Option(help="also pair photos with derived chip portraits")
    ] = True,
    cost_false_match: Annotated[float, typer.Option(min=0.1, help="FM cost over FNM cost")] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Calibrate the match threshold; FMR / FNMR over all genuine and impostor pairs."""
    from honnin.faces import dataset

    if not directory.is_dir():
        fail(f"not a folder: {directory}")
    with cli_errors():
        result = dataset.report(directory, with_chips=chips, cost_false_match=cost_false_match)
    emit(
        result, as_json=as_json, human=lambda d: f"calibrated threshold {d['calibrated_threshold']}"
    )


@app.command("synth")
def synth_command(
    photo: Annotated[Path, typer.Argument(help="frontal photo of one person")],
    output: Annotated[
        Path, typer.Argument(help="output video: .y4m (Chromium fake camera) or .mp4")
    ],
    actions: Annotated[str, typer.Option(help="actions performed, in order")] = "turn_left,blink",
    attack: Annotated[str, typer.Option(help=f"one of {', '.join(_ATTACKS)}")] = "none",
    other: Annotated[Path | None, typer.Option(help="second person's photo (swap attack)")] = None,
    fps: Annotated[int, typer.Option(min=2, max=30)] = 10,
    seed: Annotated[int, typer.Option()] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Write a SYNTHETIC recording (2.5-D re-rendering of a photo), genuine-like or an attack."""
    from honnin.faces import synthetic
    from honnin.faces.challenge import parse_actions
    from honnin.faces.imaging import decode_image
    from honnin.faces.video import encode_mp4, encode_y4m

    if attack not in _ATTACKS:
        fail(f"unknown attack {attack!r} (one of {', '.join(_ATTACKS)})")
    if attack == "swap" and other is None:
        fail("the swap attack needs --other PHOTO")
    source = _read(photo)
    second = _read(other) if other is not None else None
    with cli_errors():
        steps = parse_actions(actions)
        rig = synthetic.FaceRig.from_photo(decode_image(source))
        if attack == "static":
            frames = synthetic.static_photo(rig, frames=fps * 3, fps=fps, seed=seed)
        elif attack == "planar":
            frames = synthetic.planar_photo(rig, steps, fps=fps, seed=seed)
        elif attack == "swap" and second is not None:
            other_rig = synthetic.FaceRig.from_photo(decode_image(second))
            frames = synthetic.face_swap(rig, other_rig, steps, fps=fps, seed=seed)
        else:
            frames = synthetic.genuine(rig, steps, fps=fps, seed=seed)
            if attack == "replay":
                frames = synthetic.screen_replay(frames, seed=seed)
        encoded = (
            encode_y4m(frames, fps=fps)
            if output.suffix.lower() == ".y4m"
            else encode_mp4(frames, fps=fps)
        )
        output.write_bytes(encoded)
    emit(
        {
            "output": str(output),
            "frames": len(frames),
            "fps": fps,
            "attack": attack,
            "synthetic": True,
        },
        as_json=as_json,
        human=lambda d: f"wrote {d['frames']} synthetic frames to {d['output']}",
    )
