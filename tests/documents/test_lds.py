"""LDS parsers (TLV, EF.COM, DG1, DG2, EF.SOD) and fuzzing: hostile input never escapes
as anything but a :class:`DocumentError`."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honnin.documents import chip, lds, tlv, trust
from honnin.documents.errors import ChipDataError, DocumentError
from honnin.documents.trust import TrustStore
from honnin.sandbox import issuer as sandbox
from honnin.sandbox.issuer import IssuedChip, TestIssuer

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_tlv_round_trip() -> None:
    value = bytes(300)
    encoded = tlv.encode(0x5F1F, value)
    item, end = tlv.parse_one(encoded)
    assert (item.tag, item.value, end) == (0x5F1F, value, len(encoded))


def test_ef_com(rsa_chip: IssuedChip) -> None:
    com = lds.parse_com(rsa_chip.ef_com)
    assert (com.lds_version, com.unicode_version, com.data_groups) == ("0107", "040000", (1, 2))


def test_dg1_and_dg2(rsa_chip: IssuedChip) -> None:
    assert lds.parse_dg1(rsa_chip.data_groups[1]) == rsa_chip.mrz
    (face,) = lds.parse_dg2(rsa_chip.data_groups[2])
    assert face.record_format == "iso19794-5"
    assert face.image_format == "jpeg"
    decoded = lds.decode_face(face)
    assert (decoded.width, decoded.height) == (face.declared_width, face.declared_height)
    assert len(decoded.rgb) == decoded.width * decoded.height * 3


def test_dg2_without_19794_header_is_scanned(rsa_chip: IssuedChip) -> None:
    (face,) = lds.parse_dg2(rsa_chip.data_groups[2])
    block = b"\x7f\x2e" + b"ISO39794-5 header" + face.data
    dg2 = tlv.encode(0x75, tlv.encode(0x7F61, tlv.encode(0x7F60, tlv.encode(0x7F2E, block))))
    (scanned,) = lds.parse_dg2(dg2)
    assert scanned.record_format == "signature-scan"
    assert scanned.data == face.data


def test_face_pixel_limit(rsa_chip: IssuedChip) -> None:
    (face,) = lds.parse_dg2(rsa_chip.data_groups[2])
    with pytest.raises(DocumentError) as info:
        lds.decode_face(face, max_pixels=100)
    assert info.value.code == "image_undecodable"


def test_sod_with_lds_version_info(rsa_issuer: TestIssuer, rsa_chip: IssuedChip) -> None:
    content = sandbox.lds_security_object(
        rsa_chip.data_groups, hash_name="sha256", with_version=True
    )
    sod = sandbox.signed_data(
        content=content,
        content_type=lds.OID_LDS_SECURITY_OBJECT,
        signer_key=rsa_issuer.dsc_key,
        signer_certificate=rsa_issuer.dsc_certificate,
    )
    parsed = lds.parse_sod(sod)
    assert (parsed.lds_version, parsed.unicode_version) == ("0108", "040000")
    assert chip.verify(sod, rsa_chip.data_groups, trust=rsa_issuer.trust_store(), at=NOW).valid


def _survives(call: object, *args: object) -> None:
    with contextlib.suppress(DocumentError):
        call(*args)  # type: ignore[operator]


@FUZZ
@given(st.binary(max_size=600))
def test_fuzz_random_bytes_every_parser(data: bytes) -> None:
    for parse in (lds.parse_sod, lds.parse_com, lds.parse_dg1, lds.parse_dg2, tlv.parse_all):
        _survives(parse, data)
    _survives(lambda d: TrustStore.build(csca_certificates=[d]), data)
    _survives(lambda d: TrustStore.build(master_lists=[d]), data)
    _survives(lambda d: TrustStore.build(crls=[d]), data)
    _survives(lambda d: chip.verify(d, {1: d, 2: d}, trust=None, at=NOW), data)


mutation = st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255))


@FUZZ
@given(mutations=st.lists(mutation, min_size=1, max_size=4), cut=st.integers(min_value=0))
def test_fuzz_mutated_sod(
    rsa_chip: IssuedChip, rsa_issuer: TestIssuer, mutations: list[tuple[int, int]], cut: int
) -> None:
    sod = bytearray(rsa_chip.sod)
    for position, value in mutations:
        sod[position % len(sod)] = value
    data = bytes(sod[: len(sod) - cut % 64])
    trust = rsa_issuer.trust_store()
    try:
        report = chip.verify(data, rsa_chip.data_groups, trust=trust, at=NOW)
    except DocumentError:
        return
    assert set(report.checks.values()) <= {"pass", "fail", "unknown"}
    assert isinstance(report.to_dict(), dict)


@FUZZ
@given(
    group=st.sampled_from([1, 2]),
    mutations=st.lists(mutation, min_size=1, max_size=4),
    cut=st.integers(min_value=0),
)
def test_fuzz_mutated_data_groups(
    rsa_chip: IssuedChip, group: int, mutations: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(rsa_chip.data_groups[group])
    for position, value in mutations:
        data[position % len(data)] = value
    mutated = bytes(data[: len(data) - cut % 200])
    parser = lds.parse_dg1 if group == 1 else lds.parse_dg2
    _survives(parser, mutated)
    groups = dict(rsa_chip.data_groups) | {group: mutated}
    report = chip.verify(rsa_chip.sod, groups, trust=None, at=NOW)
    if mutated != rsa_chip.data_groups[group]:
        assert report.checks["data_group_hashes"] == "fail"


@FUZZ
@given(st.binary(min_size=1, max_size=40))
def test_fuzz_face_decoding(garbage: bytes) -> None:
    face = lds.FaceImage("jpeg", b"\xff\xd8\xff" + garbage, "signature-scan")
    _survives(lds.decode_face, face)


def test_deeply_nested_asn1_is_a_clean_error() -> None:
    nested = b"\x05\x00"
    for _ in range(3000):
        nested = b"\x30" + tlv.encode_length(len(nested)) + nested
    with pytest.raises(ChipDataError):
        lds.parse_sod(nested)


@pytest.fixture(scope="module")
def trust_inputs(rsa_issuer: TestIssuer) -> dict[str, bytes]:
    return {
        "master_list": rsa_issuer.master_list([rsa_issuer.csca_certificate], now=NOW),
        "crl": rsa_issuer.crl(revoked=[5], this_update=NOW, next_update=NOW),
        "certificate": rsa_issuer.csca_certificate,
    }


@FUZZ
@given(
    which=st.sampled_from(["master_list", "crl", "certificate"]),
    mutations=st.lists(mutation, min_size=1, max_size=3),
)
def test_fuzz_mutated_trust_inputs(
    trust_inputs: dict[str, bytes],
    rsa_issuer: TestIssuer,
    which: str,
    mutations: list[tuple[int, int]],
) -> None:
    data = bytearray(trust_inputs[which])
    for position, value in mutations:
        data[position % len(data)] = value
    trust.load_certificate.cache_clear()
    kwargs = {
        "master_list": {"master_lists": [bytes(data)]},
        "crl": {"csca_certificates": [rsa_issuer.csca_certificate], "crls": [bytes(data)]},
        "certificate": {"csca_certificates": [bytes(data)]},
    }[which]
    try:
        store = TrustStore.build(**kwargs)  # type: ignore[arg-type]
    except DocumentError:
        return
    for csca in store.cscas:
        assert isinstance(csca.summary(), dict)
        store.crls_of(csca)
