"""Chip passive authentication (ICAO 9303-11 §5.1, 9303-12 §4-§7; RFC 5652 §5.4-§5.6).

:func:`verify` takes EF.SOD, the data groups read from the chip, the trust anchors and the
instant to judge validity at, and returns a :class:`ChipReport`. It runs four checks:

* ``sod_signature`` - the SignerInfo's ``messageDigest`` equals the hash of the
  LDSSecurityObject, its ``contentType`` is ``id-icao-mrtd-security-ldsSecurityObject``
  and the signature verifies with the document signer certificate (DSC);
* ``data_group_hashes`` - every supplied data group hashes to the value in the SOD;
* ``dsc_chain`` - the DSC is issued and signed by a CSCA of the trust store that is
  valid at the instant (shell model) and has not revoked it in a CRL it signed;
* ``dsc_validity`` - the DSC is valid at the instant.

Each is ``pass``, ``fail`` or ``unknown`` (nothing to judge it by). The report is
``valid`` only when all four pass. Malformed EF.SOD raises :class:`ChipDataError`;
malformed data groups are reported, since their hash check still decides.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from honnin.documents import lds, signatures
from honnin.documents.errors import ChipDataError, DocumentError
from honnin.documents.mrz import Mrz
from honnin.documents.mrz import parse as parse_mrz
from honnin.documents.trust import (
    CertificateInfo,
    TrustStore,
    load_certificate,
    same_name,
    signature_name,
    signed_by,
)

CheckResult = Literal["pass", "fail", "unknown"]
CHECKS = ("sod_signature", "data_group_hashes", "dsc_chain", "dsc_validity")


@dataclass(frozen=True)
class DataGroupResult:
    number: int
    status: Literal["match", "mismatch", "not_in_sod"]
    parse_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "status": self.status, "parse_error": self.parse_error}


@dataclass(frozen=True)
class FaceInfo:
    image_format: str
    mime_type: str
    record_format: str
    size_bytes: int
    width: int | None
    height: int | None
    decoded: bool
    decode_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.image_format,
            "mime_type": self.mime_type,
            "record_format": self.record_format,
            "size_bytes": self.size_bytes,
            "width": self.width,
            "height": self.height,
            "decoded": self.decoded,
            "decode_error": self.decode_error,
        }


@dataclass(frozen=True)
class ChipReport:
    """The outcome of passive authentication; ``to_dict`` is the CLI's JSON."""

    checks: dict[str, CheckResult]
    reasons: dict[str, str]
    data_groups: tuple[DataGroupResult, ...]
    algorithms: dict[str, str | None]
    at: datetime
    dsc: CertificateInfo | None = None
    csca: CertificateInfo | None = None
    revocation: str = "unknown"
    lds_version: str | None = None
    unicode_version: str | None = None
    mrz: Mrz | None = None
    face: FaceInfo | None = None
    # The DG2 face image bytes (JPEG / JPEG 2000) for face matching; not in to_dict.
    face_image: bytes | None = field(default=None, repr=False)
    sod_data_groups: tuple[int, ...] = ()

    @property
    def valid(self) -> bool:
        return all(self.checks.get(name) == "pass" for name in CHECKS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "checks": dict(self.checks),
            "reasons": dict(self.reasons),
            "at": self.at.isoformat(),
            "data_groups": [item.to_dict() for item in self.data_groups],
            "sod_data_groups": list(self.sod_data_groups),
            "algorithms": dict(self.algorithms),
            "dsc": self.dsc.summary() if self.dsc else None,
            "csca": self.csca.summary() if self.csca else None,
            "revocation": self.revocation,
            "lds_version": self.lds_version,
            "unicode_version": self.unicode_version,
            "mrz": self.mrz.to_dict() if self.mrz else None,
            "face": self.face.to_dict() if self.face else None,
        }


