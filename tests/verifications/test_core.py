"""Pure rules: the decision table, reason codes from each check, the OIDC4IDA result."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.banks.oidc4ida import validate_verified_claims
from honnin.verifications import core
from honnin.verifications.analysis import AnalysisJob, Limits, SelfieUpload
from honnin.verifications.core import Analysis, DocumentFacts

FACTS = DocumentFacts(
    document_type="idcard",
    document_number="AB1234567",
    issuing_state="JPN",
    family_name="YAMADA",
    given_name="HANAKO",
    birthdate="1990-04-01",
    expiry_date="2030-01-01",
)
ALL_REASONS = sorted(core.REJECT_REASONS | core.REVIEW_REASONS)


@given(
    st.lists(st.sampled_from(ALL_REASONS), max_size=5),
    st.sampled_from(["match", "partial", "mismatch", None]),
)
def test_decision_table(problems: list[str], overall: str | None) -> None:
    decision = core.decide(Analysis(facts=FACTS, problems=tuple(problems)), match_overall=overall)
    reasons = set(decision.reasons)
    if reasons & core.REJECT_REASONS:
        assert decision.status == core.REJECTED
    elif reasons & core.REVIEW_REASONS:
        assert decision.status == core.REVIEW
    else:
        assert decision.status == core.APPROVED
        assert decision.reasons == ()
    assert set(problems) <= reasons
    if overall == "mismatch":
        assert "applicant_mismatch" in reasons
    if overall == "partial":
        assert "applicant_partial" in reasons
    assert len(decision.reasons) == len(reasons)  # no duplicates


def test_unknown_reasons_fail_closed() -> None:
    decision = core.decide(Analysis(facts=FACTS, problems=("corrupt_video",)), match_overall=None)
    assert decision.status == core.REJECTED
    mixed = core.decide(
        Analysis(facts=FACTS, problems=("face_match_borderline", "x")), match_overall="match"
    )
    assert mixed.status == core.REJECTED


def _checks(sod: str, hashes: str, chain: str, validity: str) -> dict[str, str]:
    return {
        "sod_signature": sod,
        "data_group_hashes": hashes,
        "dsc_chain": chain,
        "dsc_validity": validity,
    }


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        (_checks("pass", "pass", "pass", "pass"), []),
        (_checks("fail", "pass", "pass", "pass"), ["chip_tampered"]),
        (_checks("pass", "fail", "pass", "pass"), ["chip_tampered"]),
        (_checks("pass", "pass", "fail", "fail"), ["chip_untrusted", "chip_signer_invalid"]),
        (_checks("pass", "pass", "unknown", "pass"), ["chip_trust_unknown"]),
    ],
)
def test_chip_reasons(checks: dict[str, str], expected: list[str]) -> None:
    assert core.chip_problems(checks, {}) == expected


def test_liveness_and_face_reasons() -> None:
    assert core.liveness_problems(True, []) == []
    assert core.liveness_problems(False, ["too_few_face_frames"]) == ["no_face"]
    assert core.liveness_problems(False, ["multiple_faces", "x"]) == ["multiple_faces"]
    assert core.liveness_problems(False, ["face_changed"]) == ["liveness_failed", "face_changed"]
    assert core.face_problems(0.30, 0.57, margin=0.04) == []
    assert core.face_problems(0.55, 0.57, margin=0.04) == ["face_match_borderline"]
    assert core.face_problems(0.60, 0.57, margin=0.04) == ["face_match_borderline"]
    assert core.face_problems(0.62, 0.57, margin=0.04) == ["face_mismatch"]
    assert core.expiry_problems("2020-01-01", date(2026, 1, 1)) == ["document_expired"]
    assert core.expiry_problems("2026-01-01", date(2026, 1, 1)) == []


@pytest.mark.parametrize("method", core.METHODS)
def test_verified_claims_are_schema_valid(method: str) -> None:
    now = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
    card = DocumentFacts(
        document_type="idcard",
        name="山田花子",
        birthdate="1990-04-01",
        address="東京都千代田区永田町1丁目2番3号",
    )
    facts = card if method == "jp_ho" else FACTS
    claims = core.verified_claims(
        method=method, facts=facts, verification_id="vrf_1", decided_at=now, captured_at=now
    )
    validate_verified_claims(claims)
    evidence = claims["verification"]["evidence"][0]
    assert evidence["method"] == method
    assert claims["verification"]["trust_framework"] == "jp_aml"
    first = evidence["check_details"][0]["check_method"]
    assert first == ("vri" if method == "jp_ho" else "vcrypt")


def test_ledger_identity_is_stable() -> None:
    assert core.ledger_identity(FACTS) == {
        "family_name": "YAMADA",
        "given_name": "HANAKO",
        "birthdate": "1990-04-01",
    }
    assert core.ledger_identity(DocumentFacts(document_type="idcard", name="山田花子")) == {
        "name": "山田花子",
        "birthdate": "",
    }


def test_jobs_and_results_pickle_for_the_process_pool() -> None:
    from honnin.faces.challenge import issue_challenge

    now = datetime(2026, 11, 21, tzinfo=UTC)
    job = AnalysisJob(
        method="jp_he",
        selfie=SelfieUpload(frames=(b"x",), times=(0.0,)),
        challenge=issue_challenge(now=now),
        nonce="n",
        received_at=now,
        at=now,
        limits=Limits(),
    )
    assert pickle.loads(pickle.dumps(job)) == job
    result = Analysis(facts=FACTS, problems=("face_mismatch",), face={"distance": 0.7})
    assert pickle.loads(pickle.dumps(result)) == result
