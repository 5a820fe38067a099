"""Which candle a backtest must step next: the first one at which anything can happen (pure, numpy over spans).

After each step the engine's parts say what could make them act (``QuietPlan``): the gate a time (its timer,
an ``at_time`` condition) and its armed conditions, safety a time (a new UTC day, a breaker's end), and per
symbol a price band (``core.quiet.QuietBand``) from the simulated exchange and safety. The gate's
candle-judged layers (anomaly, candle close of a higher timeframe) were scored once over the whole series
(``gate.tape``). ``SkipPlanner.next_step(m, plan)`` is the first merged index at or after ``m`` where any of
these may fire; every candle before it is one at which the per-candle path would have done nothing.

Comparisons with money levels are made on floats with a margin (``MARGIN``) on the side of stepping: a band
may claim a candle that turns out quiet (stepping it is what the per-candle path does anyway), never the
reverse.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from core.ids import Symbol
from core.quiet import QuietBand
from engine.timeline import Timeline
from gate.gate import GateWatch
from gate.tape import GateTape, condition_holds

MARGIN = 1e-9
"""Relative margin on every price comparison, towards stepping (floats vs the exact ``Decimal`` rules)."""
TIME_MARGIN_S = 1e-6
FIRST_CHUNK = 256
"""Candles scanned at once for a band or a condition, doubling up to the next known event."""


@dataclass(frozen=True, slots=True)
class QuietPlan:
    """What can make the engine act, as things stand after a step."""

    deadline_ts: float
    """From this time on (UNIX seconds) any candle is stepped."""
    gate: GateWatch
    bands: Mapping[Symbol, QuietBand]
    hold_timer_s: float | None = None
    """Set when the planner's held wakes may be decided in bulk (``SkipPlanner`` ``holds``): the interval to which
    each re-arms the gate's timer. ``None``: every wake is stepped (the agent may not be woken, say)."""
    hold_deadline_ts: float = math.inf
    """``deadline_ts`` without the gate's timer (an ``at_time`` condition, safety's clock), which a held wake
    replaces with its own."""

    @property
    def every_candle(self) -> bool:
        return any(band.every_candle for band in self.bands.values())


def _float(value: Decimal | None, towards: float) -> float | None:
    return None if value is None else float(value) * (1.0 + towards * MARGIN)


