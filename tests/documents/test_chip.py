"""Passive authentication: every algorithm the issuer has, and every tampering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ecdsa
import pytest
from asn1crypto import x509

from honnin.documents import chip, lds
from honnin.documents.errors import ChipDataError, TrustStoreError
from honnin.documents.trust import TrustStore
from honnin.sandbox import issuer as sandbox
from honnin.sandbox.issuer import IssuedChip, TestIssuer, sample_holder

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # the issuers in conftest are built at NOW


def _verify(chip_: IssuedChip, issuer: TestIssuer, **kwargs: object) -> chip.ChipReport:
    return chip.verify(chip_.sod, chip_.data_groups, trust=issuer.trust_store(), at=NOW, **kwargs)  # type: ignore[arg-type]


def _failed(report: chip.ChipReport) -> dict[str, str]:
    return {name: result for name, result in report.checks.items() if result != "pass"}


@pytest.mark.parametrize("profile", sandbox.KEY_PROFILES)
def test_every_signature_profile_verifies(profile: str, face_photo: bytes) -> None:
    issuer = TestIssuer.create(now=NOW, profile=profile)
    issued = issuer.issue_chip(sample_holder(3), face=face_photo)
    report = _verify(issued, issuer)
    assert report.valid, report.to_dict()
    assert report.mrz is not None
    assert report.mrz.valid
    assert report.face is not None
    assert report.face.decoded


def test_report_shape(rsa_chip: IssuedChip, rsa_issuer: TestIssuer) -> None:
    data = _verify(rsa_chip, rsa_issuer).to_dict()
    assert data["valid"] is True
    assert data["checks"] == dict.fromkeys(chip.CHECKS, "pass")
    assert [g["status"] for g in data["data_groups"]] == ["match", "match"]
    assert data["algorithms"]["signature"] == "rsa-pkcs1v15-sha256"
    assert data["algorithms"]["dsc_public_key"] == "rsa-2048"
    assert data["dsc"]["country"] == "JP"
    assert data["csca"]["subject"] == "CN=Sandbox CSCA JPN,O=Honnin Sandbox,C=JP"
    assert data["revocation"] == "no_crl"
    assert data["mrz"]["document_number"] == sample_holder(7).document_number
    assert data["face"]["format"] == "jpeg"
    assert data["face"]["width"] > 100


def test_jpeg2000_face_is_decoded(rsa_issuer: TestIssuer, face_photo: bytes) -> None:
    issued = rsa_issuer.issue_chip(sample_holder(4), face=face_photo, jpeg2000=True)
    report = _verify(issued, rsa_issuer)
    assert report.valid
    assert report.face is not None
    assert (report.face.image_format, report.face.decoded) == ("jpeg2000", True)
    assert report.face_image is not None
    assert report.face_image.startswith(b"\x00\x00\x00\x0cjP  ")


def test_sha1_and_sha512_digests(rsa_issuer: TestIssuer, face_photo: bytes) -> None:
    for hash_name in ("sha1", "sha512"):
        issued = rsa_issuer.issue_chip(sample_holder(5), face=face_photo, hash_name=hash_name)
        report = _verify(issued, rsa_issuer)
        assert report.valid
        assert report.algorithms["data_group_digest"] == hash_name


def test_changed_data_group_byte(rsa_chip: IssuedChip, rsa_issuer: TestIssuer) -> None:
    groups = dict(rsa_chip.data_groups)
    dg2 = bytearray(groups[2])
    dg2[-10] ^= 0x01
    groups[2] = bytes(dg2)
    report = chip.verify(rsa_chip.sod, groups, trust=rsa_issuer.trust_store(), at=NOW)
    assert _failed(report) == {"data_group_hashes": "fail"}
    assert [g.status for g in report.data_groups] == ["match", "mismatch"]
    assert report.reasons["data_group_hashes"] == "data_group_hash_mismatch"


def test_swapped_sod(rsa_chip: IssuedChip, rsa_issuer: TestIssuer, face_photo: bytes) -> None:
    other = rsa_issuer.issue_chip(sample_holder(8), face=face_photo)
    report = chip.verify(other.sod, rsa_chip.data_groups, trust=rsa_issuer.trust_store(), at=NOW)
    assert not report.valid
    assert report.checks["data_group_hashes"] == "fail"
    assert report.checks["sod_signature"] == "pass"


def test_wrong_dsc_certificate(rsa_chip: IssuedChip, rsa_issuer: TestIssuer) -> None:
    other = rsa_issuer.with_new_dsc(
        profile="rsa2048", not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=9)
    )
    # Signed with one DSC's key but naming (and carrying) another DSC.
    content = sandbox.lds_security_object(rsa_chip.data_groups, hash_name="sha256")
    forged = sandbox.signed_data(
        content=content,
        content_type=lds.OID_LDS_SECURITY_OBJECT,
        signer_key=rsa_issuer.dsc_key,
        signer_certificate=other.dsc_certificate,
    )
    report = chip.verify(forged, rsa_chip.data_groups, trust=rsa_issuer.trust_store(), at=NOW)
    assert _failed(report) == {"sod_signature": "fail"}
    assert report.reasons["sod_signature"] == "signature_invalid"


def test_dsc_missing_from_sod_can_be_supplied(rsa_chip: IssuedChip, rsa_issuer: TestIssuer) -> None:
    content = sandbox.lds_security_object(rsa_chip.data_groups, hash_name="sha256")
    bare = sandbox.signed_data(
        content=content,
        content_type=lds.OID_LDS_SECURITY_OBJECT,
        signer_key=rsa_issuer.dsc_key,
        signer_certificate=rsa_issuer.dsc_certificate,
        certificates=[],
    )
    report = chip.verify(bare, rsa_chip.data_groups, trust=rsa_issuer.trust_store(), at=NOW)
    assert report.checks["sod_signature"] == "unknown"
    assert not report.valid
    report = chip.verify(
        bare,
        rsa_chip.data_groups,
        trust=rsa_issuer.trust_store(),
        at=NOW,
        extra_certificates=[rsa_issuer.dsc_certificate],
    )
    assert report.valid


def test_expired_dsc(rsa_issuer: TestIssuer, face_photo: bytes) -> None:
    expired = rsa_issuer.with_new_dsc(
        profile="rsa2048",
        not_before=NOW - timedelta(days=400),
        not_after=NOW - timedelta(days=1),
    )
    issued = expired.issue_chip(sample_holder(9), face=face_photo)
    report = _verify(issued, expired)
    assert _failed(report) == {"dsc_validity": "fail"}
    assert report.reasons["dsc_validity"] == "dsc_expired"
    # The same chip judged at a time inside the DSC's validity passes.
    earlier = chip.verify(
        issued.sod, issued.data_groups, trust=expired.trust_store(), at=NOW - timedelta(days=30)
    )
    assert earlier.valid


def test_unknown_csca(rsa_chip: IssuedChip, face_photo: bytes) -> None:
    stranger = TestIssuer.create(now=NOW, profile="ecdsa-p256")
    report = chip.verify(rsa_chip.sod, rsa_chip.data_groups, trust=stranger.trust_store(), at=NOW)
    assert _failed(report) == {"dsc_chain": "fail"}
    assert report.reasons["dsc_chain"] == "csca_unknown"


def test_same_name_other_key_csca(rsa_chip: IssuedChip) -> None:
    # A CSCA with the same name (same country) but another key: AKI/SKI and signature differ.
    impostor = TestIssuer.create(now=NOW, profile="rsa2048")
    report = chip.verify(rsa_chip.sod, rsa_chip.data_groups, trust=impostor.trust_store(), at=NOW)
    assert report.checks["dsc_chain"] == "fail"


def test_no_trust_anchors_is_unknown(rsa_chip: IssuedChip) -> None:
    report = chip.verify(rsa_chip.sod, rsa_chip.data_groups, trust=None, at=NOW)
    assert report.checks["dsc_chain"] == "unknown"
    assert not report.valid


def test_bad_signature(rsa_chip: IssuedChip, rsa_issuer: TestIssuer) -> None:
    sod = bytearray(rsa_chip.sod)
    sod[-1] ^= 0xFF  # the SignerInfo signature is the last field of EF.SOD
    report = chip.verify(bytes(sod), rsa_chip.data_groups, trust=rsa_issuer.trust_store(), at=NOW)
    assert _failed(report) == {"sod_signature": "fail"}


def test_changed_lds_security_object(rsa_chip: IssuedChip, rsa_issuer: TestIssuer) -> None:
    parsed = lds.parse_sod(rsa_chip.sod)
    wanted = parsed.data_group_hashes[1]
    sod = rsa_chip.sod.replace(wanted, bytes(len(wanted)))
    report = chip.verify(sod, rsa_chip.data_groups, trust=rsa_issuer.trust_store(), at=NOW)
    assert report.checks["sod_signature"] == "fail"
    assert report.reasons["sod_signature"] == "message_digest_mismatch"


def test_revoked_dsc(rsa_chip: IssuedChip, rsa_issuer: TestIssuer) -> None:
    crl = rsa_issuer.crl(
        revoked=[rsa_issuer.dsc_serial],
        this_update=NOW - timedelta(days=1),
        next_update=NOW + timedelta(days=30),
    )
    trust = rsa_issuer.trust_store(crls=[crl])
    report = chip.verify(rsa_chip.sod, rsa_chip.data_groups, trust=trust, at=NOW)
    assert _failed(report) == {"dsc_chain": "fail"}
    assert report.revocation == "revoked"
    clean = rsa_issuer.crl(
        revoked=[12345], this_update=NOW - timedelta(days=1), next_update=NOW + timedelta(days=30)
    )
    report = chip.verify(
        rsa_chip.sod, rsa_chip.data_groups, trust=rsa_issuer.trust_store(crls=[clean]), at=NOW
    )
    assert report.valid
    assert report.revocation == "not_revoked"


def test_crl_from_another_csca_is_ignored(rsa_chip: IssuedChip, rsa_issuer: TestIssuer) -> None:
    other = TestIssuer.create(now=NOW, profile="ecdsa-p256")
    crl = other.crl(
        revoked=[rsa_issuer.dsc_serial],
        this_update=NOW - timedelta(days=1),
        next_update=NOW + timedelta(days=30),
    )
    report = chip.verify(
        rsa_chip.sod, rsa_chip.data_groups, trust=rsa_issuer.trust_store(crls=[crl]), at=NOW
    )
    assert report.valid


def test_csca_expired_at_time(rsa_chip: IssuedChip, rsa_issuer: TestIssuer) -> None:
    late = NOW + timedelta(days=6000)
    report = chip.verify(
        rsa_chip.sod, rsa_chip.data_groups, trust=rsa_issuer.trust_store(), at=late
    )
    assert report.checks["dsc_chain"] == "fail"
    assert report.reasons["dsc_chain"] == "csca_not_valid_at_time"


def test_master_list_as_trust_anchor(rsa_chip: IssuedChip, rsa_issuer: TestIssuer) -> None:
    other = TestIssuer.create(now=NOW, profile="ecdsa-p256")
    master = rsa_issuer.master_list([rsa_issuer.csca_certificate, other.csca_certificate], now=NOW)
    trust = TrustStore.build(master_lists=[master])
    assert len(trust.cscas) == 2
    assert chip.verify(rsa_chip.sod, rsa_chip.data_groups, trust=trust, at=NOW).valid


def test_tampered_master_list_is_refused(rsa_issuer: TestIssuer) -> None:
    master = rsa_issuer.master_list([rsa_issuer.csca_certificate], now=NOW)
    tampered = bytearray(master)
    tampered[-1] ^= 0x01
    with pytest.raises((TrustStoreError, ChipDataError)):
        TrustStore.build(master_lists=[bytes(tampered)])


def test_required_data_group_missing(rsa_chip: IssuedChip, rsa_issuer: TestIssuer) -> None:
    report = chip.verify(
        rsa_chip.sod,
        {1: rsa_chip.data_groups[1]},
        trust=rsa_issuer.trust_store(),
        at=NOW,
        required_data_groups=(1, 2),
    )
    assert report.checks["data_group_hashes"] == "fail"
    assert report.reasons["data_group_hashes"] == "required_data_group_missing"


def test_data_group_not_in_sod(rsa_chip: IssuedChip, rsa_issuer: TestIssuer) -> None:
    groups = dict(rsa_chip.data_groups) | {11: b"\x6b\x03\x5f\x0e\x00"}
    report = chip.verify(rsa_chip.sod, groups, trust=rsa_issuer.trust_store(), at=NOW)
    assert report.reasons["data_group_hashes"] == "data_group_not_in_sod"


def test_naive_time_is_refused(rsa_chip: IssuedChip) -> None:
    with pytest.raises(chip.DocumentError):
        chip.verify(rsa_chip.sod, rsa_chip.data_groups, trust=None, at=NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    "data", [b"", b"\x77", b"\x77\x82\xff\xff", b"\x30\x03\x02\x01\x00", b"junk"]
)
def test_malformed_sod_is_a_clean_error(data: bytes) -> None:
    with pytest.raises(ChipDataError) as info:
        chip.verify(data, {}, trust=None, at=NOW)
    assert info.value.code == "chip_data_malformed"


def test_truncated_sod_is_a_clean_error(rsa_chip: IssuedChip) -> None:
    for cut in (10, 100, len(rsa_chip.sod) // 2, len(rsa_chip.sod) - 1):
        with pytest.raises(ChipDataError):
            chip.verify(rsa_chip.sod[:cut], rsa_chip.data_groups, trust=None, at=NOW)


def test_explicit_parameters_of_an_unnamed_curve(rsa_issuer: TestIssuer, face_photo: bytes) -> None:
    # P-256 with another base point: no named curve matches, so the key is built from the
    # explicit parameters and verified with the pure-Python ecdsa package.
    nist = ecdsa.curves.NIST256p
    custom = ecdsa.curves.Curve("custom", nist.curve, nist.generator * 2, None)
    private = ecdsa.SigningKey.generate(curve=custom)
    point = b"\x04" + private.get_verifying_key().to_string()
    key = sandbox.SigningKey("ecdsa-p256", private, sandbox.explicit_ec_spki(custom, point))
    dsc = sandbox.build_certificate(
        subject=sandbox._name("JPN", "Honnin Sandbox", "Custom curve DSC"),
        issuer=x509.Certificate.load(rsa_issuer.csca_certificate).subject,
        subject_spki=key.spki,
        issuer_key=rsa_issuer.csca_key,
        issuer_spki=rsa_issuer.csca_key.spki,
        serial_number=99,
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=30),
        ca=False,
    )
    custom_issuer = sandbox.replace(rsa_issuer, dsc_key=key, dsc_certificate=dsc, dsc_serial=99)
    issued = custom_issuer.issue_chip(sample_holder(11), face=face_photo)
    report = _verify(issued, custom_issuer)
    assert report.valid, report.to_dict()
    assert report.algorithms["dsc_public_key"] == "ec-unnamed (explicit)"


def test_unsupported_signature_algorithm_is_reported(
    rsa_chip: IssuedChip, rsa_issuer: TestIssuer
) -> None:
    sha256_rsa = bytes.fromhex("06092a864886f70d01010b")
    md2_rsa = bytes.fromhex("06092a864886f70d010102")
    sod = rsa_chip.sod.replace(sha256_rsa, md2_rsa)
    report = chip.verify(sod, rsa_chip.data_groups, trust=rsa_issuer.trust_store(), at=NOW)
    assert report.checks["sod_signature"] == "fail"
    assert report.reasons["sod_signature"] == "algorithm_unsupported"
    assert report.checks["dsc_chain"] == "fail"
