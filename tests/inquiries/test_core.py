from hypothesis import given
from hypothesis import strategies as st

from honnin.inquiries import core


def test_callback_verdict_precedence() -> None:
    assert core.callback_verdict(
        expired=True, issuer_problem="issuer_mismatch", error=None, code="c"
    ) == (
        "expired",
        "consent_expired",
    )
    assert core.callback_verdict(
        expired=False, issuer_problem="issuer_mismatch", error="access_denied", code=None
    ) == (
        "failed",
        "issuer_mismatch",
    )
    assert core.callback_verdict(
        expired=False, issuer_problem=None, error="access_denied", code=None
    ) == (
        "denied",
        "user_denied",
    )
    assert core.callback_verdict(
        expired=False, issuer_problem=None, error="server_error", code=None
    ) == (
        "failed",
        "bank_refused",
    )
    assert core.callback_verdict(expired=False, issuer_problem=None, error=None, code=None) == (
        "failed",
        "bank_protocol_error",
    )
    assert core.callback_verdict(expired=False, issuer_problem=None, error=None, code="abc") is None


@given(
    returned=st.sets(
        st.sampled_from(["family_name", "given_name", "birthdate", "address", "gender"])
    ),
    allowed=st.sets(st.sampled_from(["family_name", "given_name", "birthdate", "address"])),
)
def test_release_never_passes_unrequested_claims(returned: set[str], allowed: set[str]) -> None:
    verified = {
        "verification": {"trust_framework": "jp_aml"},
        "claims": dict.fromkeys(returned, "x"),
    }
    released = core.release_claims(verified, allowed)
    assert set(released["claims"]) == returned & allowed
    assert released["verification"] == verified["verification"]


def test_digest_is_canonical() -> None:
    assert core.content_digest({"b": 1, "a": "髙"}) == core.content_digest({"a": "髙", "b": 1})
