"""The equity curve of a replay, bar by bar: what ``engine.replay.CandleReplay.run`` reports, turned into bars.

A bar is a group of candles that close together (one candle when one series is replayed): its time is their
close, its equity the account marked at every series' latest close, and whether a position was held. A
stepped group is read from the simulated exchange after its steps; a skipped span (nothing acted, so balances
and holdings are as the last step left them) is computed in bulk: a constant where only the quote asset is
held, else the same ``Decimal`` marking as a stepped bar, candle by candle, so both paths give the same floats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np

from backtests.stats import RunRecorder
from core.ids import Symbol
from core.timeframes import ms_to_datetime
from core.types import Balance, WakeKind
from engine.engine import StepReport
from engine.timeline import Timeline
from exchange.sim import SimExchange
from safety.reconcile import equity as account_equity
from safety.service import tradable


@dataclass
class BarRecorder:
    """A ``ReplaySink``: bars into arrays, step facts into ``stats``."""

    timeline: Timeline
    exchange: SimExchange
    quote: str
    stats: RunRecorder

    def __post_init__(self) -> None:
        open_ms = self.timeline.open_ms
        starts = np.flatnonzero(np.r_[True, open_ms[1:] != open_ms[:-1]]) if len(open_ms) else np.zeros(0, np.int64)
        self.group_start = starts
        """Per bar: its first merged index."""
        self.group_of = np.cumsum(np.r_[True, open_ms[1:] != open_ms[:-1]]) - 1 if len(open_ms) else open_ms
        bars = len(starts)
        self.close_ms = open_ms[starts] + int(self.timeline.step.total_seconds() * 1000)
        self.closes = self._closes()
        """Per bar and series: the series' latest close (NaN before its first candle)."""
        self.equity = np.zeros(bars, dtype=np.float64)
        self.held = np.zeros((bars, len(self.timeline.symbols)), dtype=bool)
        """Per bar and series: a position on that series' market was held after the bar."""

    def _closes(self) -> np.ndarray:
        out = np.full((len(self.group_start), len(self.timeline.series)), np.nan)
        bar_end = np.r_[self.group_start[1:], len(self.timeline)] if len(self.group_start) else self.group_start
        for s, positions in enumerate(self.timeline.merged):
            latest = np.searchsorted(positions, bar_end) - 1  # the series' last candle before each bar's end
            known = latest >= 0
            out[known, s] = self.timeline.series[s].close[latest[known]]
        return out

    # ------------------------------------------------------------------ ReplaySink

    def stepped(self, start: int, stop: int, reports: Sequence[tuple[int, StepReport]]) -> None:
        for _, report in reports:
            self.stats.step(report)
        self.stats.steps += stop - start - len(reports)  # a group's candles that nothing happened at
        bar = int(self.group_of[start])
        self.equity[bar] = self._equity(bar, self.exchange.balances())
        self.held[bar] = self._held(bar)

    def skipped(self, start: int, stop: int) -> None:
        first, last = int(self.group_of[start]), int(self.group_of[stop - 1]) + 1
        self.stats.steps += stop - start
        self.held[first:last] = self._held(first)
        if self.exchange.config.market_type == "future" and any(self.held[first]):
            for bar in range(first, last):  # unrealized P&L: the exchange's own balances at each bar's marks
                self.equity[bar] = self._equity(bar, self.exchange.balances_at(self._prices(bar)))
            return
        balances = self.exchange.balances()
        if self._flat(balances):
            self.equity[first:last] = self._equity(first, balances)
            return
        self._span_equity(first, last, balances)

    def holds(self, kinds: Mapping[WakeKind, int], backend: str) -> None:
        self.stats.holds(kinds, backend)

    # ------------------------------------------------------------------ marking

    def _prices(self, bar: int) -> dict[Symbol, Decimal]:
        row = self.closes[bar].tolist()
        return {s: Decimal(repr(c)) for s, c in zip(self.timeline.symbols, row, strict=True) if not math.isnan(c)}

    def _equity(self, bar: int, balances: Mapping[str, Balance]) -> float:
        return float(account_equity(balances, self._prices(bar), self.quote))

    def _span_equity(self, first: int, last: int, balances: Mapping[str, Balance]) -> None:
        """``_equity`` of each bar of a skipped span, whose balances do not change: ``account_equity``'s sum, term by
        term in the same order on the same ``Decimal`` values, with the terms found once for the span."""
        series = {symbol: s for s, symbol in enumerate(self.timeline.symbols)}
        terms: list[tuple[Decimal, int | None]] = []  # (quantity, the series whose close marks it; None: the quote)
        for asset, balance in balances.items():
            if asset == self.quote:
                terms.append((balance.total, None))
            elif (s := series.get(Symbol(f"{asset}/{self.quote}"))) is not None:
                terms.append((balance.total, s))
        for bar, row in enumerate(self.closes[first:last].tolist(), start=first):
            total = Decimal(0)
            for quantity, s in terms:
                if s is None:
                    total += quantity
                elif not math.isnan(close := row[s]):
                    total += quantity * Decimal(repr(close))
            self.equity[bar] = float(total)

    def _flat(self, balances: Mapping[str, Balance]) -> bool:
        """Nothing held that a price moves (only the quote asset, or nothing of the markets replayed)."""
        priced = {s.split(":")[0].split("/")[0] for s in self.timeline.symbols}
        return all(b.total == 0 for asset, b in balances.items() if asset != self.quote and asset in priced)

    def _held(self, bar: int) -> np.ndarray:
        """Per series: a position is held. A spot remainder no order could sell (the sub-step dust a buy's fee
        in the coin leaves behind, as on Binance) is not a position."""
        prices, markets = self._prices(bar), self.exchange.markets()
        held = {p.symbol for p in self.exchange.positions(list(self.timeline.symbols))
                if p.symbol in prices and tradable(p.quantity, prices[p.symbol], markets[p.symbol])}
        return np.array([s in held for s in self.timeline.symbols], dtype=bool)

    # ------------------------------------------------------------------ the result

    def times(self) -> list[datetime]:
        return [ms_to_datetime(int(ms)) for ms in self.close_ms]

    def basket(self) -> np.ndarray:
        """An equal-weight basket of the markets, 100 at the first bar: the cash split evenly at the start, each
        share buying its market at its first close (held as cash until its market's first candle)."""
        first = np.array([c[np.flatnonzero(~np.isnan(c))[0]] if (~np.isnan(c)).any() else np.nan
                          for c in self.closes.T])  # fmt: skip
        growth = np.where(np.isnan(self.closes), 1.0, self.closes / first)
        index: np.ndarray = growth.mean(axis=1) * 100.0
        return index

    def into(self, stats: RunRecorder) -> None:
        """Hand the bars to ``stats`` (the reports and metrics read them there): one market's close, or for a
        portfolio the basket's value."""
        stats.times = self.times()
        stats.equity = self.equity.tolist()
        one = len(self.timeline.symbols) == 1
        stats.closes = (self.closes[:, 0] if one else self.basket()).tolist()
        stats.bars_in_position = int(self.held.any(axis=1).sum())
        last = self.closes[-1].tolist() if len(self.closes) else []
        stats.last_closes = {s: c for s, c in zip(self.timeline.symbols, last, strict=True) if not math.isnan(c)}
