"""Prices replayed from real candle files, one step at a time, on the venue's own (replayed) clock.

Each candle is played as four steps a quarter of its timeframe apart:

- phase 0, at the candle's open time: a tick at its **open** (a gap from the previous close fills
  stops at the open, as a real gap would);
- phases 1-3: the three segments of the candle's path ``open -> first extreme -> second extreme ->
  close``. A candle that closed at or above its open went down first (``open -> low -> high ->
  close``), one that closed below went up first (``open -> high -> low -> close``): the usual
  assumption of bar-based simulators, which lets an intra-candle stop trigger before the close.

A segment is a ``Bar`` from its start to its end price (so a stop inside it fills at its trigger)
and one public trade of a third of the candle's volume at its end price. Phase 0 of the next candle
closes the previous one; after a file's last candle one more step closes it. Nothing here looks
ahead: :class:`Replay` only knows how far it has played, and :mod:`venue.klines` serves candles up
to that point (the forming candle as played so far).

Prices are rounded to the market's tick once, when a series is loaded, so streams, klines and fills
agree to the tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from core.errors import ConfigError
from core.ids import Symbol
from exchange.sim import Bar

PHASES = 4
"""Steps per candle: the open tick and three path segments."""
SEGMENTS = PHASES - 1
END_PHASE = PHASES
"""The step after a file's last candle that closes it."""


@dataclass(frozen=True)
class Series:
    """One symbol's candles: open times (ms) and ``open, high, low, close, volume`` rows (floats on the tick)."""

    symbol: Symbol
    open_ms: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    price_decimals: int

    @classmethod
    def from_arrays(
        cls, symbol: Symbol, open_ms: npt.NDArray[np.int64], ohlcv: npt.NDArray[np.float64], tick: Decimal
    ) -> Series:
        if len(open_ms) < 2 or len(open_ms) != len(ohlcv):
            raise ValueError(f"{symbol}: a replay needs at least two candles with one row each")
        values = ohlcv.astype("float64").copy()
        step = float(tick)
        values[:, :4] = np.round(values[:, :4] / step) * step
        values[:, :4] = np.maximum(values[:, :4], step)
        decimals = max(0, -tick.normalize().as_tuple().exponent)  # type: ignore[operator]
        return cls(symbol, open_ms.astype("int64"), values, decimals)

    def __len__(self) -> int:
        return len(self.open_ms)

    def path(self, index: int) -> tuple[float, float, float, float]:
        return candle_path(*(float(v) for v in self.values[index, :4]))

    def price(self, value: float) -> Decimal:
        """A float price of this series as the exact decimal on its tick."""
        return Decimal(f"{value:.{self.price_decimals}f}")


def candle_path(open_: float, high: float, low: float, close: float) -> tuple[float, float, float, float]:
    """The four prices a candle is played through (see the module docstring for the order)."""
    if close >= open_:
        return open_, low, high, close
    return open_, high, low, close


@dataclass(frozen=True, slots=True)
class Trade:
    price: Decimal
    quantity: float
    buyer_is_maker: bool
    """True when the segment went down (the aggressor sold), as Binance's ``m`` flag."""


@dataclass(frozen=True, slots=True)
class Step:
    """One replay step of one symbol."""

    symbol: Symbol
    at_ms: int
    index: int
    """The candle being played (for the end step: the last candle)."""
    phase: int
    bar: Bar | None
    """What the simulated exchange matches against (None for the end step)."""
    trade: Trade | None
    closed_index: int | None
    """A candle that closed at this step (its full row is final from now on)."""


@dataclass
class _Cursor:
    series: Series
    index: int
    phase: int = -1
    """The last phase played of ``index`` (-1: not started)."""
    first: int = 0
    ended: bool = False


