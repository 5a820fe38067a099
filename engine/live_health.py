"""The live loop's judgement of its streams, as pure values: when to dial again after a drop, and when drops
come so thick that they are a reconnect storm (the exchange breaker's business, not a reason to crash).

Times here are seconds of a monotonic counter (the event loop's): reconnects are about the network, which runs
on wall time whatever the exchange's clock says.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Backoff:
    """Capped exponential backoff between two dials of one stream: 0.2 s, 0.4 s ... ``cap_s``."""

    first_s: float = 0.2
    cap_s: float = 5.0
    _next_s: float = 0.0

    def next(self) -> float:
        self._next_s = self.first_s if self._next_s == 0 else min(self.cap_s, self._next_s * 2)
        return self._next_s

    def reset(self) -> None:
        self._next_s = 0.0


@dataclass
class ReconnectStorm:
    """``threshold`` drops within ``window_s`` is a storm; one storm is reported once, until the drops thin out.

    Streams that share a socket break together: drops within ``same_s`` of the last one counted are one drop."""

    threshold: int = 6
    window_s: float = 60.0
    same_s: float = 1.0
    _drops: deque[float] = field(default_factory=deque)
    _raging: bool = False

    def dropped(self, at_s: float) -> bool:
        """Count a drop; ``True`` exactly when this drop starts a storm."""
        if self._drops and at_s - self._drops[-1] < self.same_s:
            return False
        self._drops.append(at_s)
        while self._drops and self._drops[0] <= at_s - self.window_s:
            self._drops.popleft()
        if len(self._drops) < self.threshold:
            self._raging = False
            return False
        started, self._raging = not self._raging, True
        return started

    @property
    def drops_in_window(self) -> int:
        return len(self._drops)


@dataclass
class Pace:
    """Something due every ``every_s`` of exchange time, but never more often than every ``floor_wall_s`` of wall
    time: a venue replaying history 300 times faster than real time must not make the bot send 300 times the
    requests it sends to Binance (the request-weight budget is per wall minute)."""

    every_s: float
    floor_wall_s: float = 0.0
    _at: datetime | None = None
    _wall: float | None = None

    def due(self, now: datetime, wall: float) -> bool:
        exchange_ok = self._at is None or (now - self._at).total_seconds() >= self.every_s
        return exchange_ok and (self._wall is None or wall - self._wall >= self.floor_wall_s)

    def done(self, now: datetime, wall: float) -> None:
        self._at, self._wall = now, wall
