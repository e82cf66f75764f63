"""CSCA trust anchors, CSCA master lists and CRLs (ICAO 9303-12 §4, §7, §8; RFC 5280).

A :class:`TrustStore` holds CSCA certificates (loaded individually or from a CSCA master
list, 9303-12 §8: CMS SignedData over ``CscaMasterList``) and CRLs. Certificates are read
eagerly into :class:`CertificateInfo` so verification never meets lazy ASN.1 errors, and
their public keys are loaded once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from asn1crypto import core, crl, x509

from honnin.documents import signatures
from honnin.documents.errors import ChipDataError, DocumentError, TrustStoreError
from honnin.documents.lds import OID_CSCA_MASTER_LIST, read_signer_info

_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError,
                RecursionError)  # fmt: skip


@dataclass(frozen=True)
class CertificateInfo:
    """A certificate read eagerly, with its public key loaded."""

    der: bytes
    subject: x509.Name
    issuer: x509.Name
    serial_number: int
    not_before: datetime
    not_after: datetime
    subject_key_identifier: bytes | None
    authority_key_identifier: bytes | None
    is_ca: bool
    key_cert_sign: bool | None  # None: no keyUsage extension
    public_key: signatures.PublicKey
    tbs: bytes
    signature_algorithm: Any  # asn1crypto algos.SignedDigestAlgorithm
    signature: bytes
    subject_text: str = ""
    issuer_text: str = ""
    country: str | None = None

    def valid_at(self, at: datetime) -> bool:
        return self.not_before <= at <= self.not_after

    def summary(self) -> dict[str, Any]:
        return {
            "subject": self.subject_text,
            "issuer": self.issuer_text,
            "country": self.country,
            "serial_number": format(self.serial_number, "x"),
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "public_key": self.public_key.description,
            "signature_algorithm": signature_name(self.signature_algorithm),
            "subject_key_identifier": (
                self.subject_key_identifier.hex() if self.subject_key_identifier else None
            ),
        }


_DN_KEYS = {
    "country_name": "C",
    "organization_name": "O",
    "organizational_unit_name": "OU",
    "common_name": "CN",
    "serial_number": "serialNumber",
    "locality_name": "L",
    "state_or_province_name": "ST",
}


def distinguished_name(name: x509.Name) -> str:
    """RFC 4514 string (last RDN first), e.g. ``CN=CSCA,O=State,C=JP``."""
    parts: list[str] = []
    for rdn in reversed(list(name.chosen)):
        for attribute in rdn:
            key = attribute["type"].native
            value = attribute["value"].native
            label = _DN_KEYS.get(key, attribute["type"].dotted)
            text = str(value).replace("\\", "\\\\").replace(",", "\\,").replace("+", "\\+")
            parts.append(f"{label}={text}")
    return ",".join(parts)


def same_name(a: x509.Name, b: x509.Name) -> bool:
    """RFC 5280 §7.1 name matching; identical encodings (the usual case) short-cut it."""
    if a.dump() == b.dump():
        return True
    try:
        return bool(a == b)
    except _ASN1_ERRORS:
        return False


def _country(name: x509.Name) -> str | None:
    value = name.native.get("country_name")
    return value if isinstance(value, str) else None


def signature_name(algorithm: Any) -> str:
    try:
        return signatures.signature_algorithm(algorithm, default_hash="sha256").name
    except DocumentError:
        return str(algorithm["algorithm"].dotted)


@functools.lru_cache(maxsize=512)
def load_certificate(der: bytes, *, label: str = "certificate") -> CertificateInfo:
    """Read a DER X.509 certificate; malformed or unsupported input raises cleanly.

    Results are memoised by encoding: a document signer signs many documents, and the
    parsed certificate (with its loaded key) is immutable.
    """
    try:
        cert = x509.Certificate.load(der, strict=True)
        cert["signature_algorithm"].native  # noqa: B018 - parse now, inside the guard
        tbs = cert["tbs_certificate"]
        validity = tbs["validity"]
        basic = cert.basic_constraints_value
        key_usage = cert.key_usage_value
        aki = cert.authority_key_identifier
        info = CertificateInfo(
            der=der,
            subject=tbs["subject"],
            issuer=tbs["issuer"],
            serial_number=tbs["serial_number"].native,
            not_before=validity["not_before"].native,
            not_after=validity["not_after"].native,
            subject_key_identifier=cert.key_identifier,
            authority_key_identifier=aki,
            is_ca=bool(basic and basic["ca"].native),
            key_cert_sign=None if key_usage is None else "key_cert_sign" in key_usage.native,
            public_key=signatures.load_public_key(tbs["subject_public_key_info"]),
            tbs=tbs.dump(),
            signature_algorithm=cert["signature_algorithm"],
            signature=cert["signature_value"].native,
            # Names are read now, inside the guard: a malformed one fails the load.
            subject_text=distinguished_name(tbs["subject"]),
            issuer_text=distinguished_name(tbs["issuer"]),
            country=_country(tbs["subject"]),
        )
    except DocumentError:
        raise
    except _ASN1_ERRORS as exc:
        msg = f"{label} is not a valid X.509 certificate"
        raise ChipDataError(msg) from exc
    return info


def signed_by(child_tbs: bytes, algorithm: Any, signature: bytes, issuer: CertificateInfo) -> bool:
    """Whether ``issuer``'s key verifies a certificate or CRL signature."""
    try:
        alg = signatures.signature_algorithm(algorithm)
        signatures.verify(issuer.public_key, alg, child_tbs, signature)
    except (signatures.BadSignatureError, DocumentError):
        return False
    return True


