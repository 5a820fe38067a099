"""The adaptive gate: decides, in O(1) per market event, whether the agent is woken.

The gate turns each event (a closed candle, a price, a regime reading, the clock tick) into one
``GateObservation`` and walks its wake layers (``gate.layers``), highest priority first; one event yields
at most one wake, and its detail names every layer that fired. The default layers:

1. ``feed_stale`` — no market event for ``feed_stale_s`` (judged on the clock tick), once per silence;
2. ``condition`` — an agent-set wake condition became true (edge-triggered, fires once);
3. ``anomaly`` — the candle's return or volume z-score against the long baselines crossed its threshold;
4. ``candle_close`` — a candle of a configured higher timeframe closed;
5. ``timer`` — the agent's next check (clamped), or the maximum interval without one.

Then, in this order: the cooldown (a wake that only cooled layers asked for — by default the candle
close — within ``cooldown_s`` of the last wake, is suppressed; the other layers pass), and the LLM
budget, checked *before* the wake is granted: when it is spent the wake is still returned, with
``fallback=True`` and the reason, for the rule-based backend.
Every wake, suppressed wake and schedule is recorded as a ``GateEvent`` for the journal.

Safety is never gated: the engine runs the safety guard before it asks the gate anything, and nothing
here can delay, veto or skip a guard action (the gate returns wake reasons and events only).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from core.conditions import PositionView, WakeCondition
from core.settings import GateSettings
from core.types import Candle, PositionSide, WakeKind, WakeReason
from gate.book import ConditionBook
from gate.budget import BudgetLimits, BudgetStatus, LLMBudget
from gate.events import GateEvent, GateEventKind
from gate.layers import CandleCloseLayer, GateObservation, GateState, WakeLayer, default_layers
from gate.scheduling import InvalidSchedule, SchedulePlan, plan_schedule
from gate.tape import CandleArrays, GateTape, candidate_fires, score_series, time_deadline, wake_kinds
from gate.timer import GateClock, Timer, TimerSource
from gate.timer import at_of as _at
from gate.timer import datetime_of as _dt
from gate.timer import seconds_of as _ts
from gate.tracker import SymbolTracker

Fired = list[tuple[WakeLayer, str]]
"""The layers that fired at one event, in priority order, each with its detail line."""


@dataclass(frozen=True, slots=True)
class GateWatch:
    """The gate's state-driven reasons to wake, for a backtest that skips quiet candles (``Gate.watch``)."""

    deadline_ts: float
    """From this time on, any event wakes (the timer, or an ``at_time`` condition)."""
    conditions: tuple[WakeCondition, ...]
    """The armed wake conditions (``gate.tape.condition_holds`` tells where a candle makes one true)."""
    positions: dict[str, PositionView | None]
    """The open position per symbol, as the P&L conditions see it."""
    at_time_ts: float = math.inf
    """The earliest armed ``at_time`` condition (``deadline_ts`` without the timer; a held wake re-arms the timer)."""


