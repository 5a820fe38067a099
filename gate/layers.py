"""Wake layers: each judges one reason to wake the agent; the gate walks them, highest priority first.

A layer is a small object (``WakeLayer``):

- ``kind``: the ``WakeKind`` its wakes carry;
- ``priority``: lower goes first; one event yields at most one wake, whose kind is the first layer that
  fired and whose detail names every layer that fired, in this order;
- ``cooled``: the cooldown rule: a wake that only cooled layers asked for, within ``cooldown_s`` of the
  last wake, is suppressed (journaled, not granted); uncooled layers always pass;
- ``fire(obs)``: one detail line per firing (empty when it did not fire). Every layer sees every event
  and decides for itself whether the event can say anything to it (the anomaly layer needs a closed
  candle, the feed watchdog the clock tick). It may update the state it owns: the condition book
  disarms a fired condition, the watchdog marks the silence reported, the candle-close layer records
  the boundary it saw;
- ``warm_up(obs)``: see a preloaded candle without firing (the candle-close layer records boundaries).

The per-candle work of the candle-close and anomaly layers is a pure function of the candle, its scores
and the layer's settings (no gate state), so a backtest can precompute both over a whole series.
Adding a layer: a class here (or anywhere that imports only ``core`` and ``gate``), one line in
``default_layers`` or a ``layers=`` argument to ``Gate``, and a ``WakeKind`` for its wakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from core.conditions import Observation
from core.settings import GateSettings
from core.timeframes import timeframe_seconds
from core.types import Candle, WakeKind
from gate.book import ConditionBook
from gate.timer import GateClock, Timer
from gate.tracker import CandleScores, SymbolTracker


@dataclass(slots=True)
class GateState:
    """The gate's mutable state that layers may read and update (the gate re-arms the timer itself)."""

    clock: GateClock
    timer: Timer
    book: ConditionBook


@dataclass(slots=True)
class GateObservation:
    """One event as every layer sees it; a field the event does not carry is ``None``.

    - a closed candle: ``symbol``, ``tracker``, ``candle``, ``close_ts``, ``scores`` (its z-scores against
      the baselines before it);
    - a price between candle closes: ``symbol``, ``tracker``, ``price``;
    - a regime reading: ``symbol``, ``regime``;
    - the live loop's clock tick (no market data; the feed watchdog's moment): ``clock_tick``.

    Flat and not frozen because one is built per event and that is the cheapest object Python builds;
    treat it as read-only (layers change the gate's state through ``state``, never the observation).
    """

    now_ts: float
    state: GateState
    symbol: str | None = None
    tracker: SymbolTracker | None = None
    price: float | None = None
    candle: Candle | None = None
    close_ts: float = 0.0
    scores: CandleScores | None = None
    regime: str | None = None
    clock_tick: bool = False

    def for_conditions(self) -> Observation:
        """What the agent-set wake conditions can judge at this event."""
        position = self.tracker.position if self.tracker is not None else None
        candle = self.candle
        if candle is not None:
            volume_z = self.scores.volume_z if self.scores is not None else None
            return Observation(self.now_ts, self.symbol, candle.low, candle.high, volume_z, None, position)
        return Observation(self.now_ts, self.symbol, self.price, self.price, None, self.regime, position)


class WakeLayer(Protocol):
    """One reason to wake the agent (the module docstring gives the contract)."""

    @property
    def kind(self) -> WakeKind: ...

    @property
    def priority(self) -> int: ...

    @property
    def cooled(self) -> bool: ...

    def fire(self, obs: GateObservation) -> Sequence[str]: ...

    def warm_up(self, obs: GateObservation) -> None: ...


@dataclass(frozen=True, slots=True)
class FeedStaleLayer:
    """No market event for ``stale_after_s``: one wake per silence, judged on the clock tick."""

    stale_after_s: int
    kind: WakeKind = WakeKind.FEED_STALE
    priority: int = 0
    cooled: bool = False

    def fire(self, obs: GateObservation) -> Sequence[str]:
        if not obs.clock_tick:
            return ()
        clock = obs.state.clock
        if clock.stale_reported:
            return ()
        silent_s = obs.now_ts - clock.last_market_ts
        if silent_s < self.stale_after_s:
            return ()
        clock.stale_reported = True
        return (f"feed stale: no market data for {silent_s:g} s",)

    def warm_up(self, obs: GateObservation) -> None:
        del obs


