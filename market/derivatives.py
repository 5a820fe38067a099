"""Perpetual-futures context: funding rate, open interest, long/short ratio, per symbol.

Everything is keyed by symbol (``BTC/USDT:USDT``): readings, history, polling state. Nothing here
talks to an exchange; :mod:`market.ccxt_rest` fetches readings, :class:`DerivativesPoller` decides
when, and :class:`DerivativesHistory` answers "what was known at ``as_of``" for snapshots (the latest
reading stamped at or before ``as_of``: no look-ahead).

Polling is adaptive: :func:`next_poll_interval` is a pure function that shortens the interval when
values move (funding rate, open interest or the long/short ratio changed by more than a threshold
since the previous reading) and lengthens it when they are quiet, within ``[min_s, max_s]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import AwareDatetime, BaseModel, ConfigDict

from core.errors import TemporaryError
from core.ids import Symbol
from core.timeframes import datetime_to_ms, ms_to_datetime
from market.candles import CandleDataError
from market.snapshot import DerivativesView


class DerivativesReading(BaseModel):
    """One observation for one symbol at ``at`` (each value optional: not every source has all)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: Symbol
    at: AwareDatetime
    funding_rate: float | None = None
    next_funding_at: AwareDatetime | None = None
    mark_price: float | None = None
    open_interest: float | None = None
    """Open interest in base-asset units."""
    long_short_ratio: float | None = None
    """Accounts long / accounts short (Binance global long/short account ratio)."""


class DerivativesHistory:
    """Readings of one symbol in time order; ``view_at(as_of)`` never looks past ``as_of``."""

    def __init__(self, symbol: Symbol, readings: Iterable[DerivativesReading] = ()) -> None:
        self.symbol = symbol
        self._readings: list[DerivativesReading] = []
        self._times: list[int] = []
        for reading in readings:
            self.append(reading)

    def __len__(self) -> int:
        return len(self._readings)

    def append(self, reading: DerivativesReading) -> None:
        if reading.symbol != self.symbol:
            raise ValueError(f"reading for {reading.symbol} appended to the history of {self.symbol}")
        at_ms = datetime_to_ms(reading.at)
        if self._times and at_ms < self._times[-1]:
            raise ValueError(f"reading at {reading.at.isoformat()} is older than the last one")
        self._readings.append(reading)
        self._times.append(at_ms)

    @property
    def readings(self) -> tuple[DerivativesReading, ...]:
        return tuple(self._readings)

    def until(self, as_of: datetime) -> DerivativesHistory:
        """The readings stamped at or before ``as_of``, as a new history."""
        i = int(np.searchsorted(np.asarray(self._times, dtype="int64"), datetime_to_ms(as_of), side="right"))
        return DerivativesHistory(self.symbol, self._readings[:i])

    def latest(self, as_of: datetime) -> tuple[DerivativesReading | None, DerivativesReading | None]:
        """The latest reading at or before ``as_of`` and the one before it."""
        i = int(np.searchsorted(np.asarray(self._times, dtype="int64"), datetime_to_ms(as_of), side="right"))
        current = self._readings[i - 1] if i >= 1 else None
        previous = self._readings[i - 2] if i >= 2 else None
        return current, previous

    def view_at(self, as_of: datetime) -> DerivativesView | None:
        current, previous = self.latest(as_of)
        if current is None:
            return None
        oi_change = None
        if previous is not None and previous.open_interest and current.open_interest is not None:
            oi_change = round(100.0 * (current.open_interest / previous.open_interest - 1.0), 6)
        return DerivativesView(
            symbol=current.symbol,
            at=current.at,
            funding_rate=current.funding_rate,
            next_funding_at=current.next_funding_at,
            mark_price=current.mark_price,
            open_interest=current.open_interest,
            open_interest_change_pct=oi_change,
            long_short_ratio=current.long_short_ratio,
        )


def load_funding_csv(path: Path | str, symbol: Symbol) -> DerivativesHistory:
    """A ``timestamp,funding_rate`` file (ms since the epoch) as a history of funding readings."""
    frame = pd.read_csv(path, dtype={"timestamp": "int64", "funding_rate": "float64"})
    if list(frame.columns) != ["timestamp", "funding_rate"]:
        raise CandleDataError(f"{path}: expected header timestamp,funding_rate")
    if not frame["timestamp"].is_monotonic_increasing:
        raise CandleDataError(f"{path}: funding timestamps are not in time order")
    return DerivativesHistory(
        symbol,
        (
            DerivativesReading(symbol=symbol, at=ms_to_datetime(int(t)), funding_rate=float(r))
            for t, r in zip(frame["timestamp"], frame["funding_rate"], strict=True)
        ),
    )


# ---------------------------------------------------------------- adaptive polling


