"""The root of every Honnin error.

Each package defines its own base deriving from :class:`HonninError`; the gateway
translates them to RFC 9457 problem details once. ``safe_message`` is the only text that
may reach a client or a log line, so it never carries personal data.
"""

from __future__ import annotations

from typing import Any, ClassVar


class HonninError(Exception):
    """Base error with a stable machine ``code``, an HTTP ``status`` and a safe message."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = ""

    def __init__(self, safe_message: str = "", **extra: Any) -> None:
        self.safe_message = safe_message or self.default_message()
        self.extra = extra
        super().__init__(self.safe_message)

    @classmethod
    def default_message(cls) -> str:
        return cls.title or cls.code.replace("_", " ")


class InvalidRequestError(HonninError):
    code = "invalid_request"
    status = 400