def verify(
    sod: bytes,
    data_groups: Mapping[int, bytes],
    *,
    trust: TrustStore | None,
    at: datetime,
    extra_certificates: Sequence[bytes] = (),
    required_data_groups: Collection[int] = (),
    decode_face: bool = True,
) -> ChipReport:
    """Passive authentication of one chip read at instant ``at`` (timezone-aware).

    ``data_groups`` maps data group numbers to the files as read (with their outer tag).
    ``extra_certificates`` supplies the DSC when the SOD does not carry it.
    ``required_data_groups`` fails the hash check when one of them is not supplied.
    """
    if at.tzinfo is None:
        msg = "verification instant must be timezone-aware"
        raise DocumentError(msg)
    parsed = lds.parse_sod(sod)
    checks: dict[str, CheckResult] = dict.fromkeys(CHECKS, "unknown")
    reasons: dict[str, str] = {}
    algorithms: dict[str, str | None] = {
        "data_group_digest": None,
        "signer_digest": None,
        "signature": None,
        "dsc_public_key": None,
        "dsc_signature": None,
    }

    dg_results: tuple[DataGroupResult, ...] = ()
    dg_check: CheckResult = "unknown"
    dg_reason: str | None
    try:
        lds_digest = _digest_name(parsed.lds_digest_algorithm)
    except DocumentError as exc:
        dg_reason = exc.code
    else:
        algorithms["data_group_digest"] = lds_digest
        dg_results, dg_check, dg_reason = _check_data_groups(
            parsed, data_groups, lds_digest, required_data_groups
        )
    checks["data_group_hashes"] = dg_check
    if dg_reason:
        reasons["data_group_hashes"] = dg_reason

    dsc = _find_dsc(parsed, extra_certificates)
    if dsc is None:
        reasons["sod_signature"] = "dsc_not_found"
        reasons["dsc_chain"] = reasons["dsc_validity"] = "dsc_not_found"
    else:
        algorithms["dsc_public_key"] = dsc.public_key.description
        algorithms["dsc_signature"] = signature_name(dsc.signature_algorithm)
        try:
            checks["sod_signature"], reason = _check_sod_signature(parsed, dsc, algorithms)
        except DocumentError as exc:
            checks["sod_signature"], reason = "fail", exc.code
        if reason:
            reasons["sod_signature"] = reason
        checks["dsc_validity"] = "pass" if dsc.valid_at(at) else "fail"
        if checks["dsc_validity"] == "fail":
            reasons["dsc_validity"] = "dsc_expired" if at > dsc.not_after else "dsc_not_yet_valid"
    csca, chain, chain_reason, revocation = _check_chain(dsc, trust, at)
    checks["dsc_chain"] = chain
    if chain_reason:
        reasons["dsc_chain"] = chain_reason

    mrz, face, face_image = _read_contents(data_groups, decode_face=decode_face, at=at)
    return ChipReport(
        checks=checks,
        reasons=reasons,
        data_groups=dg_results,
        algorithms=algorithms,
        at=at,
        dsc=dsc,
        csca=csca,
        revocation=revocation,
        lds_version=parsed.lds_version,
        unicode_version=parsed.unicode_version,
        mrz=mrz,
        face=face,
        face_image=face_image,
        sod_data_groups=tuple(sorted(parsed.data_group_hashes)),
    )


def _digest_name(algorithm: Any) -> str:
    try:
        return signatures.digest_name(algorithm)
    except DocumentError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        msg = "EF.SOD digest algorithm is malformed"
        raise ChipDataError(msg) from exc


def _check_data_groups(
    parsed: lds.Sod,
    data_groups: Mapping[int, bytes],
    digest_name: str,
    required: Collection[int],
) -> tuple[tuple[DataGroupResult, ...], CheckResult, str | None]:
    results: list[DataGroupResult] = []
    for number in sorted(data_groups):
        data = data_groups[number]
        expected = parsed.data_group_hashes.get(number)
        parse_error = None
        if lds.data_group_number(data) != number:
            parse_error = "file tag is not this data group's"
        if expected is None:
            status: Literal["match", "mismatch", "not_in_sod"] = "not_in_sod"
        elif signatures.digest(digest_name, data) == expected:
            status = "match"
        else:
            status = "mismatch"
        results.append(DataGroupResult(number, status, parse_error))
    missing = [n for n in required if n not in data_groups]
    if missing:
        return tuple(results), "fail", "required_data_group_missing"
    if not results:
        return (), "unknown", "no_data_groups"
    if all(item.status == "match" for item in results):
        return tuple(results), "pass", None
    if any(item.status == "not_in_sod" for item in results):
        return tuple(results), "fail", "data_group_not_in_sod"
    return tuple(results), "fail", "data_group_hash_mismatch"


