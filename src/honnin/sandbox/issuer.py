"""Test document issuer: a CSCA, document signers, eMRTD chips and card-surface images.

Everything here is for tests and the demo. The PKI follows ICAO 9303-12 (CSCA self-signed
with keyCertSign/cRLSign, DSC with digitalSignature, SKI/AKI), chips follow 9303-10
(EF.COM, DG1 MRZ, DG2 ISO/IEC 19794-5 face in JPEG or JPEG 2000, EF.SOD as CMS SignedData
over an LDSSecurityObject with signed attributes), master lists follow 9303-12 §8 and CRLs
RFC 5280 §5. Card images are rendered with Debian's Japanese fonts (IPA Gothic / Mincho,
VL Gothic) and the MRZ in OCR-B (fonts-ocr-b).

Python API (reused by later tests of eKYC sessions)::

    issuer = TestIssuer.create(now=..., profile="rsa2048")
    chip = issuer.issue_chip(holder, face=jpeg_bytes)
    report = honnin.documents.chip.verify(chip.sod, chip.data_groups,
                                          trust=issuer.trust_store(), at=now)
    card = render_card("mynumber", holder, face=jpeg_bytes)
"""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import ecdsa
import ecdsa.util
from asn1crypto import cms, crl, keys, x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from honnin.documents import lds, mrz, tlv
from honnin.documents.trust import TrustStore

KeyProfile = Literal[
    "rsa2048",
    "rsa2048-pss",
    "rsa3072",
    "ecdsa-p256",
    "ecdsa-p384",
    "ecdsa-brainpoolp256r1",
    "ecdsa-brainpoolp256r1-explicit",
    "ecdsa-brainpoolp224r1",
]
KEY_PROFILES: tuple[str, ...] = KeyProfile.__args__  # type: ignore[attr-defined]
DocumentKind = Literal["passport", "mynumber", "driver_license", "residence_card"]
DOCUMENT_KINDS: tuple[str, ...] = DocumentKind.__args__  # type: ignore[attr-defined]

_HASH_OIDS = {"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512"}
_CRYPTO_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha1": hashes.SHA1(),  # noqa: S303 - older ePassports sign with SHA-1; tests need them
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
_TWO_LETTER = {"JPN": "JP", "UTO": "UT", "D": "DE", "USA": "US"}


# ------------------------------------------------------------------------------ keys


@dataclass(frozen=True)
class SigningKey:
    """A private key of one profile with its SubjectPublicKeyInfo."""

    profile: str
    private_key: Any = field(repr=False)  # cryptography private key or ecdsa.SigningKey
    spki: bytes

    @classmethod
    def generate(cls, profile: str) -> SigningKey:
        if profile not in KEY_PROFILES:
            msg = f"unknown key profile {profile!r} (known: {', '.join(KEY_PROFILES)})"
            raise ValueError(msg)
        if profile.startswith("rsa"):
            bits = 3072 if profile == "rsa3072" else 2048
            key: Any = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            return cls(profile, key, _crypto_spki(key))
        if profile == "ecdsa-brainpoolp224r1":
            # OpenSSL as bundled with cryptography has no brainpoolP224r1: the pure path.
            sk = ecdsa.SigningKey.generate(curve=ecdsa.curves.BRAINPOOLP224r1)
            return cls(profile, sk, sk.get_verifying_key().to_der())
        curve: ec.EllipticCurve = {
            "ecdsa-p256": ec.SECP256R1(),
            "ecdsa-p384": ec.SECP384R1(),
            "ecdsa-brainpoolp256r1": ec.BrainpoolP256R1(),
            "ecdsa-brainpoolp256r1-explicit": ec.BrainpoolP256R1(),
        }[profile]
        key = ec.generate_private_key(curve)
        if profile.endswith("-explicit"):
            return cls(profile, key, _explicit_spki(key))
        return cls(profile, key, _crypto_spki(key))

    def signature_algorithm(self, hash_name: str) -> dict[str, Any]:
        if self.profile == "rsa2048-pss":
            return {
                "algorithm": "rsassa_pss",
                "parameters": {
                    "hash_algorithm": {"algorithm": hash_name},
                    "mask_gen_algorithm": {
                        "algorithm": "mgf1",
                        "parameters": {"algorithm": hash_name},
                    },
                    "salt_length": _CRYPTO_HASHES[hash_name].digest_size,
                    "trailer_field": 1,
                },
            }
        if self.profile.startswith("rsa"):
            return {"algorithm": f"{hash_name}_rsa"}
        return {"algorithm": f"{hash_name}_ecdsa"}

    def sign(self, data: bytes, hash_name: str) -> bytes:
        algorithm = _CRYPTO_HASHES[hash_name]
        if isinstance(self.private_key, ecdsa.SigningKey):
            return bytes(
                self.private_key.sign_deterministic(
                    data,
                    hashfunc=getattr(hashlib, hash_name),
                    sigencode=ecdsa.util.sigencode_der,
                )
            )
        if isinstance(self.private_key, rsa.RSAPrivateKey):
            pad: padding.AsymmetricPadding = padding.PKCS1v15()
            if self.profile == "rsa2048-pss":
                pad = padding.PSS(padding.MGF1(algorithm), algorithm.digest_size)
            return self.private_key.sign(data, pad, algorithm)
        assert isinstance(self.private_key, ec.EllipticCurvePrivateKey)
        return self.private_key.sign(data, ec.ECDSA(algorithm))


