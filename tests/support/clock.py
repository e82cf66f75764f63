"""A clock tests can move (the only fake time; production uses SystemClock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class MovableClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta()
        self._start = start

    def now(self) -> datetime:
        base = self._start or datetime.now(UTC)
        return base + self._offset

    def advance(self, delta: timedelta) -> None:
        self._offset += delta