class Replay:
    """Where the replay of every series stands; ``advance()`` plays the next step(s) in time order."""

    def __init__(self, series: Sequence[Series], timeframe_ms: int, *, start_ms: int | None = None, warmup: int = 1):
        if not series:
            raise ConfigError("a replay needs at least one series")
        if len({s.symbol for s in series}) != len(series):
            repeated = sorted({s.symbol for s in series if sum(t.symbol == s.symbol for t in series) > 1})
            raise ConfigError(f"one candle file per symbol: {', '.join(repeated)} is given more than once")
        self.timeframe_ms = timeframe_ms
        self._quarter_ms = timeframe_ms // PHASES
        first = series[0]
        first_start = start_ms if start_ms is not None else int(first.open_ms[min(max(warmup, 1), len(first) - 1)])
        self._cursors: dict[Symbol, _Cursor] = {}
        for s in series:
            index = int(np.searchsorted(s.open_ms, first_start, side="left"))
            if index < 1 or index >= len(s):
                raise ConfigError(
                    f"{s.symbol}: the replay start leaves no history before it or no candle after it "
                    f"(file covers {len(s)} candles)"
                )
            self._cursors[s.symbol] = _Cursor(s, index, first=index)
        self.now_ms = min(int(c.series.open_ms[c.index]) for c in self._cursors.values())

    # ------------------------------------------------------------------ playing

    @property
    def symbols(self) -> list[Symbol]:
        return list(self._cursors)

    def series(self, symbol: Symbol) -> Series:
        return self._cursors[symbol].series

    def next_ms(self) -> int | None:
        """When the next step happens (replayed time, ms), or None when every file is played out."""
        times = [t for c in self._cursors.values() if (t := self._next_time(c)) is not None]
        return min(times) if times else None

    @property
    def finished(self) -> bool:
        return self.next_ms() is None

    def advance(self) -> list[Step]:
        """Play the next step of every series due at ``next_ms()`` (none when finished)."""
        due = self.next_ms()
        if due is None:
            return []
        steps = [self._play(c) for c in self._cursors.values() if self._next_time(c) == due]
        self.now_ms = due
        return steps

    def progress(self) -> tuple[int, int]:
        """(candles played, candles to play) summed over the series."""
        done = sum(c.index - c.first + (1 if c.ended else 0) for c in self._cursors.values())
        total = sum(len(c.series) - c.first for c in self._cursors.values())
        return done, total

    def _next_time(self, cursor: _Cursor) -> int | None:
        if cursor.ended:
            return None
        open_ms = int(cursor.series.open_ms[cursor.index])
        if cursor.phase < SEGMENTS:
            return open_ms + (cursor.phase + 1) * self._quarter_ms
        if cursor.index + 1 < len(cursor.series):
            return int(cursor.series.open_ms[cursor.index + 1])
        return open_ms + self.timeframe_ms

    def _play(self, cursor: _Cursor) -> Step:
        at_ms = self._next_time(cursor)
        assert at_ms is not None
        series = cursor.series
        if cursor.phase < SEGMENTS:
            cursor.phase += 1
            return self._segment(cursor, at_ms)
        closed = cursor.index
        if cursor.index + 1 >= len(series):
            cursor.ended = True
            return Step(series.symbol, at_ms, closed, END_PHASE, None, None, closed)
        cursor.index += 1
        cursor.phase = 0
        return self._segment(cursor, at_ms, closed=closed)

    def _segment(self, cursor: _Cursor, at_ms: int, closed: int | None = None) -> Step:
        series, index, phase = cursor.series, cursor.index, cursor.phase
        path = series.path(index)
        end = series.price(path[phase])
        volume = float(series.values[index, 4]) / SEGMENTS
        if phase == 0:
            return Step(series.symbol, at_ms, index, 0, Bar.tick(end), None, closed)
        start = series.price(path[phase - 1])
        bar = Bar(start, max(start, end), min(start, end), end, Decimal(f"{volume:.8f}"))
        return Step(series.symbol, at_ms, index, phase, bar, Trade(end, volume, end < start), closed)

    # ------------------------------------------------------------------ what has been played

    def position(self, symbol: Symbol) -> tuple[int, int]:
        """(index of the forming candle, phases played of it); phases is -1 before its first step and
        ``END_PHASE`` once the file's last candle has closed."""
        cursor = self._cursors[symbol]
        return cursor.index, (END_PHASE if cursor.ended else cursor.phase)

    def last_price(self, symbol: Symbol) -> Decimal:
        cursor = self._cursors[symbol]
        series = cursor.series
        if cursor.phase < 0:
            return series.price(float(series.values[cursor.index - 1, 3]))
        if cursor.ended:
            return series.price(float(series.values[cursor.index, 3]))
        return series.price(series.path(cursor.index)[cursor.phase])