def _crypto_spki(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _explicit_spki(key: ec.EllipticCurvePrivateKey) -> bytes:
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return explicit_ec_spki(ecdsa.curves.BRAINPOOLP256r1, point)


def explicit_ec_spki(curve: ecdsa.curves.Curve, point: bytes) -> bytes:
    """RFC 3279 §2.3.5 SpecifiedECDomain, as many ePassport DSCs carry them."""
    fp = curve.curve
    size = (fp.p().bit_length() + 7) // 8
    gen = curve.generator
    params = keys.SpecifiedECDomain(
        {
            "version": "ecdpVer1",
            "field_id": {"field_type": "prime_field", "parameters": fp.p()},
            "curve": {
                "a": (fp.a() % fp.p()).to_bytes(size, "big"),
                "b": fp.b().to_bytes(size, "big"),
            },
            "base": b"\x04" + gen.x().to_bytes(size, "big") + gen.y().to_bytes(size, "big"),
            "order": curve.order,
            "cofactor": 1,
        }
    )
    info = keys.PublicKeyInfo(
        {
            "algorithm": {
                "algorithm": "ec",
                "parameters": keys.ECDomainParameters(name="specified", value=params),
            },
            "public_key": point,
        }
    )
    return bytes(info.dump())


def _key_id(spki: bytes) -> bytes:
    bits = keys.PublicKeyInfo.load(spki)["public_key"].contents[1:]
    return hashlib.sha1(bits, usedforsecurity=False).digest()


def _name(country: str, organisation: str, common_name: str) -> x509.Name:
    two = _TWO_LETTER.get(country, country[:2])
    return x509.Name.build(
        {
            "country_name": two,
            "organization_name": organisation,
            "common_name": common_name,
        }
    )


def build_certificate(
    *,
    subject: x509.Name,
    issuer: x509.Name,
    subject_spki: bytes,
    issuer_key: SigningKey,
    issuer_spki: bytes,
    serial_number: int,
    not_before: datetime,
    not_after: datetime,
    ca: bool,
    hash_name: str = "sha256",
) -> bytes:
    """An X.509 v3 certificate built field by field (any key encoding, any profile)."""
    extensions: list[dict[str, Any]] = [
        {"extn_id": "key_identifier", "critical": False, "extn_value": _key_id(subject_spki)},
        {
            "extn_id": "authority_key_identifier",
            "critical": False,
            "extn_value": {"key_identifier": _key_id(issuer_spki)},
        },
        {
            "extn_id": "key_usage",
            "critical": True,
            "extn_value": {"key_cert_sign", "crl_sign"} if ca else {"digital_signature"},
        },
    ]
    if ca:
        extensions.append(
            {
                "extn_id": "basic_constraints",
                "critical": True,
                "extn_value": {"ca": True, "path_len_constraint": 0},
            }
        )
    signature_algorithm = issuer_key.signature_algorithm(hash_name)
    tbs = x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial_number,
            "signature": signature_algorithm,
            "issuer": issuer,
            "validity": {
                "not_before": x509.Time(name="utc_time", value=not_before),
                "not_after": x509.Time(name="utc_time", value=not_after),
            },
            "subject": subject,
            "subject_public_key_info": keys.PublicKeyInfo.load(subject_spki),
            "extensions": extensions,
        }
    )
    signature = issuer_key.sign(tbs.dump(), hash_name)
    cert = x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": signature_algorithm,
            "signature_value": signature,
        }
    )
    return bytes(cert.dump())


