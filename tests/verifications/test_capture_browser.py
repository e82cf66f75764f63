"""A jp_he verification completed in Debian's Chromium through the capture page.

The enterprise creates the session; Chromium opens the capture link with its fake camera
fed a SYNTHETIC .y4m (honnin.faces.synthetic: a photo re-rendered performing the
session's challenge on the page's timeline); the page shows the steps, records frames
and uploads them; meanwhile the "phone app" uploads the chip files with the capture
token, as a native NFC reader would. The app runs under uvicorn with a real process
pool (one spawned worker) doing the image work.
"""

from __future__ import annotations

import base64
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from honnin.app import create_app
from honnin.banks.oidc4ida import validate_verified_claims
from honnin.faces import synthetic
from honnin.faces.challenge import Action
from honnin.faces.video import Frame, encode_y4m
from support.platform import ADMIN_HEADERS, platform_settings
from support.server import free_port, serve_in_thread
from support.verifications import APPLICANT, FaceKit

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FPS = 10
STEP_S = 2.0  # verifications_capture_step_seconds: one challenge step per 2 s
LEAD_S = 1.0  # the page's neutral lead-in before the first step


def camera_file(kit: FaceKit, actions: list[str], path: Path) -> Path:
    """The person performing ``actions`` on the page's timeline, then holding still."""
    rig = kit.rig("obama")
    rng = np.random.default_rng(11)
    timeline = synthetic.script(
        [Action(a) for a in actions], fps=FPS, lead_s=LEAD_S, action_s=STEP_S / 2
    )
    # script() spaces actions lead_s + action_s apart: 2 s, the page's step length.
    frames = [Frame(pixels=_noise(rig.render(expr), rng), t=t) for t, expr in timeline]
    still = rig.render(synthetic.Expression())
    end = frames[-1].t
    frames += [Frame(pixels=_noise(still, rng), t=end + (i + 1) / FPS) for i in range(3 * FPS)]
    path.write_bytes(encode_y4m(frames, fps=FPS))
    return path


def _noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noisy = image.astype(np.float64) + rng.normal(0.0, 1.5, image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def test_jp_he_through_the_capture_page(
    database_url: str, kit: FaceKit, trust_dir: Path, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = platform_settings(
        database_url,
        base_url=base,
        verifications_trust_dir=trust_dir,
        verifications_workers=1,
        verifications_capture_step_seconds=STEP_S,
        max_body_bytes=4_000_000,
    )
    with (
        serve_in_thread(create_app(settings), port=port),
        httpx.Client(base_url=base, timeout=60) as http,
    ):
        enterprise = http.post(
            "/admin/v1/enterprises", json={"name": "Acme"}, headers=ADMIN_HEADERS
        )
        credentials = enterprise.json()["credentials"]
        token = http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(credentials["client_id"], credentials["client_secret"]),
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = http.post(
            "/v1/verifications", json={"method": "jp_he", "applicant": APPLICANT}, headers=headers
        ).json()
        capture_url = created["capture_url"]
        assert capture_url.startswith(base + "/capture/")
        video = camera_file(kit, created["challenge"]["actions"], tmp_path / "camera.y4m")

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-video-capture={video}",
                ],
            )
            try:
                page = browser.new_page(
                    viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
                )
                page.goto(capture_url)
                page.wait_for_selector("body[data-state='ready']", timeout=30_000)
                labels = page.locator("#steps li").all_inner_texts()
                assert len(labels) == len(created["challenge"]["actions"])
                page.click("#start")
                # The phone app read the chip over NFC and uploads it with the capture token.
                chip = kit.chip()
                uploaded = http.put(
                    capture_url.removeprefix(base) + "/chip",
                    json={
                        "sod": base64.b64encode(chip.sod).decode(),
                        "data_groups": {
                            str(n): base64.b64encode(d).decode()
                            for n, d in chip.data_groups.items()
                        },
                    },
                )
                assert uploaded.status_code == 200, uploaded.text
                assert page.locator("#steps li.current").count() <= 1
                target = os.environ.get("HONNIN_CAPTURE_SCREENSHOT")
                if target:  # how docs/images/capture.png is made
                    page.wait_for_selector("#steps li.current", timeout=10_000)
                    page.screenshot(path=target)
                page.wait_for_selector(
                    "body[data-state='done'], body[data-state='error']", timeout=90_000
                )
                shown = page.inner_text("#status")
                outcome = page.get_attribute("body", "data-result")
                page.screenshot(path=str(tmp_path / "capture.png"))
            finally:
                browser.close()
        result = http.get(f"/v1/verifications/{created['id']}", headers=headers).json()
    assert outcome == "approved", (shown, result["reasons"], result["evidence"])
    assert result["status"] == "approved"
    validate_verified_claims(result["verified_claims"])
    assert result["evidence"]["liveness"]["passed"] is True
    assert result["evidence"]["face"]["match"] is True
    assert datetime.fromisoformat(result["decided_at"]) <= datetime.now(UTC)