def issued_by(child: CertificateInfo, issuer: CertificateInfo) -> bool:
    """Name chaining plus key identifier match (when both sides carry one)."""
    if not same_name(child.issuer, issuer.subject):
        return False
    if child.authority_key_identifier and issuer.subject_key_identifier:
        return child.authority_key_identifier == issuer.subject_key_identifier
    return True


@dataclass(frozen=True)
class RevocationList:
    issuer: x509.Name
    this_update: datetime
    next_update: datetime | None
    revoked_serials: frozenset[int]
    tbs: bytes
    signature_algorithm: Any
    signature: bytes
    authority_key_identifier: bytes | None


def load_crl(der: bytes) -> RevocationList:
    try:
        item = crl.CertificateList.load(der, strict=True)
        item["signature_algorithm"].native  # noqa: B018 - parse now, inside the guard
        tbs = item["tbs_cert_list"]
        revoked = tbs["revoked_certificates"]
        serials = frozenset(entry["user_certificate"].native for entry in revoked or [])
        next_update = tbs["next_update"].native if tbs["next_update"] else None
        return RevocationList(
            issuer=tbs["issuer"],
            this_update=tbs["this_update"].native,
            next_update=next_update,
            revoked_serials=serials,
            tbs=tbs.dump(),
            signature_algorithm=item["signature_algorithm"],
            signature=item["signature"].native,
            authority_key_identifier=item.authority_key_identifier,
        )
    except _ASN1_ERRORS as exc:
        msg = "CRL is not a valid X.509 CertificateList"
        raise TrustStoreError(msg) from exc


class _CertificateSet(core.SetOf):  # type: ignore[misc]
    _child_spec = x509.Certificate


class CscaMasterList(core.Sequence):  # type: ignore[misc]
    """ICAO 9303-12 §8.2.1: ``CscaMasterList ::= SEQUENCE { version, certList }``."""

    _fields = [  # noqa: RUF012 - asn1crypto schema
        ("version", core.Integer),
        ("cert_list", _CertificateSet),
    ]


