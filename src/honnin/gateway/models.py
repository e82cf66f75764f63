"""Gateway tables: daily quota counters and operator closures.

Quota counters live in the database so a day's count survives restarts and is shared by
every process, whichever rate-limit store (memory or Redis) is configured.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from honnin.db import Base
from honnin.db.base import UTCDateTime


class QuotaUsage(Base):
    """Requests admitted for one enterprise, one API (and bank), one UTC day."""

    __tablename__ = "gateway_quota_usage"

    enterprise_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    api: Mapped[str] = mapped_column(String(160), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class ServiceClosure(Base):
    """An operator's closure of an API, a bank or an enterprise; deleted when reopened."""

    __tablename__ = "gateway_closures"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    target: Mapped[str] = mapped_column(String(128), primary_key=True)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    reopen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
    closed_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