def _find_dsc(parsed: lds.Sod, extra: Sequence[bytes]) -> CertificateInfo | None:
    signer = parsed.signer
    for der in (*parsed.certificates, *extra):
        try:
            cert = load_certificate(der, label="document signer certificate")
        except DocumentError:
            continue  # an unusable certificate cannot be the signer; others may be
        if signer.subject_key_identifier is not None:
            if cert.subject_key_identifier == signer.subject_key_identifier:
                return cert
        elif cert.serial_number == signer.serial_number and same_name(cert.issuer, signer.issuer):
            return cert
    return None


def _check_sod_signature(
    parsed: lds.Sod, dsc: CertificateInfo, algorithms: dict[str, str | None]
) -> tuple[CheckResult, str | None]:
    signer = parsed.signer
    digest_name = _digest_name(signer.digest_algorithm)
    algorithms["signer_digest"] = digest_name
    alg = signatures.signature_algorithm(signer.signature_algorithm, default_hash=digest_name)
    algorithms["signature"] = alg.name
    if signer.signed_attributes is None:
        signed = parsed.encapsulated_content
    else:
        if signer.content_type != lds.OID_LDS_SECURITY_OBJECT:
            return "fail", "content_type_attribute_mismatch"
        if signer.message_digest != signatures.digest(digest_name, parsed.encapsulated_content):
            return "fail", "message_digest_mismatch"
        signed = signer.signed_attributes
    try:
        signatures.verify(dsc.public_key, alg, signed, signer.signature)
    except signatures.BadSignatureError:
        return "fail", "signature_invalid"
    return "pass", None


def _check_chain(  # noqa: PLR0911 - one return per chain outcome, read as a decision table
    dsc: CertificateInfo | None, trust: TrustStore | None, at: datetime
) -> tuple[CertificateInfo | None, CheckResult, str | None, str]:
    if dsc is None:
        return None, "unknown", "dsc_not_found", "unknown"
    if trust is None or not trust.cscas:
        return None, "unknown", "no_trust_anchors", "unknown"
    candidates = trust.issuers_of(dsc)
    if not candidates:
        return None, "fail", "csca_unknown", "unknown"
    verified = [
        csca
        for csca in candidates
        if signed_by(dsc.tbs, dsc.signature_algorithm, dsc.signature, csca)
    ]
    if not verified:
        return candidates[0], "fail", "dsc_signature_invalid", "unknown"
    usable = [c for c in verified if c.key_cert_sign is not False and (c.is_ca or _self_signed(c))]
    if not usable:
        return verified[0], "fail", "csca_not_a_ca", "unknown"
    current = [c for c in usable if c.valid_at(at)]
    if not current:
        return usable[0], "fail", "csca_not_valid_at_time", "unknown"
    csca = current[0]
    crls = trust.crls_of(csca)
    if not crls:
        return csca, "pass", None, "no_crl"
    if any(dsc.serial_number in item.revoked_serials for item in crls):
        return csca, "fail", "dsc_revoked", "revoked"
    if all(item.next_update is not None and item.next_update < at for item in crls):
        return csca, "pass", None, "not_revoked_crl_stale"
    return csca, "pass", None, "not_revoked"


def _self_signed(cert: CertificateInfo) -> bool:
    return same_name(cert.subject, cert.issuer)


def _read_contents(
    data_groups: Mapping[int, bytes], *, decode_face: bool, at: datetime
) -> tuple[Mrz | None, FaceInfo | None, bytes | None]:
    mrz = None
    if 1 in data_groups:
        try:
            mrz = parse_mrz(lds.parse_dg1(data_groups[1]), today=at.date(), tolerant=False)
        except DocumentError:
            mrz = None
    face = face_image = None
    if 2 in data_groups:
        try:
            image = lds.parse_dg2(data_groups[2])[0]
        except DocumentError:
            image = None
        if image is not None:
            face_image = image.data
            width, height = image.declared_width, image.declared_height
            decoded, error = False, None
            if decode_face:
                try:
                    pixels = lds.decode_face(image)
                    width, height, decoded = pixels.width, pixels.height, True
                except DocumentError as exc:
                    error = exc.code
            face = FaceInfo(
                image_format=image.image_format,
                mime_type=image.mime_type,
                record_format=image.record_format,
                size_bytes=len(image.data),
                width=width,
                height=height,
                decoded=decoded,
                decode_error=error,
            )
    return mrz, face, face_image
