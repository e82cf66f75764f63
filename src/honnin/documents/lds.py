"""Logical Data Structure files: EF.COM, DG1, DG2 and EF.SOD (ICAO 9303-10, 9303-12).

EF.COM (tag 60): LDS and Unicode versions and the tag list (9303-10 §4.6.1). DG1 (tag 61):
the MRZ in 5F1F (§4.7.1). DG2 (tag 75): the biometric information group template 7F61 with
one or more 7F60 templates whose biometric data block (5F2E or 7F2E) is an ISO/IEC
19794-5 facial record ("FAC\\0"; §4.7.2); for ISO/IEC 39794-5 blocks and unknown headers
the JPEG / JPEG 2000 image is located by its signature. EF.SOD (tag 77): a CMS SignedData
whose content is the LDSSecurityObject (9303-10 §4.6.2.2, 9303-12 §4.6).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any, Literal

from asn1crypto import algos, cms, core

from honnin.documents.errors import ChipDataError, ImageDecodeError
from honnin.documents.tlv import Tlv, parse_file

TAG_COM = 0x60
TAG_SOD = 0x77
# Data group number -> file tag (9303-10 Table 34).
DG_TAGS: dict[int, int] = {
    1: 0x61, 2: 0x75, 3: 0x63, 4: 0x76, 5: 0x65, 6: 0x66, 7: 0x67, 8: 0x68,
    9: 0x69, 10: 0x6A, 11: 0x6B, 12: 0x6C, 13: 0x6D, 14: 0x6E, 15: 0x6F, 16: 0x70,
}  # fmt: skip
TAG_DGS = {tag: number for number, tag in DG_TAGS.items()}

OID_LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
OID_CSCA_MASTER_LIST = "2.23.136.1.1.2"

# Pillow refuses larger images; a face in DG2 is a few hundred pixels wide.
MAX_FACE_PIXELS = 4_000_000
# The ASN.1 parser recurses; anything parsed from a chip is bounded in size first.
MAX_FILE_BYTES = 1_000_000


class DataGroupHash(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012 - asn1crypto declares schemas as class lists
        ("data_group_number", core.Integer),
        ("data_group_hash_value", core.OctetString),
    ]


class DataGroupHashValues(core.SequenceOf):  # type: ignore[misc]
    _child_spec = DataGroupHash


class LDSVersionInfo(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012 - asn1crypto schema
        ("lds_version", core.PrintableString),
        ("unicode_version", core.PrintableString),
    ]


class LDSSecurityObject(core.Sequence):  # type: ignore[misc]
    """ICAO 9303-10 §4.6.2.2 (v0 without, v1 with ldsVersionInfo)."""

    _fields = [  # noqa: RUF012 - asn1crypto schema
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", DataGroupHashValues),
        ("lds_version_info", LDSVersionInfo, {"optional": True}),
    ]


# ---------------------------------------------------------------------- EF.COM / DG1


@dataclass(frozen=True)
class EfCom:
    lds_version: str
    unicode_version: str
    data_groups: tuple[int, ...]


def parse_com(data: bytes) -> EfCom:
    com = parse_file(data, TAG_COM)
    lds = com.require(0x5F01).value
    uni = com.require(0x5F36).value
    tags = com.require(0x5C).value
    groups = tuple(TAG_DGS[t] for t in tags if t in TAG_DGS)
    return EfCom(
        lds_version=_digits(lds, "LDS version"),
        unicode_version=_digits(uni, "Unicode version"),
        data_groups=groups,
    )


def _digits(raw: bytes, label: str) -> str:
    text = raw.decode("ascii", "replace")
    if not text.isdigit():
        msg = f"{label} is not digits"
        raise ChipDataError(msg)
    return text


def parse_dg1(data: bytes) -> str:
    """The MRZ text of DG1, lines separated by newlines (9303-10 §4.7.1)."""
    dg1 = parse_file(data, DG_TAGS[1])
    raw = dg1.require(0x5F1F).value
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        msg = "DG1 MRZ is not ASCII"
        raise ChipDataError(msg) from exc
    width = {90: 30, 72: 36, 88: 44}.get(len(text))
    if width is None:
        msg = "DG1 MRZ has a length of no MRZ format"
        raise ChipDataError(msg)
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))


# ---------------------------------------------------------------------- DG2


ImageFormat = Literal["jpeg", "jpeg2000"]

_JPEG_SOI = b"\xff\xd8\xff"
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_J2K_CODESTREAM = b"\xff\x4f\xff\x51"


@dataclass(frozen=True)
class FaceImage:
    """One face image of DG2 with what its record header declares."""

    image_format: ImageFormat
    data: bytes
    record_format: str  # "iso19794-5" or "signature-scan"
    declared_width: int | None = None
    declared_height: int | None = None

    @property
    def mime_type(self) -> str:
        return "image/jpeg" if self.image_format == "jpeg" else "image/jp2"


@dataclass(frozen=True)
class DecodedFace:
    width: int
    height: int
    mode: str
    rgb: bytes  # width*height*3 bytes, row-major, for face matching

    def summary(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "mode": self.mode}


def parse_dg2(data: bytes) -> tuple[FaceImage, ...]:
    """Every face image in DG2 (9303-10 §4.7.2, ISO/IEC 19794-5:2005 §5)."""
    dg2 = parse_file(data, DG_TAGS[2])
    group = dg2.require(0x7F61)
    faces: list[FaceImage] = []
    for template in group.children():
        if template.tag != 0x7F60:
            continue
        block = _bdb(template)
        faces.append(_face_from_block(block))
    if not faces:
        msg = "DG2 holds no biometric information template"
        raise ChipDataError(msg)
    return tuple(faces)


def _bdb(template: Tlv) -> bytes:
    for child in template.children():
        if child.tag in (0x5F2E, 0x7F2E):
            return child.value
    msg = "DG2 template has no biometric data block"
    raise ChipDataError(msg)


def _face_from_block(block: bytes) -> FaceImage:
    if block.startswith(b"FAC\x00"):
        return _iso19794_5(block)
    return _scan_for_image(block)


def _u(data: bytes, offset: int, size: int) -> int:
    if offset + size > len(data):
        msg = "truncated ISO 19794-5 facial record"
        raise ChipDataError(msg)
    return int.from_bytes(data[offset : offset + size], "big")


def _iso19794_5(block: bytes) -> FaceImage:
    """ISO/IEC 19794-5:2005: 14-byte general header, 20-byte facial information, feature
    points of 8 bytes each, 12-byte image information, then the image."""
    faces = _u(block, 12, 2)
    if faces < 1:
        msg = "ISO 19794-5 record declares no face"
        raise ChipDataError(msg)
    record = 14
    record_length = _u(block, record, 4)
    points = _u(block, record + 4, 2)
    image_info = record + 20 + 8 * points
    width = _u(block, image_info + 2, 2)
    height = _u(block, image_info + 4, 2)
    start = image_info + 12
    end = record + record_length
    if end > len(block) or end <= start:
        msg = "ISO 19794-5 facial record length is inconsistent"
        raise ChipDataError(msg)
    image = block[start:end]
    # The image data type byte (0 JPEG, 1 JPEG 2000) is mislabelled in the wild: the
    # bytes decide.
    sniffed = _sniff(image)
    if sniffed is None:
        msg = "face image is neither JPEG nor JPEG 2000"
        raise ChipDataError(msg)
    return FaceImage(sniffed, image, "iso19794-5", width, height)


def _sniff(image: bytes) -> ImageFormat | None:
    if image.startswith(_JPEG_SOI):
        return "jpeg"
    if image.startswith((_JP2_SIGNATURE, _J2K_CODESTREAM)):
        return "jpeg2000"
    return None


def _scan_for_image(block: bytes) -> FaceImage:
    """ISO/IEC 39794-5 and unknown headers: find the embedded image by its signature."""
    candidates = [
        (block.find(sig), fmt)
        for sig, fmt in (
            (_JPEG_SOI, "jpeg"),
            (_JP2_SIGNATURE, "jpeg2000"),
            (_J2K_CODESTREAM, "jpeg2000"),
        )
    ]
    found = [(pos, fmt) for pos, fmt in candidates if pos >= 0]
    if not found:
        msg = "no JPEG or JPEG 2000 image in the biometric data block"
        raise ChipDataError(msg)
    pos, fmt = min(found)
    image_format: ImageFormat = "jpeg" if fmt == "jpeg" else "jpeg2000"
    return FaceImage(image_format, block[pos:], "signature-scan")


def decode_face(face: FaceImage, *, max_pixels: int = MAX_FACE_PIXELS) -> DecodedFace:
    """Decode a DG2 face (JPEG or JPEG 2000 via Pillow/OpenJPEG) to RGB pixels."""
    from PIL import Image, UnidentifiedImageError

    errors = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError,
              Image.DecompressionBombWarning, Image.DecompressionBombError)  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(face.data))
    except errors as exc:
        msg = "face image cannot be decoded"
        raise ImageDecodeError(msg) from exc
    if image.width * image.height > max_pixels:
        msg = "face image exceeds the pixel limit"
        raise ImageDecodeError(msg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            rgb = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError,
            Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:  # fmt: skip
        msg = "face image cannot be decoded"
        raise ImageDecodeError(msg) from exc
    return DecodedFace(rgb.width, rgb.height, image.mode, rgb.tobytes())


# ---------------------------------------------------------------------- EF.SOD


@dataclass(frozen=True)
class SignerInfoData:
    """What passive authentication needs of the SignerInfo, read eagerly."""

    issuer: Any  # asn1crypto x509.Name or None
    serial_number: int | None
    subject_key_identifier: bytes | None
    digest_algorithm: algos.DigestAlgorithm
    signature_algorithm: algos.SignedDigestAlgorithm
    signature: bytes
    signed_attributes: bytes | None  # DER of the SET OF, as signed
    content_type: str | None
    message_digest: bytes | None


@dataclass(frozen=True)
class Sod:
    """EF.SOD read eagerly: malformed input fails here, not during verification."""

    lds_digest_algorithm: algos.DigestAlgorithm
    data_group_hashes: dict[int, bytes]
    lds_version: str | None
    unicode_version: str | None
    encapsulated_content: bytes
    encapsulated_content_type: str
    signer: SignerInfoData
    certificates: tuple[bytes, ...]


def parse_signed_data(data: bytes, *, label: str) -> cms.SignedData:
    if len(data) > MAX_FILE_BYTES:
        msg = f"{label} is too large"
        raise ChipDataError(msg)
    try:
        info = cms.ContentInfo.load(data, strict=True)
        content_type = info["content_type"].native
        signed = info["content"]
        # Touch the parts every caller reads so structural errors surface here.
        signed["encap_content_info"]["content_type"].dotted  # noqa: B018
        len(signed["signer_infos"])
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError,
            RecursionError) as exc:  # fmt: skip
        msg = f"{label} is not valid ASN.1 / CMS"
        raise ChipDataError(msg) from exc
    if content_type != "signed_data" or not isinstance(signed, cms.SignedData):
        msg = f"{label} is not CMS SignedData"
        raise ChipDataError(msg)
    return signed


def parse_sod(data: bytes) -> Sod:
    """Parse EF.SOD (tag 77 around a ContentInfo); a bare ContentInfo is accepted too."""
    if len(data) > MAX_FILE_BYTES:
        msg = "EF.SOD is too large"
        raise ChipDataError(msg)
    content_info = data
    if data[:1] == bytes([TAG_SOD]):
        content_info = parse_file(data, TAG_SOD).value
    signed = parse_signed_data(content_info, label="EF.SOD")
    try:
        return _read_sod(signed)
    except ChipDataError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError,
            RecursionError) as exc:  # fmt: skip
        msg = "EF.SOD content is not a valid LDSSecurityObject"
        raise ChipDataError(msg) from exc


def _read_sod(signed: cms.SignedData) -> Sod:
    encap = signed["encap_content_info"]
    content_type = encap["content_type"].dotted
    if content_type != OID_LDS_SECURITY_OBJECT:
        msg = "EF.SOD does not encapsulate an LDSSecurityObject"
        raise ChipDataError(msg)
    content = encap["content"]
    raw = content.native if content else None
    if not isinstance(raw, bytes):
        msg = "EF.SOD has no encapsulated content"
        raise ChipDataError(msg)
    lds = LDSSecurityObject.load(raw, strict=True)
    lds.native  # noqa: B018 - force the parse inside the guard
    signed["digest_algorithms"].native  # noqa: B018
    hashes: dict[int, bytes] = {}
    for item in lds["data_group_hash_values"]:
        number = item["data_group_number"].native
        if not 1 <= number <= 16 or number in hashes:
            msg = "LDSSecurityObject lists an invalid or repeated data group"
            raise ChipDataError(msg)
        hashes[number] = item["data_group_hash_value"].native
    version_info = lds["lds_version_info"]
    signer_infos = signed["signer_infos"]
    if len(signer_infos) != 1:
        msg = "EF.SOD must have exactly one SignerInfo"
        raise ChipDataError(msg)
    certificates = tuple(
        cert.chosen.dump() for cert in signed["certificates"] or [] if cert.name == "certificate"
    )
    return Sod(
        lds_digest_algorithm=lds["hash_algorithm"],
        data_group_hashes=hashes,
        lds_version=version_info["lds_version"].native if version_info else None,
        unicode_version=version_info["unicode_version"].native if version_info else None,
        encapsulated_content=raw,
        encapsulated_content_type=content_type,
        signer=read_signer_info(signer_infos[0]),
        certificates=certificates,
    )


def read_signer_info(signer_info: cms.SignerInfo) -> SignerInfoData:
    """Read a SignerInfo eagerly (RFC 5652 §5.3)."""
    sid = signer_info["sid"]
    issuer = serial = ski = None
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"]
        serial = sid.chosen["serial_number"].native
    else:
        ski = sid.chosen.native
    attrs = signer_info["signed_attrs"]
    signed_attributes = content_type = message_digest = None
    if attrs is not None and len(attrs):
        # RFC 5652 §5.4: the signature covers the attributes with an explicit SET OF tag.
        signed_attributes = b"\x31" + attrs.dump()[1:]
        for attr in attrs:
            oid = attr["type"].dotted
            values = attr["values"]
            if len(values) != 1:
                msg = "signed attribute must have one value"
                raise ChipDataError(msg)
            if oid == "1.2.840.113549.1.9.3":
                content_type = values[0].dotted
            elif oid == "1.2.840.113549.1.9.4":
                message_digest = values[0].native
    # Algorithm identifiers parse lazily; read them now, inside the caller's guard.
    signer_info["digest_algorithm"].native  # noqa: B018
    signer_info["signature_algorithm"].native  # noqa: B018
    return SignerInfoData(
        issuer=issuer,
        serial_number=serial,
        subject_key_identifier=ski,
        digest_algorithm=signer_info["digest_algorithm"],
        signature_algorithm=signer_info["signature_algorithm"],
        signature=signer_info["signature"].native,
        signed_attributes=signed_attributes,
        content_type=content_type,
        message_digest=message_digest,
    )


def data_group_number(data: bytes) -> int | None:
    """The data group a file's first tag says it is, or None."""
    return TAG_DGS.get(data[0]) if data else None
