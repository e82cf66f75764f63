"""Errors of per-bank flow control (:mod:`honnin.banks.flow`).

All are 503 with ``Retry-After`` (RFC 9110 §15.6.4, §10.2.3): the enterprise may try again
later, the bank itself is not to blame for the refusal. Messages name the bank id only.
"""

from __future__ import annotations

from typing import Any

from honnin.errors import HonninError


def retry_after_seconds(seconds: float) -> str:
    """An RFC 9110 §10.2.3 ``Retry-After`` delay: whole seconds, at least 1."""
    return str(max(1, int(seconds + 0.999)))


class FlowError(HonninError):
    code = "flow_control_error"
    status = 503

    def __init__(self, safe_message: str = "", *, retry_after: float = 1.0, **extra: Any) -> None:
        self.retry_after = retry_after
        headers = {"Retry-After": retry_after_seconds(retry_after)}
        super().__init__(safe_message, headers=headers, **extra)


class BankBusyError(FlowError):
    """The bank's in-flight cap and waiting queue are full, or the wait passed its deadline."""

    code = "bank_busy"


class BankUnavailableError(FlowError):
    """The bank's circuit breaker is open: recent calls failed, new ones fail fast."""

    code = "bank_unavailable"


class BankClosedError(FlowError):
    """An operator closed the bank (``honnin admin service close bank ...``)."""

    code = "bank_closed"


class BankDeadlineError(FlowError):
    """The bank did not answer within its ``timeout_seconds``; counts as a bank failure."""

    code = "bank_timeout"
    status = 504


class FlowBackendUnavailableError(FlowError):
    """The shared flow-control store (Redis) cannot be reached; bank calls fail closed."""

    code = "flow_control_unavailable"


class FlowConfigError(HonninError):
    """A bank flow setting is invalid (operator configuration)."""

    code = "bank_flow_config_invalid"
    status = 500