# ------------------------------------------------------------------------------ holders


@dataclass(frozen=True)
class Holder:
    """The person and document data printed on a card and written to a chip."""

    surname: str  # Latin, as in the MRZ
    given_names: str
    birth_date: date
    sex: Literal["M", "F", "X"]
    document_number: str
    expiry_date: date
    issue_date: date
    nationality: str = "JPN"
    issuing_state: str = "JPN"
    name_kanji: str = ""  # "山田 花子"; empty for Latin-only documents
    address: str = ""
    security_code: str = "1234"  # My Number card (password B)
    nationality_ja: str = "日本"


_SURNAMES = (
    ("山田", "YAMADA"), ("佐藤", "SATO"), ("鈴木", "SUZUKI"), ("高橋", "TAKAHASHI"),
    ("田中", "TANAKA"), ("伊藤", "ITO"), ("渡辺", "WATANABE"), ("中村", "NAKAMURA"),
    ("小林", "KOBAYASHI"), ("加藤", "KATO"), ("吉田", "YOSHIDA"), ("松本", "MATSUMOTO"),
    ("井上", "INOUE"), ("木村", "KIMURA"), ("林", "HAYASHI"), ("清水", "SHIMIZU"),
)  # fmt: skip
_GIVEN = ((("花子", "HANAKO"), "F"), (("太郎", "TARO"), "M"), (("一郎", "ICHIRO"), "M"),
          (("美穂", "MIHO"), "F"), (("健太", "KENTA"), "M"), (("陽子", "YOKO"), "F"),
          (("大輔", "DAISUKE"), "M"), (("直美", "NAOMI"), "F"), (("翔太", "SHOTA"), "M"),
          (("由美", "YUMI"), "F"), (("誠", "MAKOTO"), "M"), (("恵子", "KEIKO"), "F"))  # fmt: skip
# Addresses in kanji the bundled (Chinese + Latin) recogniser has in its dictionary, except
# 県 and 宮, which card_fields restores; see docs/documents.md on kanji it cannot read.
_ADDRESSES = (
    "東京都千代田区永田町{a}丁目{b}番{c}号", "大阪府大阪市北区梅田{a}丁目{b}番{c}号",
    "北海道札幌市中央区北一条西{a}丁目{b}番地", "神奈川県横浜市中区本町{a}丁目{b}番地{c}",
    "宮城県仙台市青葉区本町{a}丁目{b}番{c}号", "千葉県千葉市中央区中央{a}丁目{b}番{c}号",
    "愛知県名古屋市中区錦{a}丁目{b}番{c}号", "京都府京都市中京区寺町{b}番地",
    "兵庫県姫路市本町{b}番地", "奈良県奈良市登大路町{b}番地",
)  # fmt: skip
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def sample_holder(seed: int, *, today: date | None = None) -> Holder:
    """A deterministic fictional holder (names, dates, numbers, address) for ``seed``."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    today = today or date(2026, 1, 1)
    kanji_surname, latin_surname = rng.choice(_SURNAMES)
    (kanji_given, latin_given), sex = rng.choice(_GIVEN)
    birth = date(rng.randint(1935, 2005), rng.randint(1, 12), rng.randint(1, 28))
    issue = today - timedelta(days=rng.randint(30, 1500))
    expiry = date(issue.year + rng.choice((5, 10)), issue.month, min(issue.day, 28))
    letters = rng.choice(_LETTERS) + rng.choice(_LETTERS)
    number = letters + "".join(rng.choice("0123456789") for _ in range(7))
    address = rng.choice(_ADDRESSES).format(
        a=rng.randint(1, 9), b=rng.randint(1, 30), c=rng.randint(1, 20)
    )
    return Holder(
        surname=latin_surname,
        given_names=latin_given,
        birth_date=birth,
        sex="F" if sex == "F" else "M",
        document_number=number,
        expiry_date=expiry,
        issue_date=issue,
        name_kanji=f"{kanji_surname} {kanji_given}",
        address=address,
        security_code=f"{rng.randint(0, 9999):04d}",
    )


def holder_mrz(holder: Holder, *, kind: Literal["passport", "id_card"] = "passport") -> str:
    """The holder's MRZ: TD3 for a passport, TD1 for an ID card."""
    fields = mrz.MrzFields(
        document_code="P" if kind == "passport" else "ID",
        issuing_state=holder.issuing_state,
        surname=holder.surname,
        given_names=holder.given_names,
        document_number=holder.document_number,
        nationality=holder.nationality,
        birth_date=holder.birth_date,
        sex=holder.sex,
        expiry_date=holder.expiry_date,
    )
    return mrz.compose("TD3" if kind == "passport" else "TD1", fields)


