"""Verification sessions over HTTP on SQLite and PostgreSQL: create, upload, decide,
result, webhook, ledger, reviewer queue, purge, and the upload problem codes."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import select

from honnin.audit.models import AuditEvent
from honnin.banks.oidc4ida import validate_verified_claims
from honnin.faces.imaging import encode_image
from honnin.inquiries.core import enterprise_webhook_secret, verify_webhook
from honnin.trace.console_auth import hash_password
from honnin.trace.models import TraceEventRow
from honnin.verifications.models import Verification
from honnin.verifications.worker import VerificationMaintenance
from support.platform import ADMIN_HEADERS
from support.verifications import FaceKit, Kyc, card_photos, running_kyc
from support.webhooks import webhook_receiver


async def test_jp_he_is_approved_with_schema_valid_claims_webhook_and_ledger(
    database_url: str, kit: FaceKit, trust_dir: Path
) -> None:
    with webhook_receiver() as receiver:
        async with running_kyc(database_url, kit, trust_dir, webhook_url=receiver.url) as kyc:
            result = await kyc.run()
            assert result["status"] == "approved", result
            assert result["reasons"] == []
            verified = result["verified_claims"]
            validate_verified_claims(verified)
            assert verified["verification"]["trust_framework"] == "jp_aml"
            evidence = verified["verification"]["evidence"][0]
            assert evidence["type"] == "document"
            assert evidence["method"] == "jp_he"
            assert [c["check_method"] for c in evidence["check_details"]] == ["vcrypt", "bvr"]
            assert verified["claims"] == {
                "family_name": "YAMADA",
                "given_name": "HANAKO",
                "birthdate": "1990-04-01",
            }
            assert result["match"]["overall"] == "match"
            assert result["evidence"]["chip"]["valid"] is True
            assert result["evidence"]["face"]["match"] is True
            assert result["ledger_index"] is not None
            # Replay: the session is used up, and so is its capture link.
            again = await kyc.submit(result["id"])
            assert again.status_code == 409
            assert again.json()["code"] == "verification_not_open"

            app = kyc.platform.app
            await app.state.webhooks.deliver_due()
            enterprise_id = (await _row(kyc, result["id"])).enterprise_id
            async with app.state.database.session() as session:
                kinds = (
                    await session.scalars(
                        select(TraceEventRow.kind).where(TraceEventRow.object_id == result["id"])
                    )
                ).all()
    assert set(kinds) >= {"verification.created", "verification.decided"}
    assert len(receiver.received) == 1
    delivery = receiver.received[0]
    body = json.loads(delivery.body)
    assert body["type"] == "verification.decided"
    assert body["data"] == {"verification_id": result["id"], "status": "approved", "reasons": []}
    secret = enterprise_webhook_secret(b"test-webhook-secret-0123456789abcd", enterprise_id)
    now = int(kyc.clock.now().timestamp())
    assert verify_webhook(secret=secret, headers=delivery.headers, body=delivery.body, now=now)


async def _row(kyc: Kyc, vid: str) -> Verification:
    async with kyc.platform.app.state.database.session() as session:
        row = await session.get(Verification, vid)
        assert row is not None
        return row


async def test_icao_chip_passport(kyc: Kyc, kit: FaceKit) -> None:
    result = await kyc.run(method="icao_chip", chip=kit.chip(kind="passport"))
    assert result["status"] == "approved", result
    document = result["verified_claims"]["verification"]["evidence"][0]["document_details"]
    assert document["type"] == "passport"
    assert document["issuer"] == {"country_code": "JPN"}


async def test_images_are_sealed_at_rest(kyc: Kyc, kit: FaceKit) -> None:
    created = await kyc.create()
    chip = kit.chip()
    assert (await kyc.put_chip(created["id"], chip)).status_code == 200
    row = await _row(kyc, created["id"])
    assert row.sealed_chip is not None
    assert chip.sod[:64] not in row.sealed_chip
    assert b"YAMADA" not in row.sealed_chip
    assert b"YAMADA" not in row.sealed_applicant


async def test_selfie_after_the_challenge_deadline_is_rejected(kyc: Kyc, kit: FaceKit) -> None:
    created = await kyc.create()
    vid = created["id"]
    await kyc.put_chip(vid, kit.chip())
    await kyc.advance(timedelta(seconds=125))  # the challenge lives 120 s
    recording = kit.recording("obama", created["challenge"]["actions"])
    assert (await kyc.put_selfie(vid, recording, created["challenge"]["nonce"])).status_code == 200
    result = (await kyc.submit(vid)).json()
    assert result["status"] == "rejected"
    assert "challenge_expired" in result["reasons"]
    assert result["verified_claims"] is None


def _blank() -> bytes:
    return encode_image(np.full((320, 240, 3), 180, dtype=np.uint8), fmt="JPEG")


async def test_upload_problems_have_stable_codes(kyc: Kyc, kit: FaceKit) -> None:
    created = await kyc.create()
    vid, nonce = created["id"], created["challenge"]["nonce"]
    chip = kit.chip()
    truncated = await kyc.put_chip(vid, replace(chip, sod=chip.sod[:40]))
    assert (truncated.status_code, truncated.json()["code"]) == (422, "chip_data_malformed")
    swapped = replace(chip, data_groups={1: chip.data_groups[2], 2: chip.data_groups[1]})
    assert (await kyc.put_chip(vid, swapped)).json()["code"] == "invalid_upload"
    # Keys that str.isdigit() takes but int() refuses (², 4300+ digits): a 400, not a 500.
    for key in ("²", "1" * 5000, "٣"):
        odd = await kyc.platform.client.put(
            f"/v1/verifications/{vid}/chip",
            json={"sod": "AAAA", "data_groups": {key: "AAAA"}},
            headers=kyc.headers,
        )
        assert (odd.status_code, odd.json()["code"]) == (400, "invalid_upload"), key

    corrupt = await kyc.put_selfie(vid, [(b"\xff\xd8\xff\xe0 not really", 0.0)], nonce)
    assert (corrupt.status_code, corrupt.json()["code"]) == (400, "corrupt_image")
    no_face = await kyc.put_selfie(vid, [(_blank(), i / 6) for i in range(3)], nonce)
    assert (no_face.status_code, no_face.json()["code"]) == (422, "no_face")
    group = _small(kit.photo("group/obama_and_biden.jpg"))
    two = await kyc.put_selfie(vid, [(group, 0.0)], nonce)
    assert (two.status_code, two.json()["code"]) == (422, "multiple_faces")
    huge = encode_image(np.zeros((1200, 2000, 3), dtype=np.uint8), fmt="JPEG")
    too_big = await kyc.put_selfie(vid, [(huge, 0.0)], nonce)
    assert (too_big.status_code, too_big.json()["code"]) == (413, "too_many_pixels")

    card = await kyc.platform.client.put(
        f"/v1/verifications/{vid}/card",
        json={"front": base64.b64encode(_blank()).decode(), "tilted": ""},
        headers=kyc.headers,
    )
    assert card.json()["code"] in {"upload_not_for_method", "corrupt_image"}
    incomplete = await kyc.submit(vid)
    assert (incomplete.status_code, incomplete.json()["code"]) == (409, "verification_incomplete")
    # Nothing above was kept.
    assert (await kyc.get(vid))["received"] == []


def _small(photo: bytes) -> bytes:
    from honnin.faces.imaging import decode_image, downscale

    pixels, _ = downscale(decode_image(photo), 640)
    return encode_image(pixels, fmt="JPEG")


async def test_other_enterprises_see_nothing(kyc: Kyc) -> None:
    created = await kyc.create()
    other = await kyc.platform.new_enterprise("Other")
    headers = await kyc.platform.bearer(other["credentials"])
    response = await kyc.platform.client.get(f"/v1/verifications/{created['id']}", headers=headers)
    assert (response.status_code, response.json()["code"]) == (404, "verification_not_found")
    readonly = await kyc.platform.bearer(other["credentials"], "verifications:read")
    denied = await kyc.platform.client.post(
        "/v1/verifications", json={"method": "jp_he"}, headers=readonly
    )
    assert denied.status_code == 403


async def test_review_queue_operator_decides_and_data_is_purged(
    database_url: str, kit: FaceKit, trust_dir: Path
) -> None:
    # No trust anchors configured: the chip signature verifies but its chain cannot be
    # judged, so a person has to look.
    password_hash = hash_password(CONSOLE_PASSWORD)
    async with running_kyc(
        database_url, kit, trust_dir, trace_console_password_hash=password_hash
    ) as kyc:
        kyc.platform.app.state.verifications.trust_anchors = ()
        result = await kyc.run()
        assert result["status"] == "review", result
        assert result["reasons"] == ["chip_trust_unknown"]
        assert result["verified_claims"] is None
        client = kyc.platform.client
        queue = await client.get("/admin/v1/verifications?status=review", headers=ADMIN_HEADERS)
        assert [item["id"] for item in queue.json()] == [result["id"]]
        assert queue.json()[0]["evidence"]["face"]["match"] is True
        for kind in ("document", "selfie"):
            image = await client.get(
                f"/admin/v1/verifications/{result['id']}/evidence/{kind}", headers=ADMIN_HEADERS
            )
            assert image.status_code == 200
            assert image.headers["content-type"].startswith("image/")
        # The operator decides in the console (login session + CSRF), the API refuses a
        # second decision.
        page = await _console_login(client)
        listing = await client.get("/console/verifications")
        assert result["id"] in listing.text
        assert "chip_trust_unknown" in listing.text
        image = await client.get(f"/console/verifications/{result['id']}/evidence/document")
        assert image.status_code == 200
        forged = await client.post(
            f"/console/verifications/{result['id']}/decision",
            data={"decision": "approved", "csrf": "forged"},
        )
        assert forged.status_code == 303
        assert (await kyc.get(result["id"]))["status"] == "review"
        decided = await client.post(
            f"/console/verifications/{result['id']}/decision",
            data={"decision": "approved", "csrf": _csrf(page), "note": "CSCA checked by hand"},
        )
        assert decided.status_code == 303, decided.text
        again = await client.post(
            f"/admin/v1/verifications/{result['id']}/decision",
            json={"decision": "rejected"},
            headers=ADMIN_HEADERS,
        )
        assert again.json()["code"] == "verification_not_in_review"
        final = await kyc.get(result["id"])
        validate_verified_claims(final["verified_claims"])
        assert final["ledger_index"] is not None
        async with kyc.platform.app.state.database.session() as session:
            audited = (
                await session.scalars(
                    select(AuditEvent).where(AuditEvent.action == "verification.review")
                )
            ).all()
        assert [(a.object_id, a.actor) for a in audited] == [(result["id"], "console:operator")]
        assert final["decided_by"] == "console:operator"

        service = kyc.platform.app.state.verifications
        assert await service.purge_due() == 0
        await kyc.advance(timedelta(hours=73))
        assert await service.purge_due() == 1
        purged = await kyc.get(result["id"])
        assert purged["purged"] is True
        assert purged["status"] == "approved"
        assert purged["verified_claims"] is None
        gone = await client.get(
            f"/admin/v1/verifications/{result['id']}/evidence/selfie", headers=ADMIN_HEADERS
        )
        assert gone.status_code == 404
        row = await _row(kyc, result["id"])
        assert (row.sealed_selfie, row.sealed_chip, row.sealed_result) == (None, None, None)
        async with kyc.platform.app.state.database.session() as session:
            purged_events = (
                await session.scalars(
                    select(TraceEventRow.object_type).where(
                        TraceEventRow.kind == "data.purged",
                        TraceEventRow.object_id == result["id"],
                    )
                )
            ).all()
        assert purged_events == ["verification"]


CONSOLE_PASSWORD = "console-review-password-123"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


async def _console_login(client: httpx.AsyncClient) -> str:
    form = await client.get("/console/login")
    response = await client.post(
        "/console/login",
        data={"username": "operator", "password": CONSOLE_PASSWORD, "csrf": _csrf(form.text)},
    )
    assert response.status_code == 303, response.text
    page = await client.get("/console/verifications")
    assert page.status_code == 200
    return page.text


async def test_unsubmitted_sessions_expire(kyc: Kyc) -> None:
    created = await kyc.create()
    await kyc.advance(timedelta(minutes=16))
    maintenance = VerificationMaintenance(
        service=kyc.platform.app.state.verifications, interval_seconds=60
    )
    assert await maintenance.run_once() == (1, 1)  # expired, then its uploads purged
    assert (await kyc.get(created["id"]))["status"] == "expired"
    page = await kyc.platform.client.get(created["capture_url"].removeprefix("http://honnin.test"))
    assert page.status_code == 404


async def test_idempotent_create(kyc: Kyc) -> None:
    headers = {**kyc.headers, "Idempotency-Key": "k-1"}
    body: dict[str, Any] = {"method": "jp_he"}
    first = await kyc.platform.client.post("/v1/verifications", json=body, headers=headers)
    second = await kyc.platform.client.post("/v1/verifications", json=body, headers=headers)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["capture_url"] == second.json()["capture_url"]
    other = await kyc.platform.client.post(
        "/v1/verifications", json={"method": "icao_chip"}, headers=headers
    )
    assert other.json()["code"] == "idempotency_key_reused"


async def test_same_idempotency_key_at_once_gives_one_verification(kyc: Kyc) -> None:
    headers = {**kyc.headers, "Idempotency-Key": "order-7"}
    answers = await asyncio.gather(
        *(
            kyc.platform.client.post("/v1/verifications", json={"method": "jp_he"}, headers=headers)
            for _ in range(6)
        )
    )
    assert [answer.status_code for answer in answers] == [201] * 6
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert len({answer.json()["capture_url"] for answer in answers}) == 1
    async with kyc.platform.app.state.database.session() as session:
        rows = (await session.scalars(select(Verification.id))).all()
    assert rows == [answers[0].json()["id"]]


async def test_jp_ho_card_photos_and_selfie(kyc: Kyc, kit: FaceKit) -> None:
    kanji_family, kanji_given = kit.holder.name_kanji.split(" ")
    applicant = {"family_name": kanji_family, "given_name": kanji_given, "birthdate": "1990-04-01"}
    created = await kyc.create("jp_ho", applicant=applicant)
    vid = created["id"]
    front, tilted = card_photos(kit)
    wrong = await kyc.put_chip(vid, kit.chip())
    assert (wrong.status_code, wrong.json()["code"]) == (409, "upload_not_for_method")
    uploaded = await kyc.platform.client.put(
        f"/v1/verifications/{vid}/card",
        files={
            "front": ("front.jpg", front, "image/jpeg"),
            "tilted": ("t.jpg", tilted, "image/jpeg"),
        },
        headers=kyc.headers,
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json() == {"received": ["card"], "needs": ["selfie"]}
    recording = kit.recording("obama", created["challenge"]["actions"])
    assert (await kyc.put_selfie(vid, recording, created["challenge"]["nonce"])).status_code == 200
    result = (await kyc.submit(vid)).json()
    # The reasons and scores, in full: pytest shortens the result past its first keys.
    assert result["status"] == "approved", (result["reasons"], result["evidence"])
    verified = result["verified_claims"]
    validate_verified_claims(verified)
    evidence = verified["verification"]["evidence"][0]
    assert [c["check_method"] for c in evidence["check_details"]] == ["vri", "bvr"]
    assert evidence["document_details"]["type"] == "idcard"
    assert verified["claims"]["birthdate"] == "1990-04-01"
    assert verified["claims"]["address"]["formatted"] == kit.holder.address
    assert result["evidence"]["card"]["tilt_foreshortening"] > 0.04