class Gate:
    """One gate per runner (one agent); it may watch several symbols."""

    def __init__(
        self,
        settings: GateSettings,
        limits: BudgetLimits,
        *,
        symbols: Sequence[str],
        started_at: datetime,
        layers: Sequence[WakeLayer] | None = None,
    ) -> None:
        if not symbols:
            raise ValueError("the gate needs at least one symbol")
        self.settings = settings
        self.limits = limits
        self.symbols = tuple(symbols)
        self.layers = tuple(sorted(layers, key=lambda layer: layer.priority)) if layers else default_layers(settings)
        """Walked in this order (priority, then given order) for every event."""
        self._walk = tuple((layer, layer.fire) for layer in self.layers)
        self._trackers = {symbol: SymbolTracker(symbol) for symbol in self.symbols}
        self._budget = LLMBudget(limits, len(self.symbols))
        clock = GateClock.starting(_ts(started_at))
        self._state = GateState(clock, Timer.arm(clock.now_ts, settings.timer_max_s, TimerSource.STARTUP),
                                ConditionBook())
        self._events: list[GateEvent] = []

    # ------------------------------------------------------------------ market events

    def warm_up(self, candles: Sequence[Candle]) -> None:
        """Feed preloaded history into the baselines: no wakes, no events, no effect on the clock."""
        for candle in candles:
            tracker = self._tracker(candle.symbol)
            tracker.bind_timeframe(candle.timeframe, self.settings)
            scores = tracker.ingest(candle, self.settings.anomaly_min_history)
            close_ts = candle.open_at.timestamp() + tracker.timeframe_s
            now_ts = self._state.clock.now_ts
            obs = GateObservation(now_ts, self._state, tracker.symbol, tracker, None, candle, close_ts, scores)
            for layer in self.layers:
                layer.warm_up(obs)

    def observe(self, candle: Candle, at: datetime | None = None) -> WakeReason | None:
        """A candle closed (``at`` defaults to its close time). Returns the wake, or ``None``."""
        return self._decide(self._candle_observation(candle, at), at)

    def observe_held(self, candle: Candle, at: datetime) -> None:
        """``observe`` of a candle at which the gate wakes for the candle alone (``wake_kinds``: no armed condition,
        no cooldown) and whose decision is a hold: the layers see it (their marks move), then ``hold``."""
        obs = self._candle_observation(candle, at)
        for _, fire in self._walk:
            fire(obs)
        self.hold(obs.symbol or candle.symbol, obs.now_ts)

    def _candle_observation(self, candle: Candle, at: datetime | None) -> GateObservation:
        tracker = self._tracker(candle.symbol)
        tracker.bind_timeframe(candle.timeframe, self.settings)
        close_ts = candle.open_at.timestamp() + tracker.timeframe_s
        now_ts = self._state.clock.advance(_ts(at) if at is not None else close_ts, market=True)
        scores = tracker.ingest(candle, self.settings.anomaly_min_history)
        return GateObservation(now_ts, self._state, tracker.symbol, tracker, None, candle, close_ts, scores)

    def observe_price(self, symbol: str, price: float, at: datetime) -> WakeReason | None:
        """A trade or mark price between candle closes: price, move and P&L conditions, and the timer."""
        if price <= 0:
            raise ValueError(f"price must be positive, got {price}")
        tracker = self._tracker(symbol)
        now_ts = self._state.clock.advance(_ts(at), market=True)
        tracker.last_price = price
        return self._decide(GateObservation(now_ts, self._state, symbol, tracker, price), at)

    def observe_regime(self, symbol: str, regime: str, at: datetime) -> WakeReason | None:
        """The regime model's current label for ``symbol`` (a derived value, not a feed heartbeat)."""
        tracker = self._tracker(symbol)
        now_ts = self._state.clock.advance(_ts(at), market=False)
        tracker.set_regime(regime)
        return self._decide(GateObservation(now_ts, self._state, symbol, regime=regime), at)

    def tick(self, now: datetime) -> WakeReason | None:
        """The live loop's clock tick: the timer, ``at_time`` conditions and the feed-stale watchdog."""
        now_ts = self._state.clock.advance(_ts(now), market=False)
        return self._decide(GateObservation(now_ts, self._state, clock_tick=True), now)

    def set_position(self, symbol: str, side: PositionSide, entry_price: float) -> None:
        """The open position on ``symbol`` (for the P&L conditions); the engine calls this on entry."""
        if entry_price <= 0:
            raise ValueError(f"entry price must be positive, got {entry_price}")
        self._tracker(symbol).position = PositionView(side, entry_price)

    def clear_position(self, symbol: str) -> None:
        self._tracker(symbol).position = None

    # ------------------------------------------------------------------ the agent's side

    def check_schedule(
        self, next_check_seconds: int | None, conditions: Sequence[Mapping[str, Any] | WakeCondition], now: datetime
    ) -> list[str]:
        """Problems with this schedule, one line each for the agent; empty when ``schedule`` would accept it."""
        plan = self._plan(next_check_seconds, conditions, now)
        return plan if isinstance(plan, list) else []

    def preview_schedule(
        self, next_check_seconds: int | None, conditions: Sequence[Mapping[str, Any] | WakeCondition], now: datetime
    ) -> SchedulePlan | list[str]:
        """What ``schedule`` would arm (the clamped seconds, with a note when clamped), or its problems; no effect."""
        return self._plan(next_check_seconds, conditions, now)

    def schedule(
        self, next_check_seconds: int | None, conditions: Sequence[Mapping[str, Any] | WakeCondition], now: datetime
    ) -> SchedulePlan:
        """Arm the agent's next check (clamped) and wake conditions, replacing the previous ones.

        Raises ``InvalidSchedule`` (nothing changed) when any part is invalid.
        """
        plan = self._plan(next_check_seconds, conditions, now)
        if isinstance(plan, list):
            raise InvalidSchedule(plan)
        now_ts = self._state.clock.advance(_ts(now), market=False)
        self._state.timer = Timer.arm(now_ts, plan.applied_s, TimerSource.AGENT, plan.requested_s)
        self._state.book.replace(plan.conditions)
        armed = "; ".join(condition.describe() for condition in plan.conditions) or "no conditions"
        detail = f"next check in {plan.applied_s} s; {armed}" + "".join(f"; {note}" for note in plan.notes)
        self._events.append(GateEvent(kind=GateEventKind.SCHEDULED, at=_at(now, now_ts), detail=detail))
        return plan

    def record_usage(self, tokens: int, usd: float, at: datetime) -> None:
        """What a decision actually cost (tokens in + out, dollars), counted in the budget windows at ``at``."""
        self._budget.record_usage(_ts(at), tokens, usd)

    def budget_status(self, now: datetime) -> BudgetStatus:
        return self._budget.status(_ts(now))

    @property
    def next_check_at(self) -> datetime:
        return _dt(self._state.timer.deadline_ts)

    @property
    def armed_conditions(self) -> tuple[WakeCondition, ...]:
        return self._state.book.conditions()

    @property
    def pending_events(self) -> tuple[GateEvent, ...]:
        """The events recorded since the last drain, oldest first, left in place."""
        return tuple(self._events)

    def drain_events(self) -> list[GateEvent]:
        """The events recorded since the last drain, oldest first (journal them with the state)."""
        events, self._events = self._events, []
        return events

    # ------------------------------------------------------------------ a whole series at once (backtests)

    def tape(self, symbol: str, timeframe: str, candles: CandleArrays) -> GateTape:
        """``candles`` (the ones after those the gate has seen) scored from the symbol's baselines as they are
        now; the gate itself is unchanged (``restore_tracker`` moves it along the tape)."""
        tracker = self._tracker(symbol)
        tracker.bind_timeframe(timeframe, self.settings)
        timeframes = [tf for layer in self.layers if isinstance(layer, CandleCloseLayer) for tf in layer.timeframes]
        return score_series(tracker, candles, self.settings, timeframes)

    def candidates(self, tape: GateTape) -> np.ndarray:
        """The candles of ``tape`` at which a layer that judges the candle alone fires (anomaly, candle close),
        exactly as ``observe`` would see them; every candle for a layer of a kind not known here. The layers
        that depend on the gate's state (timer, conditions) are ``watch``'s; the feed watchdog never fires on
        a candle. A candidate may still be held back by the cooldown or go to the fallback: ``observe`` decides."""
        return candidate_fires(self.layers, tape)

    def note_regime(self, symbol: str, regime: str) -> None:
        """The symbol's regime as its latest (skipped) candle would have shown it, without judging anything."""
        self._tracker(symbol).set_regime(regime)

    @property
    def judges_regime(self) -> bool:
        """Whether a regime reading could wake the agent now: only an armed condition reads it (a regime
        observation comes right after its candle's, whose wake re-armed any due timer)."""
        return bool(self._state.book)

    def note_regime_later(self, symbol: str, read: Callable[[], str | None], *, labelled: bool = False) -> None:
        """``observe_regime`` while ``judges_regime`` is false, with the reading left to whoever asks for the label
        (``SymbolTracker.regime``): ``read()`` is the label, or ``None`` (the label stays as it was); ``labelled``:
        it is known not to be ``None`` (the older readings are dropped unread)."""
        self._tracker(symbol).defer_regime(read, labelled=labelled)

    def restore_tracker(self, tape: GateTape, k: int) -> None:
        """The symbol's baselines as observing ``tape``'s candles up to ``k`` would have left them."""
        tape.restore(self._tracker(tape.symbol), k)

    def watch(self) -> GateWatch:
        """What can wake the agent besides the candidates, as things stand: a time (the timer, an ``at_time``
        condition) and the armed conditions a candle can make true."""
        conditions = self._state.book.conditions()
        deadline = self._state.timer.deadline_ts
        at_time = time_deadline(conditions)
        if at_time is not None:
            deadline = min(deadline, at_time)
        positions = {symbol: tracker.position for symbol, tracker in self._trackers.items()}
        return GateWatch(deadline, conditions, positions, math.inf if at_time is None else at_time)

    def wake_kinds(self, tape: GateTape) -> np.ndarray | None:
        """Per candle of ``tape``: the kind of the wake granted for the candle alone (``gate.tape.wake_kinds``)."""
        return wake_kinds(self.layers, self.settings.cooldown_s, tape)

    def hold(self, symbol: str, now_ts: float) -> None:
        """A wake granted at ``now_ts`` whose decision held (no tool call, no usage), without its events: the state
        ``_grant`` and the engine's ``record_usage`` leave, for a backtest that decides such wakes in bulk (a candle
        ``wake_kinds`` told, before the timer's deadline, no armed condition holding)."""
        self.hold_many((symbol,), (now_ts,))

    def hold_many(self, symbols: Sequence[str], times_ts: Sequence[float]) -> None:
        """``hold`` of each wake in order (``symbols[i]`` at ``times_ts[i]``) in one pass: only the budget's windows
        depend on each wake; the clock, the last wake and the timer end where the last one leaves them."""
        clock, now_ts, wakes = self._state.clock, self._state.clock.now_ts, []
        for symbol, ts in zip(symbols, times_ts, strict=True):
            now_ts = max(now_ts, ts)  # ``GateClock.advance``
            wakes.append((now_ts, symbol))
        if not wakes:
            return
        clock.advance(now_ts, market=True)
        self._budget.hold_wakes(wakes)
        clock.last_wake_ts = now_ts
        self._state.timer = Timer.arm(now_ts, self.settings.timer_max_s, TimerSource.AFTER_WAKE)

    # ------------------------------------------------------------------ state

    def to_state(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this gate is, as plain JSON."""
        return {
            "version": 1,
            "symbols": list(self.symbols),
            "clock": self._state.clock.to_state(),
            "timer": self._state.timer.to_state(),
            "conditions": self._state.book.to_state(),
            "trackers": {symbol: tracker.to_state() for symbol, tracker in self._trackers.items()},
            "budget": self._budget.to_state(),
            "pending_events": [event.model_dump(mode="json") for event in self._events],
        }

    @classmethod
    def from_state(
        cls,
        state: Mapping[str, Any],
        settings: GateSettings,
        limits: BudgetLimits,
        *,
        layers: Sequence[WakeLayer] | None = None,
    ) -> Gate:
        if state.get("version") != 1:
            raise ValueError(f"unknown gate state version {state.get('version')!r}")
        clock = GateClock.from_state(state["clock"])
        gate = cls(settings, limits, symbols=state["symbols"], started_at=_dt(clock.now_ts), layers=layers)
        gate._state = GateState(clock, Timer.from_state(state["timer"]), ConditionBook.from_state(state["conditions"]))
        gate._trackers = {s: SymbolTracker.from_state(s, t, settings) for s, t in state["trackers"].items()}
        gate._budget = LLMBudget.from_state(limits, state["budget"], len(gate.symbols))
        gate._events = [GateEvent.model_validate(event) for event in state["pending_events"]]
        return gate

    # ------------------------------------------------------------------ internals

    def _tracker(self, symbol: str) -> SymbolTracker:
        try:
            return self._trackers[symbol]
        except KeyError:
            raise ValueError(f"the gate does not watch {symbol!r} (it watches {', '.join(self.symbols)})") from None

    def _plan(
        self, next_check_seconds: int | None, conditions: Sequence[Mapping[str, Any] | WakeCondition], now: datetime
    ) -> SchedulePlan | list[str]:
        return plan_schedule(
            next_check_seconds,
            conditions,
            now_ts=max(_ts(now), self._state.clock.now_ts),
            settings=self.settings,
            facts={symbol: tracker.facts() for symbol, tracker in self._trackers.items()},
            primary_symbol=self.symbols[0],
        )

    def _decide(self, obs: GateObservation, at: datetime | None) -> WakeReason | None:
        fired: Fired = []
        for layer, fire in self._walk:
            details = fire(obs)
            if details:
                fired.extend((layer, detail) for detail in details)
        if not fired:
            return None
        now_ts, symbol = obs.now_ts, obs.symbol
        kinds = tuple(layer.kind for layer, _ in fired)
        detail = "; ".join(text for _, text in fired)
        when = _at(at, now_ts)
        last_wake_ts = self._state.clock.last_wake_ts
        since_wake = now_ts - last_wake_ts if last_wake_ts is not None else None
        if all(layer.cooled for layer, _ in fired) and since_wake is not None and since_wake < self.settings.cooldown_s:
            held = WakeReason(kind=kinds[0], detail=detail, at=when, symbol=symbol)
            why = f"cooldown: last wake {since_wake:g} s ago, cooldown {self.settings.cooldown_s} s"
            self._events.append(
                GateEvent(
                    kind=GateEventKind.SUPPRESSED,
                    at=when,
                    reason=held,
                    layers=kinds,
                    suppressed_by="cooldown",
                    detail=why,
                )
            )
            return None
        return self._grant(now_ts, when, symbol, kinds, detail)

    def _grant(
        self, now_ts: float, when: datetime, symbol: str | None, kinds: tuple[WakeKind, ...], detail: str
    ) -> WakeReason:
        budget = self._budget.status(now_ts, symbol)
        if budget.exhausted is None:
            self._budget.record_wake(now_ts, symbol)
        reason = WakeReason(
            kind=kinds[0],
            detail=detail,
            at=when,
            symbol=symbol,
            fallback=budget.exhausted is not None,
            fallback_reason=budget.exhausted,
        )
        self._state.clock.last_wake_ts = now_ts
        self._state.timer = Timer.arm(now_ts, self.settings.timer_max_s, TimerSource.AFTER_WAKE)
        self._events.append(GateEvent(kind=GateEventKind.WAKE, at=when, reason=reason, layers=kinds, budget=budget))
        return reason

