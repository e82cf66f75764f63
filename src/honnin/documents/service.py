"""Document use cases that do I/O: reading trust directories and chip files, running OCR.

The pure modules take bytes; this module reads them from disk and holds the OCR engine
(rapidocr with its bundled ONNX models), built once and reused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import pem

from honnin.documents import chip
from honnin.documents.card_fields import CardReading, OcrLine, read_fields
from honnin.documents.errors import OcrError, TrustStoreError
from honnin.documents.trust import TrustStore

CERTIFICATE_SUFFIXES = (".der", ".cer", ".crt", ".pem")
MASTER_LIST_SUFFIXES = (".ml", ".p7b", ".p7m")
CRL_SUFFIXES = (".crl",)
MAX_TRUST_FILE_BYTES = 10_000_000


def _der(data: bytes) -> list[bytes]:
    if pem.detect(data):
        return [der for _, _, der in pem.unarmor(data, multiple=True)]
    return [data]


def load_trust_store(directory: Path) -> TrustStore:
    """A trust store from a directory: CSCA certificates (``.der .cer .crt .pem``),
    CSCA master lists (``.ml .p7b .p7m``) and CRLs (``.crl``), searched recursively."""
    if not directory.is_dir():
        msg = "trust path is not a directory"
        raise TrustStoreError(msg)
    certificates: list[bytes] = []
    master_lists: list[bytes] = []
    crls: list[bytes] = []
    for path in sorted(directory.rglob("*")):
        suffix = path.suffix.lower()
        if not path.is_file() or path.stat().st_size > MAX_TRUST_FILE_BYTES:
            continue
        if suffix in CERTIFICATE_SUFFIXES:
            certificates.extend(_der(path.read_bytes()))
        elif suffix in MASTER_LIST_SUFFIXES:
            master_lists.extend(_der(path.read_bytes()))
        elif suffix in CRL_SUFFIXES:
            crls.extend(_der(path.read_bytes()))
    return TrustStore.build(csca_certificates=certificates, master_lists=master_lists, crls=crls)


def verify_chip_files(
    *,
    sod: Path,
    data_groups: Mapping[int, Path],
    trust_dir: Path | None,
    at: datetime,
) -> chip.ChipReport:
    trust = load_trust_store(trust_dir) if trust_dir is not None else None
    return chip.verify(
        sod.read_bytes(),
        {number: path.read_bytes() for number, path in data_groups.items()},
        trust=trust,
        at=at,
    )


MAX_IMAGE_BYTES = 20_000_000
MAX_IMAGE_PIXELS = 40_000_000
# The detector works on a downscaled copy; card text stays legible at this width.
OCR_MAX_SIDE = 1280


@dataclass
class CardReader:
    """Card-surface OCR: rapidocr detection + recognition, then field extraction.

    The engine loads three ONNX models (about a second); build one reader and reuse it.
    """

    engine: Any = None
    threads: int | None = None  # ONNX Runtime threads per model; None: all cores

    def _engine(self) -> Any:
        if self.engine is None:
            from rapidocr_onnxruntime import RapidOCR

            threads = {}
            if self.threads is not None:
                threads = {"intra_op_num_threads": self.threads, "inter_op_num_threads": 1}
            # The angle classifier is for upside-down text; cards are read upright.
            self.engine = RapidOCR(use_cls=False, print_verbose=False, **threads)
        return self.engine

    def read_lines(self, image: bytes) -> list[OcrLine]:
        pixels = decode_card_image(image)
        try:
            result, _ = self._engine()(pixels, use_cls=False)
        except (RuntimeError, ValueError) as exc:
            msg = "OCR engine failed on the image"
            raise OcrError(msg) from exc
        lines: list[OcrLine] = []
        for box, text, score in result or []:
            corners = tuple((float(x), float(y)) for x, y in box)
            lines.append(OcrLine(str(text), float(score), corners))
        return lines

    def read(self, image: bytes) -> CardReading:
        return read_fields(self.read_lines(image))


def decode_card_image(image: bytes) -> Any:
    """RGB pixels (numpy array) of an uploaded card photo, size- and pixel-limited."""
    import io
    import warnings

    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    from honnin.documents.errors import ImageDecodeError

    if len(image) > MAX_IMAGE_BYTES:
        msg = "image file is too large"
        raise ImageDecodeError(msg)
    errors = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError,
              Image.DecompressionBombWarning, Image.DecompressionBombError)  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(image))
    except errors as exc:
        msg = "image cannot be decoded"
        raise ImageDecodeError(msg) from exc
    if opened.width * opened.height > MAX_IMAGE_PIXELS:
        msg = "image exceeds the pixel limit"
        raise ImageDecodeError(msg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = ImageOps.exif_transpose(opened).convert("RGB")
    except errors as exc:
        msg = "image cannot be decoded"
        raise ImageDecodeError(msg) from exc
    picture.thumbnail((OCR_MAX_SIDE, OCR_MAX_SIDE))
    return np.asarray(picture)


@dataclass
class DocumentService:
    """What the eKYC use cases call: chip passive authentication against the deployment's
    trust store, and card OCR. Build once at start-up with :func:`create_document_service`.
    """

    trust: TrustStore | None
    reader: CardReader

    def verify_chip(
        self,
        sod: bytes,
        data_groups: Mapping[int, bytes],
        *,
        at: datetime,
        required_data_groups: tuple[int, ...] = (1, 2),
    ) -> chip.ChipReport:
        return chip.verify(
            sod, data_groups, trust=self.trust, at=at, required_data_groups=required_data_groups
        )

    def read_card(self, image: bytes) -> CardReading:
        return self.reader.read(image)


def create_document_service(
    *,
    trust_dir: Path | None = None,
    trust: TrustStore | None = None,
    ocr_threads: int | None = None,
) -> DocumentService:
    """The service from settings (``documents_trust_dir``, ``documents_ocr_threads``) or an
    explicit trust store (tests, the demo's sandbox CSCA)."""
    if trust is None and trust_dir is not None:
        trust = load_trust_store(trust_dir)
    return DocumentService(trust=trust, reader=CardReader(threads=ocr_threads))
