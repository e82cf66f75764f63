"""Errors of the documents package; messages never carry document data."""

from __future__ import annotations

from honnin.errors import HonninError


class DocumentError(HonninError):
    """Base of every documents error."""

    code = "document_error"
    status = 422


class MrzFormatError(DocumentError):
    """The text is not a TD1, TD2 or TD3 machine readable zone."""

    code = "mrz_malformed"


class AccessKeyInputError(DocumentError):
    """Inputs for a chip access key are missing or malformed."""

    code = "access_key_input_invalid"
    status = 400


class ChipDataError(DocumentError):
    """EF.SOD, a data group or a certificate is truncated or not the expected ASN.1."""

    code = "chip_data_malformed"


class TrustStoreError(DocumentError):
    """A CSCA certificate, master list or CRL of the trust store cannot be used."""

    code = "trust_store_invalid"


class UnsupportedAlgorithmError(DocumentError):
    """A signature, digest or key algorithm that passive authentication does not know."""

    code = "algorithm_unsupported"


class ImageDecodeError(DocumentError):
    """An image (face or card photo) cannot be decoded or exceeds the pixel limit."""

    code = "image_undecodable"


class OcrError(DocumentError):
    """The OCR engine could not read the card image."""

    code = "ocr_failed"