# ------------------------------------------------------------------------------ chips


@dataclass(frozen=True)
class IssuedChip:
    """The files of one generated chip, as a reader would return them."""

    ef_com: bytes
    data_groups: dict[int, bytes]
    sod: bytes
    mrz: str

    def files(self) -> dict[str, bytes]:
        out = {"EF.COM": self.ef_com, "EF.SOD": self.sod}
        out.update({f"DG{n}": data for n, data in sorted(self.data_groups.items())})
        return out


def ef_com(data_groups: Iterable[int], *, lds_version: str = "0107") -> bytes:
    tags = bytes(lds.DG_TAGS[n] for n in sorted(data_groups))
    return tlv.encode(
        lds.TAG_COM,
        tlv.encode(0x5F01, lds_version.encode())
        + tlv.encode(0x5F36, b"040000")
        + tlv.encode(0x5C, tags),
    )


def dg1(mrz_text: str) -> bytes:
    return tlv.encode(
        lds.DG_TAGS[1], tlv.encode(0x5F1F, mrz_text.replace("\n", "").encode("ascii"))
    )


def face_record(image: bytes, *, width: int, height: int, jpeg2000: bool) -> bytes:
    """ISO/IEC 19794-5:2005 facial record with one full-frontal image, no feature points."""
    facial = (
        (20 + 12 + len(image)).to_bytes(4, "big")
        + (0).to_bytes(2, "big")  # feature points
        + bytes([0, 0, 0])  # gender, eye colour, hair colour unspecified
        + bytes(3)  # property mask
        + bytes(2)  # expression
        + bytes(3)  # pose angles
        + bytes(3)  # pose angle uncertainty
        + bytes([1, 1 if jpeg2000 else 0])  # full frontal; JPEG 2000 or JPEG
        + width.to_bytes(2, "big")
        + height.to_bytes(2, "big")
        + bytes([1, 2])  # 24-bit RGB; captured by a digital still camera
        + bytes(2)  # device type
        + bytes(2)  # quality
        + image
    )
    header = b"FAC\x00010\x00" + (14 + len(facial)).to_bytes(4, "big") + (1).to_bytes(2, "big")
    return header + facial


def dg2(image: bytes, *, width: int, height: int, jpeg2000: bool) -> bytes:
    header = (
        tlv.encode(0x80, b"\x01\x01")  # ICAO header version
        + tlv.encode(0x81, b"\x02")  # biometric type: facial features
        + tlv.encode(0x87, b"\x01\x01")  # format owner: ISO/IEC JTC 1/SC 37
        + tlv.encode(0x88, b"\x00\x08")  # format type: face image
    )
    template = tlv.encode(0xA1, header) + tlv.encode(
        0x5F2E, face_record(image, width=width, height=height, jpeg2000=jpeg2000)
    )
    group = tlv.encode(0x02, b"\x01") + tlv.encode(0x7F60, template)
    return tlv.encode(lds.DG_TAGS[2], tlv.encode(0x7F61, group))


def encode_face(
    photo: bytes, *, jpeg2000: bool = False, max_side: int = 480
) -> tuple[bytes, int, int]:
    """Re-encode a photo for DG2: RGB, at most ``max_side`` pixels, JPEG or JPEG 2000."""
    from PIL import Image

    image = Image.open(io.BytesIO(photo)).convert("RGB")
    image.thumbnail((max_side, max_side))
    out = io.BytesIO()
    if jpeg2000:
        image.save(out, format="JPEG2000", quality_mode="rates", quality_layers=[20])
    else:
        image.save(out, format="JPEG", quality=85)
    return out.getvalue(), image.width, image.height