class SkipPlanner:
    """``candidates``: per series, the candles the gate wakes at for the candle alone; ``holds`` (optional): those
    of them whose wake is decided in bulk as a hold while the plan allows it (``QuietPlan.hold_timer_s``)."""

    def __init__(self, timeline: Timeline, tapes: Sequence[GateTape], candidates: Sequence[np.ndarray],
                 holds: Sequence[np.ndarray] = ()) -> None:  # fmt: skip
        self.timeline = timeline
        self.tapes = tuple(tapes)
        self.close_ts = timeline.close_ts
        self.candidates = _merged(timeline, candidates)
        self.holds = _merged(timeline, holds)
        """Merged indices of the held wakes (a subset of ``candidates``)."""
        self.acting = np.setdiff1d(self.candidates, self.holds, assume_unique=True)
        """``candidates`` without the held wakes."""

    def next_step(self, m: int, plan: QuietPlan) -> int:
        """The first merged index ``>= m`` to step (``len(timeline)`` when none is left). When the plan allows
        held wakes, the ones before it are decided in bulk (``held(m, step)``)."""
        n = len(self.timeline)
        if m >= n or plan.every_candle:
            return m
        wakes = self.candidates if plan.hold_timer_s is None else self.acting
        j = int(np.searchsorted(wakes, m))
        limit = int(wakes[j]) if j < len(wakes) else n
        due = self._due(m, limit, plan)
        limit = max(m, min(limit, due))
        for s, positions in enumerate(self.timeline.merged):
            if limit == m:
                break
            lo, hi = np.searchsorted(positions, (m, limit))
            if lo < hi:
                hit = self._first_act(s, int(lo), int(hi), plan)
                if hit is not None:
                    k, by_range = hit
                    # A bar that makes the exchange act does so when its group opens: the first candle of the group
                    # is the first step to see it (it guards every position), as in the per-candle path.
                    at = int(positions[k])
                    limit = max(m, self.timeline.group_start(at)) if by_range else at
        if limit < n and self._group_acts_by_range(limit, plan):
            limit = max(m, self.timeline.group_start(limit))
        return limit

    def is_held(self, m: int) -> bool:
        """Whether merged index ``m`` is one of the held wakes."""
        j = int(np.searchsorted(self.holds, m))
        return j < len(self.holds) and int(self.holds[j]) == m

    def held(self, start: int, stop: int) -> np.ndarray:
        """The held wakes in merged ``[start, stop)``."""
        lo, hi = np.searchsorted(self.holds, (start, stop))
        return self.holds[lo:hi]

    def _due(self, m: int, wake: int, plan: QuietPlan) -> int:
        """The first candle at or after which the clock makes something act. A held wake re-arms the gate's timer
        at its own close plus the interval, so the deadline moves on with each held wake before it (never back:
        a timer is never armed beyond the interval)."""
        deadline = plan.deadline_ts
        due = int(np.searchsorted(self.close_ts, deadline - TIME_MARGIN_S))
        while plan.hold_timer_s is not None:
            held = self.held(m, min(wake, due))
            if not len(held):
                break
            later = min(plan.hold_deadline_ts, float(self.close_ts[int(held[-1])]) + plan.hold_timer_s)
            if later <= deadline:
                break
            deadline = later
            due = int(np.searchsorted(self.close_ts, deadline - TIME_MARGIN_S))
        return due

    def _group_acts_by_range(self, m: int, plan: QuietPlan) -> bool:
        """Whether a bar of ``m``'s group, from ``m`` on, makes the exchange act (see ``next_step``)."""
        timeline = self.timeline
        for member in range(m, timeline.group_end(m)):
            s, k = int(timeline.which[member]), int(timeline.index[member])
            if _acts(plan.bands.get(timeline.symbols[s]), self.tapes[s], k, k + 1, ranges=True).any():
                return True
        return False

    def _first_act(self, s: int, lo: int, hi: int, plan: QuietPlan) -> tuple[int, bool] | None:
        """The first candle of series ``s`` in ``lo..hi-1`` at which its band or a condition acts, and whether
        its range did it (the exchange's orders) rather than its close or a condition."""
        tape = self.tapes[s]
        band = plan.bands.get(Symbol(tape.symbol))
        conditions = [c for c in plan.gate.conditions if c.symbol in (None, tape.symbol)]
        if (band is None or band.unbounded) and not conditions:
            return None
        position = plan.gate.positions.get(tape.symbol)
        start, size = lo, FIRST_CHUNK
        while start < hi:
            stop = min(hi, start + size)
            by_range = _acts(band, tape, start, stop, ranges=True)
            acts = by_range | _acts(band, tape, start, stop, ranges=False)
            for condition in conditions:
                holds = condition_holds(condition, tape, start, stop, position)
                if holds is None:  # a regime condition: only observing every candle tells
                    return start, False
                acts |= holds
            if acts.any():
                first = int(np.argmax(acts))
                return start + first, bool(by_range[first])
            start, size = stop, size * 2
        return None


def _merged(timeline: Timeline, masks: Sequence[np.ndarray]) -> np.ndarray:
    """Per-series candle masks as sorted merged indices."""
    merged = [timeline.merged[s][np.flatnonzero(mask)] for s, mask in enumerate(masks)]
    return np.sort(np.concatenate(merged)) if merged else np.zeros(0, np.int64)


def _acts(band: QuietBand | None, tape: GateTape, lo: int, hi: int, *, ranges: bool) -> np.ndarray:
    """Where the candles' range (``ranges``) or close reaches the band."""
    acts = np.zeros(hi - lo, dtype=bool)
    if band is None:
        return acts
    bounds = (
        ((band.range_low, tape.low, 1.0, True), (band.range_high, tape.high, -1.0, False)) if ranges
        else ((band.close_low, tape.close, 1.0, True), (band.close_high, tape.close, -1.0, False))
    )  # fmt: skip
    for bound, column, towards, below in bounds:
        level = _float(bound, towards)
        if level is not None:
            acts |= column[lo:hi] <= level if below else column[lo:hi] >= level
    return acts
