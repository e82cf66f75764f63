"""Errors of the faces package: each has a stable ``code`` clients can branch on.

Messages are safe to log: they describe the input, never the person in it.
"""

from __future__ import annotations

from honnin.errors import HonninError


class FaceError(HonninError):
    """Base of every error raised by :mod:`honnin.faces`."""

    code = "face_error"
    status = 422


class CorruptImageError(FaceError):
    """The bytes are not a decodable JPEG, PNG or JPEG 2000 image."""

    code = "corrupt_image"
    status = 400


class TooManyPixelsError(FaceError):
    """The image (or a video frame) is larger than the configured pixel limit."""

    code = "too_many_pixels"
    status = 413


class NoFaceError(FaceError):
    """No face was found in an image that must show exactly one."""

    code = "no_face"


class MultipleFacesError(FaceError):
    """Several faces were found in an image that must show exactly one."""

    code = "multiple_faces"


class CorruptVideoError(FaceError):
    """The video cannot be decoded or holds no usable frame."""

    code = "corrupt_video"
    status = 400


class InvalidChallengeError(FaceError):
    """A liveness challenge is malformed, unknown, tampered with or expired."""

    code = "invalid_challenge"
    status = 400


class ModelNotFoundError(FaceError):
    """The dlib model files of ``face_recognition_models`` are not installed."""

    code = "face_models_missing"
    status = 500
