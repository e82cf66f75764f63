"""The bank inquiry end to end against the three sandbox banks, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from honnin.banks.oidc4ida import validate_verified_claims
from support.broker import SATO, Broker, running_broker


@pytest.fixture
async def broker(database_url: str) -> AsyncIterator[Broker]:
    async with running_broker(database_url) as running:
        yield running


@pytest.mark.parametrize("bank_id", ["momiji_rest", "kaede_xml", "sakura_oidc"])
async def test_completed_inquiry_is_schema_valid_and_matches(broker: Broker, bank_id: str) -> None:
    result = await broker.run(bank_id)
    assert result["status"] == "completed", result
    verified = result["result"]["verified_claims"]
    validate_verified_claims(verified)
    assert verified["verification"]["trust_framework"] == "jp_aml"
    evidence = verified["verification"]["evidence"][0]
    assert evidence["type"] == "electronic_record"
    assert evidence["check_details"][0]["organization"] == bank_id
    claims = verified["claims"]
    assert claims["family_name"] == "佐藤"
    assert claims["birthdate"] == "1990-04-01"
    assert result["result"]["match"]["overall"] == "match", result["result"]["match"]
    assert result["match_overall"] == "match"
    assert len(result["result_digest"]) == 64


async def test_mismatching_applicant_is_reported_field_by_field(broker: Broker) -> None:
    result = await broker.run("momiji_rest", applicant={**SATO, "birthdate": "1991-04-01"})
    fields = result["result"]["match"]["fields"]
    assert result["result"]["match"]["overall"] == "mismatch"
    assert fields["birthdate"]["result"] == "mismatch"
    assert fields["name"]["result"] == "match"


async def test_only_requested_claims_are_released(broker: Broker) -> None:
    created = await broker.create("momiji_rest", claims=["family_name", "given_name"])
    callback = await broker.consent(created.json()["authorization_url"])
    await broker.callback(callback)
    result = await broker.result(created.json()["id"])
    assert set(result["result"]["verified_claims"]["claims"]) <= {"family_name", "given_name"}


async def test_denied_at_the_bank(broker: Broker) -> None:
    result = await broker.run("kaede_xml", decision="deny")
    assert result["status"] == "denied"
    assert result["failure_code"] == "user_denied"
    assert result["result"] is None


async def test_replayed_and_forged_callbacks_change_nothing(broker: Broker) -> None:
    created = await broker.create("momiji_rest")
    callback = await broker.consent(created.json()["authorization_url"])
    assert (await broker.callback(callback)).status_code == 303
    replay = await broker.callback(callback)
    assert replay.status_code == 400
    assert "already used" in replay.text
    forged = await broker.callback("http://honnin.test/broker/callback?code=x&state=forged")
    assert forged.status_code == 400
    result = await broker.result(created.json()["id"])
    assert result["status"] == "completed"


async def test_two_simultaneous_callbacks_finish_the_inquiry_once(broker: Broker) -> None:
    # Both find the pending inquiry by its state; the guarded UPDATE lets one of them in.
    created = await broker.create("momiji_rest")
    callback = await broker.consent(created.json()["authorization_url"])
    first, second = await asyncio.gather(broker.callback(callback), broker.callback(callback))
    assert sorted([first.status_code, second.status_code]) == [303, 400]
    refused = first if first.status_code == 400 else second
    assert "already used" in refused.text
    result = await broker.result(created.json()["id"])
    assert result["status"] == "completed"
    assert result["match_overall"] == "match"


async def test_wrong_issuer_parameter_fails_the_inquiry(broker: Broker) -> None:
    created = await broker.create("momiji_rest")
    callback = await broker.consent(created.json()["authorization_url"])
    tampered = callback.replace("iss=", "iss=https%3A%2F%2Fevil.example&was=")
    await broker.callback(tampered)
    result = await broker.result(created.json()["id"])
    assert result["status"] == "failed"
    assert result["failure_code"] == "issuer_mismatch"


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"kind": "error", "status": 500}, "bank_error"),
        ({"kind": "malformed"}, "bank_payload_invalid"),
        ({"kind": "flood"}, "bank_payload_invalid"),
        ({"kind": "close"}, "bank_unreachable"),
    ],
)
async def test_bank_faults_end_in_failed_with_a_reason(
    broker: Broker, fault: dict[str, object], code: str
) -> None:
    from honnin.sandbox.banks import Fault

    created = await broker.create("momiji_rest")
    callback = await broker.consent(created.json()["authorization_url"])
    broker.banks.bank("momiji_rest").faults.add(Fault(target="kyc", **fault))  # type: ignore[arg-type]
    finished = await broker.callback(callback)
    assert finished.status_code == 303
    result = await broker.result(created.json()["id"])
    assert result["status"] == "failed"
    assert result["failure_code"] == code


async def test_hanging_bank_times_out(database_url: str) -> None:
    from honnin.sandbox.banks import Fault

    async with running_broker(database_url, bank_http_timeout_seconds=0.5) as broker:
        created = await broker.create("momiji_rest")
        callback = await broker.consent(created.json()["authorization_url"])
        broker.banks.bank("momiji_rest").faults.add(
            Fault(kind="hang", target="kyc", hang_seconds=5)
        )
        await broker.callback(callback)
        result = await broker.result(created.json()["id"])
        assert (result["status"], result["failure_code"]) == ("failed", "bank_timeout")


async def test_expiry_and_purge(broker: Broker) -> None:
    created = await broker.create("momiji_rest")
    inquiry_id = created.json()["id"]
    callback = await broker.consent(created.json()["authorization_url"])
    broker.clock.advance(timedelta(minutes=11))
    await broker.callback(callback)
    await broker.refresh_token()  # the clock moved past the access token's lifetime
    assert (await broker.result(inquiry_id))["status"] == "expired"

    pending = await broker.create("kaede_xml")
    broker.clock.advance(timedelta(minutes=11))
    await broker.refresh_token()
    await broker.platform.app.state.maintenance.run_once()
    assert (await broker.result(pending.json()["id"]))["status"] == "expired"

    done = await broker.run("momiji_rest")
    assert done["result"] is not None
    broker.clock.advance(timedelta(hours=73))
    await broker.refresh_token()
    await broker.platform.app.state.maintenance.run_once()
    purged = await broker.result(done["id"])
    assert purged["purged"] is True
    assert purged["result"] is None
    assert purged["result_digest"] == done["result_digest"]
    assert purged["status"] == "completed"


async def test_idempotency_key(broker: Broker) -> None:
    first = await broker.create("momiji_rest", key="order-42")
    again = await broker.create("momiji_rest", key="order-42")
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["authorization_url"] == first.json()["authorization_url"]
    other = await broker.create(
        "momiji_rest", key="order-42", applicant={**SATO, "given_name": "X"}
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"


async def test_same_idempotency_key_at_once_gives_one_inquiry(broker: Broker) -> None:
    answers = await asyncio.gather(*(broker.create("momiji_rest", key="order-7") for _ in range(6)))
    assert [answer.status_code for answer in answers] == [201] * 6
    assert len({answer.json()["id"] for answer in answers}) == 1


async def test_contract_limits_what_can_be_asked(broker: Broker) -> None:
    await broker.platform.add_bank("other_bank")
    response = await broker.create("other_bank")
    assert response.status_code == 403
    assert response.json()["code"] == "no_active_contract"
    response = await broker.client.post(
        "/v1/bank-inquiries",
        json={
            "bank_id": "momiji_rest",
            "purpose": "marketing",
            "claims": ["family_name"],
            "applicant": SATO,
            "return_url": "https://e.example/x",
        },
        headers=broker.headers,
    )
    assert response.json()["code"] == "purpose_not_allowed"


async def test_other_enterprise_cannot_see_the_inquiry(broker: Broker) -> None:
    created = await broker.create("momiji_rest")
    other = await broker.platform.new_enterprise("Globex")
    headers = await broker.platform.bearer(other["credentials"])
    response = await broker.client.get(
        f"/v1/bank-inquiries/{created.json()['id']}", headers=headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == "inquiry_not_found"


async def test_bank_data_is_encrypted_at_rest(broker: Broker) -> None:
    from sqlalchemy import text

    result = await broker.run("momiji_rest")
    database = broker.platform.app.state.database
    async with database.session() as session:
        row = (
            (
                await session.execute(
                    text("SELECT * FROM bank_inquiries WHERE id = :id"), {"id": result["id"]}
                )
            )
            .mappings()
            .one()
        )
    dumped = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values())
    for secret in ("佐藤", "花子", "1990", "丸の内"):
        assert secret.encode() not in dumped


async def test_bad_inquiry_requests(broker: Broker) -> None:
    response = await broker.create("momiji_rest", applicant={"birthdate": 19900401})  # type: ignore[dict-item]
    assert response.status_code == 422
    response = await broker.create("momiji_rest", claims=["password"])
    assert response.json()["code"] == "invalid_contract" or response.status_code in (403, 422)
    start = await broker.client.get("/broker/start/not-a-token")
    assert start.status_code == 400
    assert time.time() > 0


async def test_user_gets_a_receipt_link_after_consent(broker: Broker) -> None:
    from urllib.parse import parse_qs, urlsplit

    created = await broker.create("momiji_rest")
    callback = await broker.consent(created.json()["authorization_url"])
    finished = await broker.callback(callback)
    query = parse_qs(urlsplit(finished.headers["location"]).query)
    receipt_url = query["receipt_url"][0]
    assert receipt_url.startswith("http://honnin.test/receipts/")
    page = await broker.client.get(urlsplit(receipt_url).path)
    assert page.status_code == 200
    assert "Acme" in page.text  # with whom
    assert "You gave consent at your bank" in page.text
    assert "Your bank sent your identity data" in page.text
    assert "birthdate" in page.text  # the item names, never their values
    assert "佐藤" not in page.text
    assert "Ask for revocation" in page.text
