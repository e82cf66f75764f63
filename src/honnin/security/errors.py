"""Errors of the security primitives."""

from __future__ import annotations

from honnin.errors import HonninError


class SecurityError(HonninError):
    code = "security_error"
    status = 500


class DecryptionError(SecurityError):
    code = "decryption_failed"


class KeyConfigurationError(SecurityError):
    code = "key_configuration_error"
