"""Clocks. Everything that decides takes a ``Clock`` (or a ``now``); nothing reads the wall clock itself."""

from __future__ import annotations

import time
from collections.abc import Callable
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


class ExchangeClock:
    """The exchange's time, for live runs: what the exchange last said the time was, moved on at the rate of a
    monotonic counter between two of its messages, and never backwards.

    Against Binance this is wall time as Binance keeps it; against a local venue that replays history at a
    speed (``tradewake venue serve``) it is the venue's replayed time, so a candle is closed when the venue says
    it closed, not when the wall clock would (``docs/venue.md``, "Whose clock"). Feed it every exchange
    timestamp the run sees (stream events, the server time) through :meth:`observe`.
    """

    def __init__(self, start: datetime, elapsed: Callable[[], float] = time.monotonic) -> None:
        _require_aware(start)
        self._elapsed = elapsed
        self._anchor = start
        self._anchor_elapsed = elapsed()

    def now(self) -> datetime:
        return self._anchor + timedelta(seconds=max(0.0, self._elapsed() - self._anchor_elapsed))

    def observe(self, at: datetime) -> None:
        """The exchange said it is at least ``at``: jump there when that is ahead of our reckoning."""
        _require_aware(at)
        if at > self.now():
            self._anchor, self._anchor_elapsed = at, self._elapsed()
