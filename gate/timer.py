"""The timer layer: one deadline, armed by the agent's schedule or, without one, at the maximum interval.

``armed_at + timer_min_s <= deadline <= armed_at + timer_max_s`` always holds: the agent's request is
clamped into that range, and every granted wake re-arms the timer at the maximum interval until the
agent's next schedule replaces it (so a decision that sets nothing still gets looked at again). The
first deadline is start-up plus the maximum interval, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class TimerSource(StrEnum):
    STARTUP = "startup"
    AFTER_WAKE = "after_wake"
    AGENT = "agent"


@dataclass(slots=True)
class Timer:
    armed_at_ts: float
    deadline_ts: float
    source: TimerSource
    requested_s: int | None = None

    @classmethod
    def arm(cls, now_ts: float, interval_s: int, source: TimerSource, requested_s: int | None = None) -> Timer:
        return cls(armed_at_ts=now_ts, deadline_ts=now_ts + interval_s, source=source, requested_s=requested_s)

    def due(self, now_ts: float) -> bool:
        return now_ts >= self.deadline_ts

    def describe(self) -> str:
        interval = self.deadline_ts - self.armed_at_ts
        if self.source is TimerSource.AGENT:
            asked = f"asked {self.requested_s} s" if self.requested_s is not None else "no interval asked"
            return f"timer: the agent's next check is due ({asked}, armed for {interval:g} s)"
        return f"timer: {interval:g} s since the {self.source.value.replace('_', ' ')} without another look"

    def to_state(self) -> dict[str, Any]:
        return {
            "armed_at_ts": self.armed_at_ts,
            "deadline_ts": self.deadline_ts,
            "source": self.source.value,
            "requested_s": self.requested_s,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Timer:
        return cls(
            armed_at_ts=float(state["armed_at_ts"]),
            deadline_ts=float(state["deadline_ts"]),
            source=TimerSource(state["source"]),
            requested_s=state["requested_s"],
        )


@dataclass(slots=True)
class GateClock:
    """The gate's notion of time: the latest event time it was given (it never goes back)."""

    now_ts: float
    last_market_ts: float
    """When the last market event (candle or price) arrived; the feed-stale watchdog measures from it."""
    last_wake_ts: float | None = None
    stale_reported: bool = False
    """The current silence already produced its ``feed_stale`` wake (cleared by the next market event)."""

    @classmethod
    def starting(cls, now_ts: float) -> GateClock:
        return cls(now_ts=now_ts, last_market_ts=now_ts)

    def advance(self, ts: float, *, market: bool) -> float:
        """Move to ``ts`` (an out-of-order earlier time is held at the latest one) and return the time now."""
        self.now_ts = max(self.now_ts, ts)
        if market:
            self.last_market_ts = self.now_ts
            self.stale_reported = False
        return self.now_ts

    def to_state(self) -> dict[str, Any]:
        return {
            "now_ts": self.now_ts,
            "last_market_ts": self.last_market_ts,
            "last_wake_ts": self.last_wake_ts,
            "stale_reported": self.stale_reported,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> GateClock:
        last_wake = state["last_wake_ts"]
        return cls(
            now_ts=float(state["now_ts"]),
            last_market_ts=float(state["last_market_ts"]),
            last_wake_ts=None if last_wake is None else float(last_wake),
            stale_reported=bool(state["stale_reported"]),
        )


def seconds_of(at: datetime) -> float:
    """UNIX seconds of a tz-aware time (the gate's clock)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: the gate works in tz-aware UTC")
    return at.timestamp()


def datetime_of(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def at_of(given: datetime | None, now_ts: float) -> datetime:
    """The event's own datetime when the gate's clock did not have to hold it back, else the clock's."""
    if given is not None and given.timestamp() == now_ts:
        return given
    return datetime_of(now_ts)
