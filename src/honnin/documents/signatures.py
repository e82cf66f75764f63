"""Signature verification for passive authentication (ICAO 9303-12 §4.4 / Appendix A).

RSA PKCS#1 v1.5 and RSASSA-PSS (RFC 8017 §8), ECDSA (X9.62, DER ``Ecdsa-Sig-Value`` and
BSI TR-03111 plain r||s) on named or explicit-parameter curves (RFC 3279 §2.3.5). The fast
path is ``cryptography``; keys it refuses (explicit parameters of unknown curves, brainpool
curves OpenSSL lacks) are verified with the pure-Python ``ecdsa`` package.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import ecdsa
import ecdsa.ellipticcurve
import ecdsa.util
from asn1crypto import algos, keys
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_der_public_key

from honnin.documents.errors import UnsupportedAlgorithmError

Scheme = Literal["rsa_pkcs1v15", "rsa_pss", "ecdsa", "ecdsa_plain"]

DIGEST_OIDS: dict[str, str] = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}

# signature algorithm OID -> (scheme, hash; None = the signer info's digest algorithm)
_SIGNATURE_OIDS: dict[str, tuple[Scheme, str | None]] = {
    "1.2.840.113549.1.1.1": ("rsa_pkcs1v15", None),
    "1.2.840.113549.1.1.5": ("rsa_pkcs1v15", "sha1"),
    "1.2.840.113549.1.1.14": ("rsa_pkcs1v15", "sha224"),
    "1.2.840.113549.1.1.11": ("rsa_pkcs1v15", "sha256"),
    "1.2.840.113549.1.1.12": ("rsa_pkcs1v15", "sha384"),
    "1.2.840.113549.1.1.13": ("rsa_pkcs1v15", "sha512"),
    "1.2.840.113549.1.1.10": ("rsa_pss", None),
    "1.2.840.10045.2.1": ("ecdsa", None),  # id-ecPublicKey used as a signature OID
    "1.2.840.10045.4.1": ("ecdsa", "sha1"),
    "1.2.840.10045.4.3.1": ("ecdsa", "sha224"),
    "1.2.840.10045.4.3.2": ("ecdsa", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa", "sha512"),
    # BSI TR-03111 §5.2.1 ecdsa-plain-signatures
    "0.4.0.127.0.7.1.1.4.1.1": ("ecdsa_plain", "sha1"),
    "0.4.0.127.0.7.1.1.4.1.2": ("ecdsa_plain", "sha224"),
    "0.4.0.127.0.7.1.1.4.1.3": ("ecdsa_plain", "sha256"),
    "0.4.0.127.0.7.1.1.4.1.4": ("ecdsa_plain", "sha384"),
    "0.4.0.127.0.7.1.1.4.1.5": ("ecdsa_plain", "sha512"),
}

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

# ecdsa curve name -> cryptography curve, for explicit parameters that name a known curve.
_CRYPTOGRAPHY_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "NIST192p": ec.SECP192R1,
    "NIST224p": ec.SECP224R1,
    "NIST256p": ec.SECP256R1,
    "NIST384p": ec.SECP384R1,
    "NIST521p": ec.SECP521R1,
    "SECP256k1": ec.SECP256K1,
    "BRAINPOOLP256r1": ec.BrainpoolP256R1,
    "BRAINPOOLP384r1": ec.BrainpoolP384R1,
    "BRAINPOOLP512r1": ec.BrainpoolP512R1,
}


# ecdsa package curve names -> the names RFC 5639 / SEC 2 use.
_CURVE_NAMES = {
    "NIST192p": "secp192r1",
    "NIST224p": "secp224r1",
    "NIST256p": "secp256r1",
    "NIST384p": "secp384r1",
    "NIST521p": "secp521r1",
    "SECP256k1": "secp256k1",
}


def curve_name(ecdsa_name: str) -> str:
    if ecdsa_name.startswith("BRAINPOOL"):
        return "brainpool" + ecdsa_name[len("BRAINPOOL") :]
    return _CURVE_NAMES.get(ecdsa_name, ecdsa_name)


class BadSignatureError(Exception):
    """The signature does not verify (internal; callers turn it into a check result)."""


@dataclass(frozen=True)
class SignatureAlgorithm:
    scheme: Scheme
    hash_name: str
    pss_salt_length: int = 20
    pss_mgf_hash: str = "sha1"

    @property
    def name(self) -> str:
        if self.scheme == "rsa_pss":
            return (
                f"rsassa-pss-{self.hash_name}-mgf1-{self.pss_mgf_hash}-salt{self.pss_salt_length}"
            )
        return f"{self.scheme.replace('_', '-')}-{self.hash_name}"


_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError)


def digest_name(algorithm: algos.DigestAlgorithm) -> str:
    try:
        oid = algorithm["algorithm"].dotted
    except _ASN1_ERRORS as exc:
        msg = "digest algorithm identifier is malformed"
        raise UnsupportedAlgorithmError(msg) from exc
    name = DIGEST_OIDS.get(oid)
    if name is None:
        msg = "digest algorithm not supported"
        raise UnsupportedAlgorithmError(msg)
    return name


def digest(name: str, data: bytes) -> bytes:
    if name not in _HASHES:
        msg = "digest algorithm not supported"
        raise UnsupportedAlgorithmError(msg)
    return hashlib.new(name, data).digest()


def signature_algorithm(
    algorithm: algos.SignedDigestAlgorithm, *, default_hash: str | None = None
) -> SignatureAlgorithm:
    """Read a signatureAlgorithm; ``default_hash`` serves OIDs that name no hash."""
    try:
        return _signature_algorithm(algorithm, default_hash)
    except _ASN1_ERRORS as exc:
        msg = "signature algorithm identifier is malformed"
        raise UnsupportedAlgorithmError(msg) from exc


def _signature_algorithm(
    algorithm: algos.SignedDigestAlgorithm, default_hash: str | None
) -> SignatureAlgorithm:
    oid = algorithm["algorithm"].dotted
    known = _SIGNATURE_OIDS.get(oid)
    if known is None:
        msg = "signature algorithm not supported"
        raise UnsupportedAlgorithmError(msg)
    scheme, hash_name = known
    if scheme == "rsa_pss":
        params = algorithm["parameters"]
        if not isinstance(params, algos.RSASSAPSSParams):
            params = algos.RSASSAPSSParams.load(params.dump())
        hash_name = digest_name(params["hash_algorithm"])
        mgf = params["mask_gen_algorithm"]
        if mgf["algorithm"].native != "mgf1":
            msg = "RSASSA-PSS mask generation function not supported"
            raise UnsupportedAlgorithmError(msg)
        mgf_hash = digest_name(mgf["parameters"])
        if params["trailer_field"].native not in (1, "trailer_field_bc"):
            msg = "RSASSA-PSS trailer field not supported"
            raise UnsupportedAlgorithmError(msg)
        return SignatureAlgorithm("rsa_pss", hash_name, params["salt_length"].native, mgf_hash)
    if hash_name is None:
        if default_hash is None:
            msg = "signature algorithm names no digest"
            raise UnsupportedAlgorithmError(msg)
        hash_name = default_hash
    return SignatureAlgorithm(scheme, hash_name)


@dataclass(frozen=True)
class PublicKey:
    """A verification key, loaded once (the slow part) and reused."""

    algorithm: str  # "rsa" or "ec"
    description: str  # e.g. "rsa-2048", "ec-brainpoolP256r1 (explicit)"
    crypto_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | None
    ecdsa_key: ecdsa.VerifyingKey | None = None


_KEY_ERRORS = (
    *_ASN1_ERRORS,
    AssertionError,
    ecdsa.der.UnexpectedDER,
    ecdsa.errors.MalformedPointError,
    ecdsa.curves.UnknownCurveError,
)


def load_public_key(spki: keys.PublicKeyInfo) -> PublicKey:
    """Load a SubjectPublicKeyInfo (RSA, or EC with named/explicit parameters)."""
    try:
        return _load_public_key(spki)
    except _KEY_ERRORS as exc:
        msg = "public key cannot be loaded"
        raise UnsupportedAlgorithmError(msg) from exc


def _load_public_key(spki: keys.PublicKeyInfo) -> PublicKey:
    algorithm = spki["algorithm"]["algorithm"].native
    der = spki.dump()
    if algorithm in ("rsa", "rsassa_pss"):
        rsa_der = der
        if algorithm == "rsassa_pss":
            # id-RSASSA-PSS keys: the same RSAPublicKey under a different OID.
            rsa_der = keys.PublicKeyInfo(
                {
                    "algorithm": {"algorithm": "rsa"},
                    "public_key": spki["public_key"].parsed,
                }
            ).dump()
        try:
            key = load_der_public_key(rsa_der)
        except (ValueError, UnsupportedAlgorithm) as exc:
            msg = "RSA public key cannot be loaded"
            raise UnsupportedAlgorithmError(msg) from exc
        if not isinstance(key, rsa.RSAPublicKey):
            msg = "RSA public key cannot be loaded"
            raise UnsupportedAlgorithmError(msg)
        return PublicKey("rsa", f"rsa-{key.key_size}", key)
    if algorithm == "ec":
        return _load_ec(spki, der)
    msg = "public key algorithm not supported"
    raise UnsupportedAlgorithmError(msg)


def _load_ec(spki: keys.PublicKeyInfo, der: bytes) -> PublicKey:
    params = spki["algorithm"]["parameters"]
    point = spki["public_key"].native
    if params.name == "named":
        try:
            key = load_der_public_key(der)
        except (ValueError, UnsupportedAlgorithm):
            key = None
        if isinstance(key, ec.EllipticCurvePublicKey):
            return PublicKey("ec", f"ec-{key.curve.name}", key)
        try:
            vk = ecdsa.VerifyingKey.from_der(der)
        except _KEY_ERRORS as exc:
            msg = "EC curve not supported"
            raise UnsupportedAlgorithmError(msg) from exc
        return PublicKey("ec", f"ec-{curve_name(vk.curve.name)}", None, vk)
    if params.name == "specified":
        curve = _explicit_curve(params.chosen)
        vk = _ecdsa_key(curve, point)
        crypto_curve = _CRYPTOGRAPHY_CURVES.get(curve.name)
        crypto_key: ec.EllipticCurvePublicKey | None = None
        if crypto_curve is not None:
            x, y = vk.pubkey.point.x(), vk.pubkey.point.y()
            crypto_key = ec.EllipticCurvePublicNumbers(x, y, crypto_curve()).public_key()
        return PublicKey("ec", f"ec-{curve_name(curve.name)} (explicit)", crypto_key, vk)
    msg = "implicitCA EC parameters not supported"
    raise UnsupportedAlgorithmError(msg)


def _explicit_curve(params: keys.SpecifiedECDomain) -> ecdsa.curves.Curve:
    """The curve of explicit parameters: a known one when they match it, else built."""
    field_id = params["field_id"]
    if field_id["field_type"].native != "prime_field":
        msg = "characteristic-two EC fields not supported"
        raise UnsupportedAlgorithmError(msg)
    p = field_id["parameters"].native
    a = int.from_bytes(params["curve"]["a"].native, "big")
    b = int.from_bytes(params["curve"]["b"].native, "big")
    order = params["order"].native
    try:
        x, y = _decode_point(params["base"].native, (p.bit_length() + 7) // 8)
    except ValueError as exc:
        msg = "explicit EC parameters are inconsistent"
        raise UnsupportedAlgorithmError(msg) from exc
    for known in ecdsa.curves.curves:
        if not isinstance(known.curve, ecdsa.ellipticcurve.CurveFp):
            continue
        fp, gen = known.curve, known.generator
        # The generator counts too: a known curve with another base point is another
        # group (the "CurveBall" substitution, CVE-2020-0601).
        if (fp.p(), fp.a() % fp.p(), fp.b(), known.order, gen.x(), gen.y()) == (
            p, a % p, b, order, x, y
        ):  # fmt: skip
            return known
    cofactor = params["cofactor"].native or 1
    curve_fp = ecdsa.ellipticcurve.CurveFp(p, a, b, cofactor)
    try:
        generator = ecdsa.ellipticcurve.PointJacobi(curve_fp, x, y, 1, order, generator=True)
    except (AssertionError, ValueError) as exc:
        msg = "explicit EC parameters are inconsistent"
        raise UnsupportedAlgorithmError(msg) from exc
    return ecdsa.curves.Curve("unnamed", curve_fp, generator, None)


def _decode_point(encoded: bytes, size: int) -> tuple[int, int]:
    if len(encoded) != 1 + 2 * size or encoded[0] != 0x04:
        msg = "only uncompressed EC points are supported"
        raise ValueError(msg)
    return int.from_bytes(encoded[1 : 1 + size], "big"), int.from_bytes(encoded[1 + size :], "big")


def _ecdsa_key(curve: ecdsa.curves.Curve, point: bytes) -> ecdsa.VerifyingKey:
    try:
        return ecdsa.VerifyingKey.from_string(point, curve=curve)
    except (ecdsa.errors.MalformedPointError, ValueError, AssertionError) as exc:
        msg = "EC public point is not on the curve"
        raise UnsupportedAlgorithmError(msg) from exc


def verify(key: PublicKey, algorithm: SignatureAlgorithm, data: bytes, signature: bytes) -> None:
    """Raise :class:`BadSignatureError` unless ``signature`` over ``data`` verifies."""
    hash_cls = _HASHES.get(algorithm.hash_name)
    if hash_cls is None:
        msg = "digest algorithm not supported"
        raise UnsupportedAlgorithmError(msg)
    if key.algorithm == "rsa":
        if algorithm.scheme not in ("rsa_pkcs1v15", "rsa_pss"):
            raise BadSignatureError
        assert isinstance(key.crypto_key, rsa.RSAPublicKey)
        pad: padding.AsymmetricPadding = padding.PKCS1v15()
        if algorithm.scheme == "rsa_pss":
            mgf_hash = _HASHES.get(algorithm.pss_mgf_hash)
            if mgf_hash is None:
                msg = "digest algorithm not supported"
                raise UnsupportedAlgorithmError(msg)
            pad = padding.PSS(padding.MGF1(mgf_hash()), algorithm.pss_salt_length)
        try:
            key.crypto_key.verify(signature, data, pad, hash_cls())
        except (InvalidSignature, ValueError) as exc:
            raise BadSignatureError from exc
        return
    if algorithm.scheme not in ("ecdsa", "ecdsa_plain"):
        raise BadSignatureError
    _verify_ec(key, algorithm, hash_cls, data, signature)


def _verify_ec(
    key: PublicKey,
    algorithm: SignatureAlgorithm,
    hash_cls: type[hashes.HashAlgorithm],
    data: bytes,
    signature: bytes,
) -> None:
    if algorithm.scheme == "ecdsa_plain":
        if not signature or len(signature) % 2:
            raise BadSignatureError
        half = len(signature) // 2
        signature = encode_dss_signature(
            int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
        )
    if isinstance(key.crypto_key, ec.EllipticCurvePublicKey):
        try:
            key.crypto_key.verify(signature, data, ec.ECDSA(hash_cls()))
        except (InvalidSignature, ValueError) as exc:
            raise BadSignatureError from exc
        return
    assert key.ecdsa_key is not None
    digest_value = digest(algorithm.hash_name, data)
    try:
        ok = key.ecdsa_key.verify_digest(
            signature, digest_value, sigdecode=ecdsa.util.sigdecode_der, allow_truncate=True
        )
    except (ecdsa.BadSignatureError, ecdsa.der.UnexpectedDER, ValueError, AssertionError) as exc:
        raise BadSignatureError from exc
    if not ok:
        raise BadSignatureError
