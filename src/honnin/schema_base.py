"""Base for every request schema at the HTTP edge.

Strict: unknown fields are refused, and so are NUL characters in any string — PostgreSQL
text cannot hold them, so they would otherwise surface as database errors.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        if _has_nul(value):
            msg = "NUL characters are not allowed"
            raise ValueError(msg)
        return value


def _printable(value: str) -> str:
    if not value.isprintable():
        msg = "only printable characters are allowed"
        raise ValueError(msg)
    return value


# A purpose of use: it travels into contracts, the trace and the ledger, which all keep
# it as a printable label.
PurposeText = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_printable)]
