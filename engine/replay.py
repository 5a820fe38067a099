"""A backtest's feed: recorded candles stepped through the engine on a simulated clock and exchange.

Per group of candles that open together (one candle when one series is replayed): the clock moves to their
open and the simulated exchange sees each bar (pending market orders fill at the open, stops and take-profits
trigger on the range), then the clock moves to their close and the engine steps on each ``CandleClosed``.
Only candles: a replay never polls an operator queue or a derivatives endpoint, so those events (and their
store queries) never happen in a backtest. ``engine/wiring.py`` builds it (and warms it up once);
``backtests/runner.py`` drives it with ``run``.

``run`` steps only the candles at which something can happen (``engine/skipping.py``): between two of them
nothing in the engine would act, so the driver catches up what the per-candle path would have updated on its
way (the gate's baselines from its tape, safety's and the exchange's latest prices) just before the next step,
and the sink records the skipped candles' bars in bulk. ``exact=True`` steps every candle: the oracle the
skipping path is tested against (byte-identical results).

An agent that declares where it can act (``engine.request.DeclaresActions``: the SMA crossover) has its other
wakes decided in bulk as holds: the gate's state moves as the wake and its empty decision would move it
(``Gate.hold``) and the sink counts a wake and a decision (``ReplaySink.holds``); no engine step, and no
``decision`` or ``gate.wake`` event in the journal for them. Such a wake at a candle stepped for another reason
(a fill, a new stop's placement, a new UTC day) is decided the same way inside the step (``Engine.step``'s
``hold``): safety steps, the agent does not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import cached_property, partial
from typing import Protocol

import numpy as np

from core.clock import SimClock
from core.decisions import RequestPart, parts_read
from core.ids import Symbol
from core.timeframes import ms_to_datetime, timeframe_seconds
from core.types import Candle, WakeKind
from engine.engine import Engine, StepReport
from engine.events import CandleClosed
from engine.request import DeclaresActions
from engine.skipping import QuietPlan, SkipPlanner
from engine.timeline import Timeline
from exchange.sim import SimExchange
from gate.tape import GateTape
from market.regime import regime_label

Progress = Callable[[int, int], None]
"""``progress(done, total)`` in candles, after every stepped group and every skipped span."""


class ReplaySink(Protocol):
    """Where a replay reports each group of candles (``[start, stop)`` of the timeline's merged index)."""

    def stepped(self, start: int, stop: int, reports: Sequence[tuple[int, StepReport]]) -> None:
        """A group after its steps (``reports``: the members that were stepped, by merged index)."""
        ...

    def skipped(self, start: int, stop: int) -> None:
        """Whole groups at which nothing acted: the account is as the last step left it."""
        ...

    def holds(self, kinds: Mapping[WakeKind, int], backend: str) -> None:
        """Wakes decided in bulk as holds (``engine.request.DeclaresActions``), by kind: each a wake and a
        decision by ``backend`` with no tool call and no usage, as a stepped hold reports it."""
        ...


@dataclass
class CandleReplay:
    engine: Engine
    clock: SimClock
    exchange: SimExchange
    timeline: Timeline
    exact: bool = False
    """Step every candle (the per-candle path, the oracle) instead of only those where something can happen."""
    after_step: Callable[[], None] | None = None
    """Called after every engine step (a backtest's batched store commits every N steps)."""
    _seen: list[int] = field(default_factory=list)
    """Per series: the last candle index the gate's baselines and safety's prices reflect (-1: none yet)."""
    _kinds: list[np.ndarray] = field(default_factory=list)
    """Per series and candle: the kind of the gate's wake there for the candle alone (``Gate.wake_kinds``)."""

    @cached_property
    def candles(self) -> list[Candle]:
        """Every candle to step, as ``Candle`` values, in the order they are stepped (built on first use)."""
        return self.timeline.candles()

    def warm_up(self, candles: Sequence[Candle]) -> None:
        """History before the timeline: the exchange sees every bar (its last price), the gate its baselines."""
        for candle in candles:
            self.clock.advance_to(candle.open_at)
            self.exchange.on_candle(candle)
        self.engine.gate.warm_up(candles)

    async def step(self, candle: Candle) -> StepReport:
        """One candle: the exchange sees the bar at its open, the engine steps at its close."""
        self.clock.advance_to(candle.open_at)
        self.exchange.on_candle(candle)
        close_at = candle.open_at + timedelta(seconds=timeframe_seconds(candle.timeframe))
        self.clock.advance_to(close_at)
        return await self.engine.step(CandleClosed(at=close_at, candle=candle))

    def fees(self, symbol: Symbol | None = None) -> Decimal:
        """Every fee the simulated exchange charged so far (on ``symbol``'s market only, when given), in the quote
        asset (a spot buy's is charged in the base asset bought and valued at its fill price)."""
        markets = self.exchange.markets()
        return sum(
            (
                markets[f.symbol].fee_in_quote(f.fee, f.fee_asset, base_fee=f.base_fee, quantity=f.quantity,
                                               price=f.price)
                for f in self.exchange.fills()
                if symbol is None or f.symbol == symbol
            ),
            Decimal(0),
        )

    # ------------------------------------------------------------------ the whole timeline

    async def run(self, sink: ReplaySink, progress: Progress | None = None) -> None:
        """Every candle of the timeline through the engine, reported group by group to ``sink``."""
        if self.exact:
            await self._every_candle(sink, progress)
        else:
            await self._skipping(sink, progress)

    async def _every_candle(self, sink: ReplaySink, progress: Progress | None) -> None:
        timeline, n = self.timeline, len(self.timeline)
        start = 0
        while start < n:
            stop = timeline.group_end(start)
            group = [timeline.candle(m) for m in range(start, stop)]
            await self._feed(group)
            reports = [(m, await self._close(candle)) for m, candle in enumerate(group, start=start)]
            sink.stepped(start, stop, reports)
            start = stop
            if progress is not None:
                progress(stop, n)

    async def _feed(self, group: Sequence[Candle]) -> None:
        self.clock.advance_to(group[0].open_at)
        for candle in group:
            self.exchange.on_candle(candle)
        self.clock.advance_to(group[0].open_at + self.timeline.step)

    async def _close(self, candle: Candle, *, hold: bool = False) -> StepReport:
        report = await self.engine.step(CandleClosed(at=self.clock.now(), candle=candle), hold=hold)
        if self.after_step is not None:
            self.after_step()
        return report

    async def _skipping(self, sink: ReplaySink, progress: Progress | None) -> None:
        timeline, n = self.timeline, len(self.timeline)
        tapes = [self.engine.gate.tape(s, timeline.timeframe, c) for s, c in zip(timeline.symbols, timeline.series,
                                                                                   strict=True)]  # fmt: skip
        planner = SkipPlanner(timeline, tapes, [self.engine.gate.candidates(t) for t in tapes], self._holds(tapes))
        self._seen = [-1] * len(tapes)
        self.engine.safety.skip_quiet_looks(self.exchange.revision)  # (never live; --exact looks every time)
        held = _Held(planner, sink, self._kinds, getattr(self.engine.agent, "name", ""))
        start, plan = 0, self._plan()
        m = planner.next_step(start, plan)
        while start < n:
            self._hold(held, m)
            first = timeline.group_start(m) if m < n else n
            if first > start:
                sink.skipped(start, first)
            if m >= n:
                break
            stop = timeline.group_end(m)
            self._catch_up_prices(first)
            group = [timeline.candle(k) for k in range(first, stop)]
            await self._feed(group)
            reports = []
            while m < stop:
                self._hold(held, m)
                self._catch_up(m, tapes)
                hold = plan.hold_timer_s is not None and planner.is_held(m)
                report = await self._close(group[m - first], hold=hold)
                if report.held:  # stepped for safety's sake (a fill, a new stop, a new day): the wake held all the same
                    held.count[held.kinds[int(timeline.which[m])][int(timeline.index[m])]] += 1
                    held.flush()
                reports.append((m, report))
                self._seen[int(timeline.which[m])] = int(timeline.index[m])
                plan = self._plan()
                asked, m = m + 1, planner.next_step(m + 1, plan)
            sink.stepped(first, stop, reports)
            start = stop
            if asked != start:  # (one series: the group's last step already asked from here, with this plan)
                m = planner.next_step(start, plan)
            if progress is not None:
                progress(stop, n)
        self._hold(held, n)
        self._catch_up(n, tapes)

    def _holds(self, tapes: Sequence[GateTape]) -> list[np.ndarray]:
        """Per series: the wakes decided in bulk as holds (``engine.request.DeclaresActions``): where the gate wakes
        the agent for the candle alone and the agent declares no action. None when the agent declares nothing or
        the gate cannot tell its wakes in bulk (``Gate.wake_kinds``)."""
        agent, gate = self.engine.agent, self.engine.gate
        if not isinstance(agent, DeclaresActions) or RequestPart.BOOK in parts_read(agent):
            return []  # (an agent that reads the book reads its last decisions: holds would be missing there)
        kinds = [gate.wake_kinds(tape) for tape in tapes]
        if any(k is None for k in kinds):
            return []
        self._kinds = [k for k in kinds if k is not None]
        step_ns = int(self.timeline.step.total_seconds()) * 1_000_000_000
        holds = []
        for symbol, series, wake in zip(self.timeline.symbols, self.timeline.series, self._kinds, strict=True):
            close_ns = series.open_ms.astype(np.int64) * 1_000_000 + step_ns
            acts = np.isin(close_ns, agent.acts_at(symbol))
            holds.append((wake != None) & ~acts)  # noqa: E711 (element-wise on an object array)
        return holds

    def _hold(self, held: _Held, m: int) -> None:
        """Decide the held wakes before merged index ``m`` (the planner allowed them) in the gate and the sink."""
        wakes = held.take(m)
        if not len(wakes):
            return
        timeline, symbols = self.timeline, self.timeline.symbols
        series, index = timeline.which[wakes], timeline.index[wakes]
        if len(symbols) == 1:
            self.engine.gate.hold_many([symbols[0]] * len(wakes), held.close_ts[wakes].tolist())
            held.count.update(held.kinds[0][index].tolist())
        else:
            self.engine.gate.hold_many([symbols[s] for s in series.tolist()], held.close_ts[wakes].tolist())
            held.count.update(held.kinds[s][k] for s, k in zip(series.tolist(), index.tolist(), strict=True))
        held.flush()

    def _plan(self) -> QuietPlan:
        symbols = self.timeline.symbols
        safety, gate = self.engine.safety, self.engine.gate
        bands = self.exchange.quiet_bands(symbols)
        for symbol, band in safety.quiet_bands(symbols).items():
            bands[symbol] = bands[symbol].merge(band)
        watch = gate.watch()
        quiet_until = safety.quiet_until()
        timer_s = float(gate.settings.timer_max_s) if safety.agent_blocked(self.clock.now()) is None else None
        return QuietPlan(min(watch.deadline_ts, quiet_until.timestamp()), watch, bands, hold_timer_s=timer_s,
                         hold_deadline_ts=min(watch.at_time_ts, quiet_until.timestamp()))  # fmt: skip

    def _catch_up_prices(self, m: int) -> None:
        """The exchange's latest price of every series as the bars before merged index ``m`` left it."""
        if len(self.timeline.series) == 1:
            return  # the stepped bar itself sets it
        for s, k in enumerate(self.timeline.seen_before(m)):
            if k > 0:
                close = self.timeline.series[s].close[k - 1]
                self.exchange.set_last_price(self.timeline.symbols[s], Decimal(repr(float(close))))

    def _catch_up(self, m: int, tapes: Sequence[GateTape]) -> None:
        """The gate's baselines and safety's prices as stepping every candle before merged index ``m`` would
        have left them (what the skipped candles changed on their way)."""
        timeline = self.timeline
        stepped = int(timeline.which[m]) if m < len(timeline) else -1
        for s, seen in enumerate(timeline.seen_before(m)):
            k = seen - 1
            if self._seen[s] == k:
                continue
            self._seen[s] = k
            self.engine.gate.restore_tracker(tapes[s], k)
            if k >= 0 and s != stepped:  # the step marks its own symbol first thing
                self._mark(s, k)

    def _mark(self, s: int, k: int) -> None:
        symbol: Symbol = self.timeline.symbols[s]
        series = self.timeline.series[s]
        close_at = ms_to_datetime(int(series.open_ms[k])) + self.timeline.step
        self.engine.safety.mark(symbol, Decimal(repr(float(series.close[k]))), close_at)
        regime = self.engine.market.builder(symbol).regime
        if regime is not None and len(self.timeline.series) > 1:  # read when the label is asked for (or never)
            self.engine.gate.note_regime_later(symbol, partial(regime_label, regime, close_at),
                                               labelled=regime.has_reading(close_at))


@dataclass
class _Held:
    """The planner's held wakes, decided in order as the replay reaches them; reported to the sink by kind."""

    planner: SkipPlanner
    sink: ReplaySink
    kinds: list[np.ndarray]
    backend: str
    count: Counter[WakeKind] = field(default_factory=Counter)
    done: int = 0
    """Merged indices below this are decided (held or stepped)."""

    @property
    def close_ts(self) -> np.ndarray:
        return self.planner.close_ts

    def take(self, m: int) -> np.ndarray:
        """The held wakes up to merged index ``m``, the next step (excluded: a step decides its own wake)."""
        held = self.planner.held(self.done, m)
        self.done = max(self.done, m + 1)
        return held

    def flush(self) -> None:
        if self.count:
            self.sink.holds(self.count, self.backend)
            self.count = Counter()
