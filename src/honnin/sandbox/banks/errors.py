"""Errors of the sandbox banks (configuration and rendering; OAuth errors use RFC 6749 §5.2)."""

from __future__ import annotations

from honnin.errors import HonninError


class SandboxBankError(HonninError):
    """Base of every sandbox-bank error."""

    code = "sandbox_bank_error"
    status = 500


class UnknownBankError(SandboxBankError):
    code = "unknown_sandbox_bank"
    status = 404


class ClientConfigError(SandboxBankError):
    """A client registration is incomplete or contradictory."""

    code = "invalid_client_registration"
    status = 400


class FaultConfigError(SandboxBankError):
    """A fault-injection request names an unknown kind or target, or bad numbers."""

    code = "invalid_fault"
    status = 400


class RenderError(SandboxBankError):
    """A customer record cannot be written in a bank's format."""

    code = "sandbox_render_error"
    status = 500


class BankStartError(SandboxBankError):
    """A sandbox bank (or the interop provider) did not start."""

    code = "sandbox_bank_start_failed"
    status = 500