@dataclass(frozen=True, slots=True)
class ConditionLayer:
    """An agent-set wake condition became true (edge-triggered: it fires once, then is disarmed)."""

    kind: WakeKind = WakeKind.CONDITION
    priority: int = 1
    cooled: bool = False

    def fire(self, obs: GateObservation) -> Sequence[str]:
        book = obs.state.book
        if not book:
            return ()
        fired = book.evaluate(obs.for_conditions())
        return ("condition: " + "; ".join(c.describe() for c in fired),) if fired else ()

    def warm_up(self, obs: GateObservation) -> None:
        del obs


@dataclass(frozen=True, slots=True)
class AnomalyLayer:
    """The candle's return or volume z-score against the long baselines crossed its threshold."""

    return_z_threshold: float
    volume_z_threshold: float
    kind: WakeKind = WakeKind.ANOMALY
    priority: int = 2
    cooled: bool = False

    def fire(self, obs: GateObservation) -> Sequence[str]:
        if obs.scores is None or obs.tracker is None:
            return ()
        found = self.judge(obs.scores)
        if found is None:
            return ()
        return (f"anomaly on {obs.tracker.symbol} {obs.tracker.timeframe}: {found}",)

    def judge(self, scores: CandleScores) -> str | None:
        """What is anomalous about a candle with these scores, or ``None``."""
        parts = []
        if scores.return_z is not None and abs(scores.return_z) >= self.return_z_threshold:
            parts.append(f"return z {scores.return_z:+.2f} ({scores.return_pct:+.3f}%)")
        if scores.volume_z is not None and scores.volume_z >= self.volume_z_threshold:
            parts.append(f"volume z {scores.volume_z:+.2f}")
        return ", ".join(parts) if parts else None

    def warm_up(self, obs: GateObservation) -> None:
        del obs


@dataclass(frozen=True, slots=True)
class CandleCloseLayer:
    """A candle of a configured higher timeframe closed (at this candle's close, or across a data gap)."""

    timeframes: tuple[tuple[str, int], ...]
    """``(timeframe, seconds)``, e.g. ``(("4h", 14400),)``."""
    kind: WakeKind = WakeKind.CANDLE_CLOSE
    priority: int = 3
    cooled: bool = True

    @classmethod
    def of(cls, timeframes: Sequence[str]) -> CandleCloseLayer:
        return cls(tuple((tf, timeframe_seconds(tf)) for tf in timeframes))

    def fire(self, obs: GateObservation) -> Sequence[str]:
        tracker = obs.tracker
        if obs.candle is None or tracker is None:
            return ()
        closed = tracker.closed_timeframes(obs.close_ts, self.timeframes)
        return [f"candle close: {tracker.symbol} {timeframe}" for timeframe in closed] if closed else ()

    def warm_up(self, obs: GateObservation) -> None:
        if obs.candle is not None and obs.tracker is not None:
            obs.tracker.closed_timeframes(obs.close_ts, self.timeframes)


@dataclass(frozen=True, slots=True)
class TimerLayer:
    """The agent's next check (clamped), or the maximum interval without one, is due."""

    kind: WakeKind = WakeKind.TIMER
    priority: int = 4
    cooled: bool = False

    def fire(self, obs: GateObservation) -> Sequence[str]:
        timer = obs.state.timer
        return (timer.describe(),) if timer.due(obs.now_ts) else ()

    def warm_up(self, obs: GateObservation) -> None:
        del obs


def default_layers(settings: GateSettings) -> tuple[WakeLayer, ...]:
    """The layers every gate walks unless it is given others, in priority order."""
    layers: list[WakeLayer] = [
        FeedStaleLayer(settings.feed_stale_s),
        ConditionLayer(),
        AnomalyLayer(settings.return_z_threshold, settings.volume_z_threshold),
        CandleCloseLayer.of(settings.candle_close_timeframes),
        TimerLayer(),
    ]
    return tuple(sorted(layers, key=lambda layer: layer.priority))