def lds_security_object(
    data_groups: dict[int, bytes], *, hash_name: str, with_version: bool = False
) -> bytes:
    values = [
        {
            "data_group_number": number,
            "data_group_hash_value": hashlib.new(hash_name, data).digest(),
        }
        for number, data in sorted(data_groups.items())
    ]
    content: dict[str, Any] = {
        "version": 1 if with_version else 0,
        "hash_algorithm": {"algorithm": _HASH_OIDS[hash_name]},
        "data_group_hash_values": values,
    }
    if with_version:
        content["lds_version_info"] = {"lds_version": "0108", "unicode_version": "040000"}
    return bytes(lds.LDSSecurityObject(content).dump())


def signed_data(
    *,
    content: bytes,
    content_type: str,
    signer_key: SigningKey,
    signer_certificate: bytes,
    hash_name: str = "sha256",
    certificates: Sequence[bytes] | None = None,
) -> bytes:
    """CMS SignedData (RFC 5652) with contentType and messageDigest signed attributes."""
    cert = x509.Certificate.load(signer_certificate)
    signed_attrs = cms.CMSAttributes(
        [
            {"type": "content_type", "values": [content_type]},
            {"type": "message_digest", "values": [hashlib.new(hash_name, content).digest()]},
        ]
    )
    signature = signer_key.sign(signed_attrs.dump(), hash_name)
    signer_info = {
        "version": "v1",
        "sid": cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value={"issuer": cert.issuer, "serial_number": cert.serial_number},
        ),
        "digest_algorithm": {"algorithm": hash_name},
        "signed_attrs": signed_attrs,
        "signature_algorithm": signer_key.signature_algorithm(hash_name),
        "signature": signature,
    }
    chosen = [signer_certificate] if certificates is None else list(certificates)
    signed = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": hash_name}],
            "encap_content_info": {"content_type": content_type, "content": content},
            "certificates": [x509.Certificate.load(c) for c in chosen],
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


