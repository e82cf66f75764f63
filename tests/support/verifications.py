"""Test data and an HTTP driver for verification sessions (tests/verifications).

Faces from ../shared/data/faces; selfie recordings from the faces package's synthetic
generator (SYNTHETIC: 2.5-D re-renderings of still photos, see docs/faces.md); chips and
cards from the sandbox document issuer. Rendering and dlib work are slow, so every
recording segment is rendered once per session and reused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from honnin.faces import synthetic
from honnin.faces.challenge import Action, Challenge
from honnin.faces.imaging import decode_image, encode_image
from honnin.faces.video import Frame
from honnin.sandbox.issuer import Holder, IssuedChip, TestIssuer, sample_holder
from honnin.verifications.analysis import AnalysisJob, ChipUpload, SelfieUpload
from support.clock import MovableClock
from support.platform import Platform, platform_settings, running_platform

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "faces"
FPS = 6.0
SEGMENT_S = 1.8  # synthetic.script: 0.4 s neutral, 1.0 s action, 0.4 s neutral

Recording = list[tuple[bytes, float]]


def jpeg(frame: Frame) -> bytes:
    return encode_image(frame.pixels, fmt="JPEG", quality=75)


@dataclass
class FaceKit:
    """Photos, rigs and rendered segments, cached for the whole test session."""

    issuer: TestIssuer
    holder: Holder
    rigs: dict[str, synthetic.FaceRig]
    segments: dict[tuple[str, Action], list[Frame]]

    def photo(self, name: str) -> bytes:
        return (FACES / name).read_bytes()

    def rig(self, who: str) -> synthetic.FaceRig:
        if who not in self.rigs:
            source = {"obama": "obama/obama_1.jpg", "biden": "biden/biden_2.jpg"}[who]
            self.rigs[who] = synthetic.FaceRig.from_photo(decode_image(self.photo(source)))
        return self.rigs[who]

    def segment(self, who: str, action: Action) -> list[Frame]:
        key = (who, action)
        if key not in self.segments:
            seed = list(Action).index(action) + (0 if who == "obama" else 100)
            self.segments[key] = synthetic.genuine(self.rig(who), [action], fps=FPS, seed=seed)
        return self.segments[key]

    def recording(
        self, who: str, actions: Sequence[Action | str], *, gap_s: float = 0.0
    ) -> Recording:
        """A live-like recording of ``actions`` in order, ``gap_s`` of stillness between."""
        out: Recording = []
        offset = 0.0
        for action in actions:
            frames = self.segment(who, Action(action))
            out.extend((jpeg(f), round(offset + f.t, 3)) for f in frames)
            offset += SEGMENT_S + 1.0 / FPS + gap_s
        return out

    def chip(
        self,
        face: str = "obama/obama_2.jpg",
        *,
        holder: Holder | None = None,
        kind: str = "id_card",
    ) -> IssuedChip:
        return self.issuer.issue_chip(
            holder or self.holder,
            face=self.photo(face),
            kind=kind,  # type: ignore[arg-type]
            jpeg2000=True,
        )


APPLICANT = {"family_name": "YAMADA", "given_name": "HANAKO", "birthdate": "1990-04-01"}


def chip_upload(chip: IssuedChip) -> ChipUpload:
    return ChipUpload(sod=chip.sod, data_groups=dict(chip.data_groups))


def selfie_upload(recording: Recording) -> SelfieUpload:
    return SelfieUpload(frames=tuple(f for f, _ in recording), times=tuple(t for _, t in recording))


def job(
    kit: FaceKit,
    recording: Recording,
    actions: Sequence[Action],
    *,
    chip: IssuedChip | None = None,
    late_s: float = 0.0,
    nonce: str = "n0nce",
    **changes: Any,
) -> AnalysisJob:
    now = datetime.now(UTC)
    challenge = Challenge(
        nonce="n0nce",
        actions=tuple(actions),
        issued_at=now - timedelta(seconds=10),
        expires_at=now + timedelta(seconds=110),
    )
    values: dict[str, Any] = {
        "method": "jp_he",
        "selfie": selfie_upload(recording),
        "challenge": challenge,
        "nonce": nonce,
        "received_at": now + timedelta(seconds=late_s),
        "at": now,
        "chip": chip_upload(chip or kit.chip()),
        "trust_anchors": (kit.issuer.csca_certificate,),
    }
    values.update(changes)
    return AnalysisJob(**values)


@dataclass
class Kyc:
    """An enterprise (and its user's phone) driving verification sessions over HTTP."""

    platform: Platform
    headers: dict[str, str]
    kit: FaceKit
    clock: MovableClock
    credentials: dict[str, Any]

    async def advance(self, delta: timedelta) -> None:
        """Move the clock, and get a fresh token (access tokens live 5 minutes)."""
        self.clock.advance(delta)
        self.headers = await self.platform.bearer(self.credentials)

    async def create(self, method: str = "jp_he", **body: Any) -> dict[str, Any]:
        payload = {"method": method, "applicant": APPLICANT, **body}
        response = await self.platform.client.post(
            "/v1/verifications", json=payload, headers=self.headers
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def put_chip(self, vid: str, chip: IssuedChip) -> Any:
        import base64

        body = {
            "sod": base64.b64encode(chip.sod).decode(),
            "data_groups": {
                str(n): base64.b64encode(d).decode() for n, d in chip.data_groups.items()
            },
        }
        return await self.platform.client.put(
            f"/v1/verifications/{vid}/chip", json=body, headers=self.headers
        )

    async def put_selfie(self, vid: str, recording: Recording, nonce: str) -> Any:
        import json

        files = [
            ("frames", (f"f{i}.jpg", data, "image/jpeg")) for i, (data, _) in enumerate(recording)
        ]
        form = {"nonce": nonce, "times": json.dumps([t for _, t in recording])}
        return await self.platform.client.put(
            f"/v1/verifications/{vid}/selfie", data=form, files=files, headers=self.headers
        )

    async def submit(self, vid: str) -> Any:
        return await self.platform.client.post(
            f"/v1/verifications/{vid}/submit", headers=self.headers
        )

    async def get(self, vid: str) -> dict[str, Any]:
        response = await self.platform.client.get(f"/v1/verifications/{vid}", headers=self.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def run(
        self, *, chip: IssuedChip | None = None, who: str = "obama", method: str = "jp_he"
    ) -> dict[str, Any]:
        created = await self.create(method)
        vid = created["id"]
        assert (await self.put_chip(vid, chip or self.kit.chip())).status_code == 200
        recording = self.kit.recording(who, created["challenge"]["actions"])
        uploaded = await self.put_selfie(vid, recording, created["challenge"]["nonce"])
        assert uploaded.status_code == 200, uploaded.text
        submitted = await self.submit(vid)
        assert submitted.status_code == 200, submitted.text
        result: dict[str, Any] = submitted.json()
        return result


@asynccontextmanager
async def running_kyc(
    database_url: str,
    kit: FaceKit,
    trust_dir: Path,
    *,
    webhook_url: str | None = None,
    **overrides: Any,
) -> AsyncIterator[Kyc]:
    settings = platform_settings(
        database_url,
        verifications_trust_dir=trust_dir,
        verifications_workers=0,
        max_body_bytes=4_000_000,
        **overrides,
    )
    clock = MovableClock()
    async with running_platform(settings, clock=clock) as platform:
        body = {"webhook_url": webhook_url} if webhook_url else {}
        enterprise = await platform.new_enterprise("Acme", **body)
        headers = await platform.bearer(enterprise["credentials"])
        yield Kyc(
            platform=platform,
            headers=headers,
            kit=kit,
            clock=clock,
            credentials=enterprise["credentials"],
        )


def make_kit() -> FaceKit:
    now = datetime.now(UTC)
    holder = replace(
        sample_holder(7, today=now.date()),
        surname="YAMADA",
        given_names="HANAKO",
        birth_date=date(1990, 4, 1),
        expiry_date=now.date() + timedelta(days=900),
    )
    issuer = TestIssuer.create(now=now, profile="ecdsa-p256")
    return FaceKit(issuer=issuer, holder=holder, rigs={}, segments={})


def card_photos(kit: FaceKit, *, yaw: float = 35.0) -> tuple[bytes, bytes]:
    """A My Number card photographed flat and held turned by ``yaw`` degrees."""
    import cv2
    import numpy as np

    from honnin.sandbox.cards import render_card

    card = np.asarray(render_card("mynumber", kit.holder, face=kit.photo("obama/obama_2.jpg")))
    height, width = card.shape[:2]
    matrix = synthetic.sheet_homography((width, height), yaw=yaw, pitch=8.0, dx=0.0, dy=0.0)
    turned = cv2.warpPerspective(card, matrix, (width, height), borderValue=(90, 90, 90))
    return jpeg(Frame(pixels=card, t=0.0)), jpeg(Frame(pixels=np.asarray(turned), t=0.0))


HO_APPLICANT = {"birthdate": "1990-04-01"}