def parse_master_list(data: bytes) -> tuple[CertificateInfo, ...]:
    """CSCA certificates of a master list whose signature verifies.

    The master list signer certificate (in the SignedData) must verify the signature and be
    issued by one of the CSCA certificates the list itself carries (9303-12 §8.2.2).
    """
    from honnin.documents.lds import parse_signed_data

    signed = parse_signed_data(data, label="CSCA master list")
    try:
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != OID_CSCA_MASTER_LIST:
            msg = "SignedData is not a CSCA master list"
            raise TrustStoreError(msg)
        raw = encap["content"].native
        if not isinstance(raw, bytes):
            msg = "CSCA master list has no content"
            raise TrustStoreError(msg)
        master = CscaMasterList.load(raw, strict=True)
        cert_ders = [cert.dump() for cert in master["cert_list"]]
        signer_infos = signed["signer_infos"]
        if len(signer_infos) != 1:
            msg = "CSCA master list must have one SignerInfo"
            raise TrustStoreError(msg)
        signer = read_signer_info(signer_infos[0])
        signer_certs = [
            c.chosen.dump() for c in signed["certificates"] or [] if c.name == "certificate"
        ]
    except DocumentError:
        raise
    except _ASN1_ERRORS as exc:
        msg = "CSCA master list is not valid ASN.1"
        raise TrustStoreError(msg) from exc
    cscas = tuple(load_certificate(der, label="master list CSCA") for der in cert_ders)
    candidates = [load_certificate(der, label="master list signer") for der in signer_certs]
    signer_cert = _match_signer(signer, candidates)
    if signer_cert is None:
        msg = "CSCA master list signer certificate not found"
        raise TrustStoreError(msg)
    if not _cms_signature_ok(signer, encap_content=raw, key_cert=signer_cert):
        msg = "CSCA master list signature does not verify"
        raise TrustStoreError(msg)
    if not any(
        issued_by(signer_cert, csca)
        and signed_by(signer_cert.tbs, signer_cert.signature_algorithm, signer_cert.signature, csca)
        for csca in cscas
    ):
        msg = "CSCA master list signer is not issued by a CSCA of the list"
        raise TrustStoreError(msg)
    return cscas


def _match_signer(signer: Any, candidates: list[CertificateInfo]) -> CertificateInfo | None:
    for cert in candidates:
        if signer.subject_key_identifier is not None:
            if cert.subject_key_identifier == signer.subject_key_identifier:
                return cert
        elif cert.serial_number == signer.serial_number and same_name(cert.issuer, signer.issuer):
            return cert
    return None


def _cms_signature_ok(signer: Any, *, encap_content: bytes, key_cert: CertificateInfo) -> bool:
    try:
        digest_name = signatures.digest_name(signer.digest_algorithm)
        alg = signatures.signature_algorithm(signer.signature_algorithm, default_hash=digest_name)
        if signer.signed_attributes is not None:
            if signer.message_digest != signatures.digest(digest_name, encap_content):
                return False
            signed_data = signer.signed_attributes
        else:
            signed_data = encap_content
        signatures.verify(key_cert.public_key, alg, signed_data, signer.signature)
    except (signatures.BadSignatureError, DocumentError):
        return False
    return True


@dataclass(frozen=True)
class TrustStore:
    """CSCA anchors and CRLs. Build with :meth:`build`; the store is immutable."""

    cscas: tuple[CertificateInfo, ...]
    crls: tuple[RevocationList, ...] = ()
    _by_subject: dict[bytes, tuple[CertificateInfo, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def build(
        cls,
        *,
        csca_certificates: Iterable[bytes] = (),
        master_lists: Iterable[bytes] = (),
        crls: Iterable[bytes] = (),
    ) -> TrustStore:
        anchors = [load_certificate(der, label="CSCA certificate") for der in csca_certificates]
        for master_list in master_lists:
            anchors.extend(parse_master_list(master_list))
        by_subject: dict[bytes, list[CertificateInfo]] = {}
        for anchor in anchors:
            by_subject.setdefault(anchor.subject.dump(), []).append(anchor)
        return cls(
            cscas=tuple(anchors),
            crls=tuple(load_crl(der) for der in crls),
            _by_subject={key: tuple(value) for key, value in by_subject.items()},
        )

    def issuers_of(self, cert: CertificateInfo) -> tuple[CertificateInfo, ...]:
        candidates = self._by_subject.get(cert.issuer.dump(), ())
        if not candidates:
            # Names that differ only in encoding still compare equal in asn1crypto.
            candidates = tuple(c for c in self.cscas if same_name(c.subject, cert.issuer))
        return tuple(c for c in candidates if issued_by(cert, c))

    def crls_of(self, csca: CertificateInfo) -> tuple[RevocationList, ...]:
        """CRLs that ``csca`` issued and signed (unsigned or foreign CRLs are ignored)."""
        return tuple(
            item
            for item in self.crls
            if same_name(item.issuer, csca.subject)
            and signed_by(item.tbs, item.signature_algorithm, item.signature, csca)
        )