@dataclass(frozen=True)
class TestIssuer:
    """A test country's CSCA and one document signer (DSC)."""

    country: str
    csca_key: SigningKey
    csca_certificate: bytes
    dsc_key: SigningKey
    dsc_certificate: bytes
    dsc_serial: int

    __test__ = False  # not a pytest test class

    @classmethod
    def create(
        cls,
        *,
        now: datetime,
        profile: str = "rsa2048",
        csca_profile: str | None = None,
        country: str = "JPN",
        dsc_valid_days: int = 3650,
        csca_valid_days: int = 5475,
        hash_name: str = "sha256",
    ) -> TestIssuer:
        csca_key = SigningKey.generate(csca_profile or profile)
        csca_name = _name(country, "Honnin Sandbox", f"Sandbox CSCA {country}")
        csca_cert = build_certificate(
            subject=csca_name,
            issuer=csca_name,
            subject_spki=csca_key.spki,
            issuer_key=csca_key,
            issuer_spki=csca_key.spki,
            serial_number=1,
            not_before=now - timedelta(days=30),
            not_after=now + timedelta(days=csca_valid_days),
            ca=True,
            hash_name=hash_name,
        )
        issuer = cls(country, csca_key, csca_cert, csca_key, b"", 0)
        return issuer.with_new_dsc(
            profile=profile,
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=dsc_valid_days),
            hash_name=hash_name,
        )

    def with_new_dsc(
        self,
        *,
        profile: str,
        not_before: datetime,
        not_after: datetime,
        serial_number: int | None = None,
        hash_name: str = "sha256",
    ) -> TestIssuer:
        """The same CSCA with a fresh document signer (e.g. an expired one for a test)."""
        dsc_key = SigningKey.generate(profile)
        serial = serial_number or random.SystemRandom().randrange(2, 2**63)
        csca_name = x509.Certificate.load(self.csca_certificate).subject
        dsc_cert = build_certificate(
            subject=_name(self.country, "Honnin Sandbox", f"Sandbox DSC {serial:x}"),
            issuer=csca_name,
            subject_spki=dsc_key.spki,
            issuer_key=self.csca_key,
            issuer_spki=self.csca_key.spki,
            serial_number=serial,
            not_before=not_before,
            not_after=not_after,
            ca=False,
            hash_name=hash_name,
        )
        return replace(self, dsc_key=dsc_key, dsc_certificate=dsc_cert, dsc_serial=serial)

    def trust_store(self, *, crls: Iterable[bytes] = ()) -> TrustStore:
        return TrustStore.build(csca_certificates=[self.csca_certificate], crls=crls)

    def issue_chip(
        self,
        holder: Holder,
        *,
        face: bytes,
        kind: Literal["passport", "id_card"] = "passport",
        jpeg2000: bool = False,
        hash_name: str = "sha256",
        mrz_text: str | None = None,
    ) -> IssuedChip:
        """A chip with EF.COM, DG1 (the holder's MRZ), DG2 (``face``) and EF.SOD."""
        text = mrz_text or holder_mrz(holder, kind=kind)
        image, width, height = encode_face(face, jpeg2000=jpeg2000)
        groups = {1: dg1(text), 2: dg2(image, width=width, height=height, jpeg2000=jpeg2000)}
        return IssuedChip(
            ef_com=ef_com(groups),
            data_groups=groups,
            sod=self.sign_sod(groups, hash_name=hash_name),
            mrz=text,
        )

    def sign_sod(self, data_groups: dict[int, bytes], *, hash_name: str = "sha256") -> bytes:
        content = lds_security_object(data_groups, hash_name=hash_name)
        info = signed_data(
            content=content,
            content_type=lds.OID_LDS_SECURITY_OBJECT,
            signer_key=self.dsc_key,
            signer_certificate=self.dsc_certificate,
            hash_name=hash_name,
        )
        return tlv.encode(lds.TAG_SOD, info)

    def crl(
        self, *, revoked: Iterable[int] = (), this_update: datetime, next_update: datetime
    ) -> bytes:
        """A CRL of this CSCA (RFC 5280 §5) revoking the given DSC serial numbers."""
        csca = x509.Certificate.load(self.csca_certificate)
        algorithm = self.csca_key.signature_algorithm("sha256")
        tbs = crl.TbsCertList(
            {
                "version": "v2",
                "signature": algorithm,
                "issuer": csca.subject,
                "this_update": x509.Time(name="utc_time", value=this_update),
                "next_update": x509.Time(name="utc_time", value=next_update),
                "revoked_certificates": [
                    {
                        "user_certificate": serial,
                        "revocation_date": x509.Time(name="utc_time", value=this_update),
                    }
                    for serial in revoked
                ]
                or None,
            }
        )
        signature = self.csca_key.sign(tbs.dump(), "sha256")
        return bytes(
            crl.CertificateList(
                {"tbs_cert_list": tbs, "signature_algorithm": algorithm, "signature": signature}
            ).dump()
        )

    def master_list(self, cscas: Sequence[bytes], *, now: datetime) -> bytes:
        """A CSCA master list (9303-12 §8) signed by a signer this CSCA issues."""
        from honnin.documents.trust import CscaMasterList

        signer_key = SigningKey.generate("ecdsa-p256")
        csca_name = x509.Certificate.load(self.csca_certificate).subject
        signer_cert = build_certificate(
            subject=_name(self.country, "Honnin Sandbox", "Sandbox Master List Signer"),
            issuer=csca_name,
            subject_spki=signer_key.spki,
            issuer_key=self.csca_key,
            issuer_spki=self.csca_key.spki,
            serial_number=random.SystemRandom().randrange(2, 2**63),
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=365),
            ca=False,
        )
        content = CscaMasterList(
            {"version": 0, "cert_list": [x509.Certificate.load(c) for c in cscas]}
        ).dump()
        return signed_data(
            content=bytes(content),
            content_type=lds.OID_CSCA_MASTER_LIST,
            signer_key=signer_key,
            signer_certificate=signer_cert,
        )


def default_face(shared_dir: Path, name: str = "obama/obama_1.jpg") -> bytes:
    """A face photo of the shared test data (../shared/data/faces)."""
    return (shared_dir / "data" / "faces" / name).read_bytes()


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)
