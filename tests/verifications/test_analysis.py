"""The analysis of one session against real chips and SYNTHETIC recordings: the genuine
holder passes, and each attack or defect is rejected with its own reason code.

Recordings are generated with honnin.faces.synthetic from ../shared/data/faces photos;
chips come from the sandbox issuer. Each analysis is computed once per module."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import cache
from typing import Any

import pytest

from honnin.documents import tlv
from honnin.faces import synthetic
from honnin.faces.challenge import Action
from honnin.verifications import analysis, core
from honnin.verifications.core import Analysis
from support.verifications import FPS, FaceKit, card_photos, job, jpeg

ACTIONS = (Action.TURN_LEFT, Action.BLINK, Action.TURN_RIGHT)


@pytest.fixture(scope="module")
def analysed(kit: FaceKit) -> Any:
    @cache
    def run(case: str) -> Analysis:
        return analysis.analyse(_job(kit, case))

    return run


def _frames(frames: list[Any]) -> list[tuple[bytes, float]]:
    return [(jpeg(f), f.t) for f in frames]


def _job(kit: FaceKit, case: str) -> Any:
    genuine = kit.recording("obama", ACTIONS)
    if case == "genuine":
        return job(kit, genuine, ACTIONS)
    if case == "wrong_person":
        return job(kit, genuine, ACTIONS, chip=kit.chip("biden/biden_1.jpg"))
    if case == "planar_photo":
        frames = synthetic.planar_photo(kit.rig("obama"), ACTIONS, fps=FPS, seed=3)
        return job(kit, _frames(frames), ACTIONS)
    if case == "static_photo":
        frames = synthetic.static_photo(kit.rig("obama"), frames=20, fps=FPS)
        return job(kit, _frames(frames), ACTIONS)
    if case == "screen_replay":
        frames = synthetic.genuine(kit.rig("obama"), ACTIONS, fps=FPS, seed=5)
        return job(kit, _frames(synthetic.screen_replay(frames, seed=5)), ACTIONS)
    if case == "replayed_nonce":
        return job(kit, genuine, ACTIONS, nonce="an-older-session-nonce")
    if case == "out_of_order":
        return job(
            kit,
            kit.recording("obama", (Action.TURN_RIGHT, Action.BLINK, Action.TURN_LEFT)),
            ACTIONS,
        )
    if case == "step_late":
        return job(kit, kit.recording("obama", ACTIONS, gap_s=7.0), ACTIONS)
    if case == "challenge_expired":
        return job(kit, genuine, ACTIONS, late_s=200.0)
    if case == "face_swap":
        frames = synthetic.face_swap(kit.rig("obama"), kit.rig("biden"), ACTIONS, fps=FPS)
        return job(kit, _frames(frames), ACTIONS)
    if case == "tampered_dg1":
        chip = kit.chip()
        dg1 = bytearray(chip.data_groups[1])
        dg1[-20] = ord("X") if dg1[-20] != ord("X") else ord("Y")
        return job(
            kit,
            genuine,
            ACTIONS,
            chip=replace(chip, data_groups={**chip.data_groups, 1: bytes(dg1)}),
        )
    if case == "untrusted_signer":
        return job(kit, genuine, ACTIONS, trust_anchors=())
    if case == "expired_document":
        holder = replace(kit.holder, expiry_date=kit.holder.issue_date + timedelta(days=1))
        return job(kit, genuine, ACTIONS, chip=kit.chip(holder=holder))
    if case == "two_faces":
        group = _small(kit.photo("group/obama_and_biden.jpg"))
        return job(kit, [(group, i / FPS) for i in range(8)], ACTIONS)
    if case == "chip_portrait_no_face":
        chip = kit.issuer.issue_chip(kit.holder, face=_blank_jpeg(), kind="id_card")
        return job(kit, genuine, ACTIONS, chip=chip)
    raise AssertionError(case)


def _small(photo: bytes) -> bytes:
    """A phone-camera-sized copy (the frame pixel limit is 1920 x 1080)."""
    from honnin.faces.imaging import decode_image, downscale, encode_image

    pixels, _ = downscale(decode_image(photo), 640)
    return encode_image(pixels, fmt="JPEG")


def _blank_jpeg() -> bytes:
    import numpy as np

    from honnin.faces.imaging import encode_image

    return encode_image(np.full((320, 240, 3), 200, dtype=np.uint8), fmt="JPEG")


def test_the_genuine_holder_is_approved(analysed: Any) -> None:
    result = analysed("genuine")
    assert result.problems == (), result.summary()
    assert result.face is not None
    assert result.face["match"] is True
    assert result.chip is not None
    assert result.chip["valid"] is True
    assert result.facts is not None
    assert (result.facts.family_name, result.facts.birthdate) == ("YAMADA", "1990-04-01")
    assert core.decide(result, match_overall="match").status == core.APPROVED


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong_person", "face_mismatch"),
        ("planar_photo", "liveness_failed"),
        ("static_photo", "liveness_failed"),
        ("screen_replay", "liveness_failed"),
        ("replayed_nonce", "nonce_mismatch"),
        ("out_of_order", "liveness_failed"),
        ("step_late", "step_late"),
        ("challenge_expired", "challenge_expired"),
        ("face_swap", "face_changed"),
        ("tampered_dg1", "chip_tampered"),
        ("untrusted_signer", "chip_trust_unknown"),
        ("expired_document", "document_expired"),
        ("two_faces", "multiple_faces"),
        ("chip_portrait_no_face", "document_face_not_found"),
    ],
)
def test_attacks_and_defects_are_named(analysed: Any, case: str, expected: str) -> None:
    result = analysed(case)
    assert expected in result.problems, result.summary()
    decision = core.decide(result, match_overall="match")
    assert decision.status != core.APPROVED
    assert expected in decision.reasons


def test_out_of_order_is_reported_as_such(analysed: Any) -> None:
    reasons = analysed("out_of_order").problems
    assert {"out_of_order", "missing_turn_left", "missing_turn_right"} & set(reasons)


def test_photo_attacks_fail_on_passive_signals(analysed: Any) -> None:
    for case in ("planar_photo", "static_photo"):
        assert {"parallax_failed", "motion_failed"} & set(analysed(case).problems), case
    assert {"moire_failed", "screen_colour_failed"} & set(analysed("screen_replay").problems)


def test_truncated_sod_is_malformed(kit: FaceKit) -> None:
    chip = kit.chip()
    broken = replace(chip, sod=chip.sod[: len(chip.sod) // 2])
    result = analysis.analyse(job(kit, kit.recording("obama", ACTIONS)[:3], ACTIONS, chip=broken))
    assert "chip_data_malformed" in result.problems
    assert tlv  # the module the issuer encodes with; truncation breaks its outer length


def test_no_face_in_the_selfie(kit: FaceKit) -> None:
    blank = _blank_jpeg()
    result = analysis.analyse(job(kit, [(blank, i / FPS) for i in range(6)], ACTIONS))
    assert "no_face" in result.problems
    assert core.decide(result, match_overall="match").status == core.REJECTED


def test_a_flat_copy_is_not_a_tilted_card(kit: FaceKit) -> None:
    front, tilted = card_photos(kit)
    problems: list[str] = []
    analysis._card(analysis.CardUpload(front=front, tilted=front), analysis.Limits(), problems)
    assert problems == ["card_tilt_same_image"]
    problems = []
    _, _, summary, _ = analysis._card(
        analysis.CardUpload(front=front, tilted=tilted), analysis.Limits(), problems
    )
    assert problems == []
    assert summary["tilt_same_portrait_distance"] < analysis.SAME_CARD_DISTANCE


def test_a_video_upload_is_analysed_like_frames(kit: FaceKit) -> None:
    from honnin.faces.video import encode_y4m

    frames = [f for action in ACTIONS for f in kit.segment("obama", action)]
    timed = [replace(f, t=i / FPS) for i, f in enumerate(frames)]
    video = encode_y4m(timed, fps=int(FPS))
    result = analysis.analyse(job(kit, [], ACTIONS, selfie=analysis.SelfieUpload(video=video)))
    assert result.problems == (), result.summary()
