"""Replay a candle file through the gate and score it: wake rate, anomaly recall, wakes by kind, events/s.

The definitions the issue fixes:

- the first ``warmup`` candles (288) only feed the baselines, as a live start preloads that much history;
  everything below counts the candles after them ("scored");
- wake rate = wakes / scored candles;
- anomaly recall = of the scored candles whose absolute close-to-close log return is in the top 1 % of
  the scored series, the share with a wake at that candle or the next one.

No agent takes part: the timer runs at its default (maximum) interval and nobody records LLM usage, so
only the wake limits of the budget can turn a wake into a fallback one. numpy scores the result, never per
event. Reading a file is the caller's job (``engine.gate_cli.load_candles``): the gate's logic imports only core.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from core.settings import GateSettings
from core.timeframes import timeframe_seconds
from core.types import Candle
from gate.budget import BudgetLimits
from gate.events import GateEventKind
from gate.gate import Gate

WARMUP_CANDLES = 288
TOP_SHARE = 0.01


@dataclass(frozen=True, slots=True)
class ReplayReport:
    data: str
    symbol: str
    timeframe: str
    candles: int
    scored: int
    wakes: int
    top_candles: int
    recalled: int
    wakes_by_kind: dict[str, int]
    fallback_wakes: int
    suppressed: int
    seconds: float

    @property
    def wake_rate(self) -> float:
        return self.wakes / self.scored if self.scored else 0.0

    @property
    def recall(self) -> float:
        return self.recalled / self.top_candles if self.top_candles else 1.0

    @property
    def events_per_s(self) -> float:
        return self.scored / self.seconds if self.seconds > 0 else float("inf")


def replay(
    candles: list[Candle],
    settings: GateSettings,
    limits: BudgetLimits,
    *,
    data: str = "",
    warmup: int = WARMUP_CANDLES,
) -> ReplayReport:
    """Run ``candles`` through a fresh gate (no agent) and score the wakes."""
    if len(candles) <= warmup + 1:
        raise ValueError(f"need more than {warmup + 1} candles, got {len(candles)}")
    first = candles[0]
    start = (
        candles[warmup - 1].open_at + timedelta(seconds=timeframe_seconds(first.timeframe)) if warmup else first.open_at
    )
    gate = Gate(settings, limits, symbols=[first.symbol], started_at=start)
    gate.warm_up(candles[:warmup])
    scored = candles[warmup:]
    woke = np.zeros(len(scored), dtype=bool)
    kinds: Counter[str] = Counter()
    observe = gate.observe
    began = time.perf_counter()
    for index, candle in enumerate(scored):
        reason = observe(candle)
        if reason is not None:
            woke[index] = True
            kinds[reason.kind.value] += 1
    seconds = time.perf_counter() - began
    events = gate.drain_events()
    fallback = sum(1 for e in events if e.kind is GateEventKind.WAKE and e.reason is not None and e.reason.fallback)
    suppressed = sum(1 for e in events if e.kind is GateEventKind.SUPPRESSED)
    top, recalled = score_recall(candles, woke, warmup)
    return ReplayReport(
        data=data,
        symbol=first.symbol,
        timeframe=first.timeframe,
        candles=len(candles),
        scored=len(scored),
        wakes=int(woke.sum()),
        top_candles=top,
        recalled=recalled,
        wakes_by_kind=dict(sorted(kinds.items())),
        fallback_wakes=fallback,
        suppressed=suppressed,
        seconds=seconds,
    )


def score_recall(candles: list[Candle], woke: np.ndarray, warmup: int) -> tuple[int, int]:
    """(top-1 % candles, how many of them had a wake at that candle or the next) over the scored part."""
    closes = np.fromiter((c.close for c in candles), dtype=float, count=len(candles))
    abs_returns = np.abs(np.diff(np.log(closes)))[warmup - 1 :] if warmup else np.abs(np.diff(np.log(closes)))
    if not warmup:
        woke = woke[1:]
    threshold = np.quantile(abs_returns, 1.0 - TOP_SHARE)
    top = abs_returns >= threshold
    covered = woke | np.concatenate([woke[1:], [False]])
    return int(top.sum()), int((top & covered).sum())
