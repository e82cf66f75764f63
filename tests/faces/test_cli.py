import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from honnin.cli import app
from honnin.faces.video import encode_mp4

runner = CliRunner()


def test_face_compare_prints_the_contract_fields(faces_dir: Path) -> None:
    result = runner.invoke(
        app,
        [
            "face",
            "compare",
            str(faces_dir / "obama/obama_1.jpg"),
            str(faces_dir / "obama/obama_240p.jpg"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body) == {"distance", "similarity", "match", "threshold", "faces"}
    assert body["match"] is True
    assert body["faces"] == [1, 1]


def test_face_compare_fails_in_one_line(faces_dir: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"junk")
    result = runner.invoke(
        app, ["face", "compare", str(faces_dir / "obama/obama_1.jpg"), str(junk)]
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: corrupt_image: not a decodable JPEG, PNG or JPEG 2000 image"
    ]
    missing = runner.invoke(app, ["face", "compare", str(junk), str(tmp_path / "none.jpg")])
    assert missing.exit_code == 1
    assert missing.output.startswith("error: cannot read")


def test_face_liveness_reports_steps_and_signals(recordings: Any, tmp_path: Path) -> None:
    video = tmp_path / "selfie.mp4"
    video.write_bytes(encode_mp4(recordings.frames["genuine"], fps=5))
    result = runner.invoke(
        app, ["face", "liveness", str(video), "--challenge", "turn_left,blink", "--json"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["passed"] is True
    assert [s["action"] for s in body["active"]["steps"]] == ["turn_left", "blink"]
    bad = runner.invoke(app, ["face", "liveness", str(video), "--challenge", "dance"])
    assert bad.exit_code == 1
    assert "invalid_challenge" in bad.output


def test_face_challenge_and_synth(
    read_face: Callable[[str], bytes], faces_dir: Path, tmp_path: Path
) -> None:
    issued = runner.invoke(app, ["face", "challenge", "--length", "4", "--json"])
    assert issued.exit_code == 0
    assert len(json.loads(issued.stdout)["actions"]) == 4
    out = tmp_path / "fake.y4m"
    made = runner.invoke(
        app,
        ["face", "synth", str(faces_dir / "obama/obama_1.jpg"), str(out), "--fps", "4", "--json"],
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["synthetic"] is True
    assert out.read_bytes().startswith(b"YUV4MPEG2 W360 H480 F4:1")
