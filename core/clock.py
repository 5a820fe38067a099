"""Clocks. Everything that decides takes a ``Clock`` (or a ``now``); nothing reads the wall clock itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class WallClock:
    """Real UTC time, for live and paper runs. The only wall-clock reader in the core."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimClock:
    """Simulated time for backtests and tests: moves only forward, and only when told."""

    def __init__(self, start: datetime) -> None:
        _require_aware(start)
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance_to(self, at: datetime) -> None:
        """Move to ``at``; equal is allowed, earlier raises (a replay that goes back in time is a bug)."""
        _require_aware(at)
        if at < self._now:
            raise ValueError(f"simulated clock cannot go back from {self._now.isoformat()} to {at.isoformat()}")
        self._now = at

    def advance_by(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("simulated clock cannot go back")
        self._now = self._now + timedelta(seconds=seconds)


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("naive datetime: clocks work in tz-aware UTC")
