"""The live loop's cadence and its judgement of its streams, as pure values: how often it does what, when to dial
again after a drop, when to stop asking for market data over REST, and when drops come so thick that they are a
reconnect storm (the exchange breaker's business, not a reason to crash).

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


@dataclass
class RestPause:
    """Market data over REST refused outright (Binance's 418 ban, ccxt's "a human must look"): no market request
    for ``pause_s`` wall seconds, then try again. The loop opens the exchange breaker meanwhile; the run goes on
    (its stops rest on the exchange, and the guard's own reads have their breaker)."""

    pause_s: float = 60.0
    _until: float | None = None

    def active(self, wall: float) -> bool:
        return self._until is not None and wall < self._until

    def start(self, wall: float) -> None:
        self._until = wall + self.pause_s


@dataclass(frozen=True)
class Cadence:
    """How often the loop does what (exchange-clock seconds unless the name says wall)."""

    safety_interval_s: float = 30.0
    """At most this long between two guard passes, and between two timer ticks (the gate's timer and feed
    watchdog)."""
    tick_interval_s: float = 10.0
    """A price tick through the whole engine (the gate's price conditions) at most this often per symbol."""
    guard_tick_wall_s: float = 0.5
    """While a position or an entry is open, the guard looks at every new price, at most this often (wall seconds):
    a pass (it reads the position and its orders) when the price may make safety act, else nothing to send."""
    guard_fallback_wall_s: float = 5.0
    """The pass that waits for no news (every ``safety_interval_s``: REST as the fallback of the user-data stream)
    at most this often in wall time (a venue replaying at 300x would otherwise make it every ``guard_tick_wall_s``;
    request weight is budgeted per wall minute)."""
    floor_wall_s: float = 1.0
    """Timer ticks and price ticks through the engine at most this often in wall time, whatever the exchange's
    clock says (a venue replaying at 300x would otherwise ask for 300 times the requests)."""
    stream_silence_s: float = 300.0
    """No market message for this long: the market sockets are closed and dialled again (the gate's
    ``feed_stale`` wake and alert come from the same silence; wiring sets it to ``gate.feed_stale_s``)."""
    time_sync_wall_s: float = 2.0
    """Wall seconds between two reads of the exchange's time (its clock moves on while the streams are quiet)."""
    idle_wall_s: float = 0.25
    """Wall seconds the loop waits for news before it looks at its timers again."""
    stop_grace_wall_s: float = 5.0
    """On stop (SIGTERM), wall seconds the step and the guard pass in progress may take to finish before they are
    cancelled (a request waiting for the budget's next window, or hanging, must not keep the process, and a standby
    waiting for its leases, beyond this)."""
