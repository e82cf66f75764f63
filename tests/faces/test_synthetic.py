from typing import Any

import numpy as np

from honnin.faces import engine, synthetic
from honnin.faces.challenge import Action
from honnin.faces.synthetic import Expression


def test_generation_is_deterministic(rigs: dict[str, synthetic.FaceRig]) -> None:
    rig = rigs["obama"]
    first = synthetic.genuine(rig, (Action.BLINK,), fps=4, seed=9)
    again = synthetic.genuine(rig, (Action.BLINK,), fps=4, seed=9)
    other = synthetic.genuine(rig, (Action.BLINK,), fps=4, seed=10)
    assert all(np.array_equal(a.pixels, b.pixels) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0].pixels, other[0].pixels)


def test_turning_moves_the_nose_more_than_the_face_outline(
    rigs: dict[str, synthetic.FaceRig],
) -> None:
    """The depth prior at work: parallax between near and far points."""
    rig = rigs["obama"]
    front = rig.moved_points(Expression())
    turned = rig.moved_points(Expression(yaw=25))
    shift = turned[:, 0] - front[:, 0]
    assert shift[30] > shift[0] + 5  # nose tip vs jaw corner on the far side
    assert shift[30] > shift[16] + 5


def test_rendered_turn_is_measured_as_the_documented_sign(
    rigs: dict[str, synthetic.FaceRig],
) -> None:
    from honnin.faces import geometry

    rig = rigs["obama"]
    yaws = []
    for yaw in (-25.0, 0.0, 25.0):
        image = rig.render(Expression(yaw=yaw))
        face = engine.analyse(image, with_embedding=False)
        yaws.append(geometry.head_pose(face.landmarks, rig.size).yaw)
    assert yaws[0] < yaws[1] - 10
    assert yaws[2] > yaws[1] + 10


def test_attacks_have_the_intended_shape(recordings: Any) -> None:
    frames = recordings.frames
    static = frames["static"]
    assert np.abs(static[0].pixels.astype(int) - static[1].pixels.astype(int)).mean() < 3
    assert len(frames["swap"]) == len(frames["genuine"])
    assert frames["replay"][0].pixels.shape == frames["genuine"][0].pixels.shape


def test_chip_portrait_is_small_and_frontal(rigs: dict[str, synthetic.FaceRig]) -> None:
    chip = synthetic.chip_portrait(rigs["obama"].base)
    assert chip.shape == (320, 240, 3)
    face = engine.analyse(chip, with_embedding=False)
    eyes = face.landmarks[36:48].mean(axis=0)
    assert abs(eyes[0] - 120) < 10