@dataclass(frozen=True)
class PollPolicy:
    """Interval bounds and what counts as "moving".

    Defaults: 5 min normally, between 30 s and 15 min; a funding change of half a basis point
    (0.00005 in rate units; the usual rate is 0.0001 per 8 h), an open-interest change of 1 % or a
    long/short ratio change of 2 % since the previous reading halves the interval; a quiet reading
    lengthens it by half.
    """

    base_s: float = 300.0
    min_s: float = 30.0
    max_s: float = 900.0
    funding_move: float = 0.00005
    open_interest_move_pct: float = 1.0
    long_short_move_pct: float = 2.0
    speed_up: float = 0.5
    slow_down: float = 1.5


def is_moving(previous: DerivativesReading | None, current: DerivativesReading, policy: PollPolicy) -> bool:
    """True when any value moved more than its threshold since ``previous``."""
    if previous is None:
        return False
    if _changed_abs(previous.funding_rate, current.funding_rate) >= policy.funding_move:
        return True
    if _changed_pct(previous.open_interest, current.open_interest) >= policy.open_interest_move_pct:
        return True
    return _changed_pct(previous.long_short_ratio, current.long_short_ratio) >= policy.long_short_move_pct


def next_poll_interval(
    previous: DerivativesReading | None,
    current: DerivativesReading,
    last_interval_s: float | None,
    policy: PollPolicy = PollPolicy(),
) -> float:
    """Seconds until the next poll of ``current.symbol`` (pure; within ``[min_s, max_s]``)."""
    interval = policy.base_s if last_interval_s is None else last_interval_s
    factor = policy.speed_up if is_moving(previous, current, policy) else policy.slow_down
    if previous is None:
        factor = 1.0
    return float(min(policy.max_s, max(policy.min_s, interval * factor)))


def _changed_abs(a: float | None, b: float | None) -> float:
    return 0.0 if a is None or b is None else abs(b - a)


def _changed_pct(a: float | None, b: float | None) -> float:
    if a is None or b is None or a == 0:
        return 0.0
    return abs(100.0 * (b / a - 1.0))


@dataclass
class _SymbolState:
    history: DerivativesHistory
    interval_s: float | None = None
    due_at: datetime | None = None


@dataclass(frozen=True)
class PollOutcome:
    """What one ``poll_due`` call did: new readings, and symbols whose fetch failed temporarily
    (retried after ``PollPolicy.min_s``). Anything but a ``TemporaryError`` propagates."""

    readings: tuple[DerivativesReading, ...]
    temporary_errors: dict[Symbol, str]


Fetch = Callable[[Symbol], Awaitable[DerivativesReading]]


class DerivativesPoller:
    """Polls each symbol on its own adaptive schedule. Time comes in as ``now``; it never sleeps.

    The live runner calls ``await poller.poll_due(clock.now())`` and sleeps until
    ``poller.next_due_at()``. ``fetch`` is e.g. ``CcxtRest.fetch_derivatives``.
    """

    def __init__(self, fetch: Fetch, symbols: Sequence[Symbol], policy: PollPolicy = PollPolicy()) -> None:
        if len(set(symbols)) != len(symbols):
            raise ValueError("duplicate symbols")
        self._fetch = fetch
        self.policy = policy
        self._state = {s: _SymbolState(DerivativesHistory(s)) for s in symbols}

    def history(self, symbol: Symbol) -> DerivativesHistory:
        return self._state[symbol].history

    def interval_s(self, symbol: Symbol) -> float | None:
        return self._state[symbol].interval_s

    def due_at(self, symbol: Symbol) -> datetime | None:
        return self._state[symbol].due_at

    def next_due_at(self) -> datetime | None:
        dues = [s.due_at for s in self._state.values() if s.due_at is not None]
        return min(dues) if dues else None

    async def poll_due(self, now: datetime) -> PollOutcome:
        """Fetch every symbol whose time has come (all of them on the first call)."""
        readings, errors = [], {}
        for symbol, state in self._state.items():
            if state.due_at is not None and state.due_at > now:
                continue
            try:
                reading = await self._fetch(symbol)
            except TemporaryError as exc:
                errors[symbol] = str(exc)
                state.due_at = now + timedelta(seconds=max(self.policy.min_s, exc.retry_after_s or 0.0))
                continue
            self._record(state, reading, now)
            readings.append(reading)
        return PollOutcome(tuple(readings), errors)

    def _record(self, state: _SymbolState, reading: DerivativesReading, now: datetime) -> None:
        previous = state.history.readings[-1] if len(state.history) else None
        if previous is None or reading.at > previous.at:
            state.history.append(reading)
        state.interval_s = next_poll_interval(previous, reading, state.interval_s, self.policy)
        state.due_at = now + timedelta(seconds=state.interval_s)
