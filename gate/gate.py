"""The adaptive gate: decides, in O(1) per market event, whether the agent is woken.

Layers, highest priority first (one event yields at most one wake; its detail names every layer that fired):

1. ``feed_stale`` — no market event for ``feed_stale_s`` (checked by ``tick``), once per silence;
2. ``condition`` — an agent-set wake condition became true (edge-triggered, fires once);
3. ``anomaly`` — the candle's return or volume z-score against the long baselines crossed its threshold;
4. ``candle_close`` — a candle of a configured higher timeframe closed;
5. ``timer`` — the agent's next check (clamped), or the maximum interval without one.

Then, in this order: the cooldown (a wake that only a candle close asked for, within ``cooldown_s`` of
the last wake, is suppressed; the other layers pass), and the LLM budget, checked *before* the wake is
granted: when it is spent the wake is still returned, with ``fallback=True`` and the reason, for the
rule-based backend.
Every wake, suppressed wake and schedule is recorded as a ``GateEvent`` for the journal.

Safety is never gated: the engine runs the safety guard before it asks the gate anything, and nothing
here can delay, veto or skip a guard action (the gate returns wake reasons and events only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from core.conditions import Observation, PositionView, WakeCondition
from core.settings import GateSettings
from core.timeframes import timeframe_seconds
from core.types import Candle, PositionSide, WakeKind, WakeReason
from gate.book import ConditionBook
from gate.budget import BudgetLimits, BudgetStatus, LLMBudget
from gate.events import GateEvent, GateEventKind
from gate.scheduling import InvalidSchedule, SchedulePlan, plan_schedule
from gate.timer import GateClock, Timer, TimerSource
from gate.tracker import CandleScores, SymbolTracker

_PRIORITY = {
    WakeKind.FEED_STALE: 0,
    WakeKind.CONDITION: 1,
    WakeKind.ANOMALY: 2,
    WakeKind.CANDLE_CLOSE: 3,
    WakeKind.TIMER: 4,
}
_COOLED = frozenset({WakeKind.CANDLE_CLOSE})
"""Layers the cooldown holds back; anomalies cluster and must pass (see ``GateSettings.cooldown_s``)."""


class Gate:
    """One gate per runner (one agent); it may watch several symbols."""

    def __init__(
        self, settings: GateSettings, limits: BudgetLimits, *, symbols: Sequence[str], started_at: datetime
    ) -> None:
        if not symbols:
            raise ValueError("the gate needs at least one symbol")
        self.settings = settings
        self.limits = limits
        self.symbols = tuple(symbols)
        self._trackers = {symbol: SymbolTracker(symbol) for symbol in self.symbols}
        self._close_timeframes = tuple((tf, timeframe_seconds(tf)) for tf in settings.candle_close_timeframes)
        self._budget = LLMBudget(limits, len(self.symbols))
        self._book = ConditionBook()
        self._clock = GateClock.starting(_ts(started_at))
        self._timer = Timer.arm(self._clock.now_ts, settings.timer_max_s, TimerSource.STARTUP)
        self._events: list[GateEvent] = []

    # ------------------------------------------------------------------ market events

    def warm_up(self, candles: Sequence[Candle]) -> None:
        """Feed preloaded history into the baselines: no wakes, no events, no effect on the clock."""
        for candle in candles:
            tracker = self._tracker(candle.symbol)
            tracker.bind_timeframe(candle.timeframe, self.settings)
            tracker.ingest(candle, self.settings.anomaly_min_history)
            tracker.closed_timeframes(candle.open_at.timestamp() + tracker.timeframe_s, self._close_timeframes)

    def observe(self, candle: Candle, at: datetime | None = None) -> WakeReason | None:
        """A candle closed (``at`` defaults to its close time). Returns the wake, or ``None``."""
        tracker = self._tracker(candle.symbol)
        tracker.bind_timeframe(candle.timeframe, self.settings)
        close_ts = candle.open_at.timestamp() + tracker.timeframe_s
        now_ts = self._clock.advance(_ts(at) if at is not None else close_ts, market=True)
        scores = tracker.ingest(candle, self.settings.anomaly_min_history)
        layers: list[tuple[WakeKind, str]] = []
        if self._book:
            obs = Observation(now_ts, tracker.symbol, candle.low, candle.high, scores.volume_z, None, tracker.position)
            self._add_conditions(layers, obs)
        anomaly = self._anomaly(scores)
        if anomaly is not None:
            layers.append((WakeKind.ANOMALY, f"anomaly on {tracker.symbol} {tracker.timeframe}: {anomaly}"))
        for timeframe in tracker.closed_timeframes(close_ts, self._close_timeframes):
            layers.append((WakeKind.CANDLE_CLOSE, f"candle close: {tracker.symbol} {timeframe}"))
        return self._decide(now_ts, at, tracker.symbol, layers)

    def observe_price(self, symbol: str, price: float, at: datetime) -> WakeReason | None:
        """A trade or mark price between candle closes: price, move and P&L conditions, and the timer."""
        if price <= 0:
            raise ValueError(f"price must be positive, got {price}")
        tracker = self._tracker(symbol)
        now_ts = self._clock.advance(_ts(at), market=True)
        tracker.last_price = price
        layers: list[tuple[WakeKind, str]] = []
        if self._book:
            self._add_conditions(layers, Observation(now_ts, symbol, price, price, None, None, tracker.position))
        return self._decide(now_ts, at, symbol, layers)

    def observe_regime(self, symbol: str, regime: str, at: datetime) -> WakeReason | None:
        """The regime model's current label for ``symbol`` (a derived value, not a feed heartbeat)."""
        tracker = self._tracker(symbol)
        now_ts = self._clock.advance(_ts(at), market=False)
        tracker.regime = regime
        layers: list[tuple[WakeKind, str]] = []
        if self._book:
            self._add_conditions(layers, Observation(now_ts, symbol, regime=regime))
        return self._decide(now_ts, at, symbol, layers)

    def tick(self, now: datetime) -> WakeReason | None:
        """The live loop's clock tick: the timer, ``at_time`` conditions and the feed-stale watchdog."""
        now_ts = self._clock.advance(_ts(now), market=False)
        layers: list[tuple[WakeKind, str]] = []
        silent_s = now_ts - self._clock.last_market_ts
        if silent_s >= self.settings.feed_stale_s and not self._clock.stale_reported:
            self._clock.stale_reported = True
            layers.append((WakeKind.FEED_STALE, f"feed stale: no market data for {silent_s:g} s"))
        if self._book:
            self._add_conditions(layers, Observation(now_ts))
        return self._decide(now_ts, now, None, layers)

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
        now_ts = self._clock.advance(_ts(now), market=False)
        self._timer = Timer.arm(now_ts, plan.applied_s, TimerSource.AGENT, plan.requested_s)
        self._book.replace(plan.conditions)
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
        return _dt(self._timer.deadline_ts)

    @property
    def armed_conditions(self) -> tuple[WakeCondition, ...]:
        return self._book.conditions()

    @property
    def pending_events(self) -> tuple[GateEvent, ...]:
        """The events recorded since the last drain, oldest first, left in place."""
        return tuple(self._events)

    def drain_events(self) -> list[GateEvent]:
        """The events recorded since the last drain, oldest first (journal them with the state)."""
        events, self._events = self._events, []
        return events

    # ------------------------------------------------------------------ state

    def to_state(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this gate is, as plain JSON."""
        return {
            "version": 1,
            "symbols": list(self.symbols),
            "clock": self._clock.to_state(),
            "timer": self._timer.to_state(),
            "conditions": self._book.to_state(),
            "trackers": {symbol: tracker.to_state() for symbol, tracker in self._trackers.items()},
            "budget": self._budget.to_state(),
            "pending_events": [event.model_dump(mode="json") for event in self._events],
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], settings: GateSettings, limits: BudgetLimits) -> Gate:
        if state.get("version") != 1:
            raise ValueError(f"unknown gate state version {state.get('version')!r}")
        clock = GateClock.from_state(state["clock"])
        gate = cls(settings, limits, symbols=state["symbols"], started_at=_dt(clock.now_ts))
        gate._clock = clock
        gate._timer = Timer.from_state(state["timer"])
        gate._book = ConditionBook.from_state(state["conditions"])
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
            now_ts=max(_ts(now), self._clock.now_ts),
            settings=self.settings,
            facts={symbol: tracker.facts() for symbol, tracker in self._trackers.items()},
            primary_symbol=self.symbols[0],
        )

    def _anomaly(self, scores: CandleScores) -> str | None:
        parts = []
        if scores.return_z is not None and abs(scores.return_z) >= self.settings.return_z_threshold:
            parts.append(f"return z {scores.return_z:+.2f} ({scores.return_pct:+.3f}%)")
        if scores.volume_z is not None and scores.volume_z >= self.settings.volume_z_threshold:
            parts.append(f"volume z {scores.volume_z:+.2f}")
        return ", ".join(parts) if parts else None

    def _add_conditions(self, layers: list[tuple[WakeKind, str]], obs: Observation) -> None:
        fired = self._book.evaluate(obs)
        if fired:
            layers.append((WakeKind.CONDITION, "condition: " + "; ".join(c.describe() for c in fired)))

    def _decide(
        self, now_ts: float, at: datetime | None, symbol: str | None, layers: list[tuple[WakeKind, str]]
    ) -> WakeReason | None:
        if self._timer.due(now_ts):
            layers.append((WakeKind.TIMER, self._timer.describe()))
        if not layers:
            return None
        layers.sort(key=lambda layer: _PRIORITY[layer[0]])
        kinds = tuple(kind for kind, _ in layers)
        detail = "; ".join(text for _, text in layers)
        when = _at(at, now_ts)
        since_wake = now_ts - self._clock.last_wake_ts if self._clock.last_wake_ts is not None else None
        if _COOLED.issuperset(kinds) and since_wake is not None and since_wake < self.settings.cooldown_s:
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
        self._clock.last_wake_ts = now_ts
        self._timer = Timer.arm(now_ts, self.settings.timer_max_s, TimerSource.AFTER_WAKE)
        self._events.append(GateEvent(kind=GateEventKind.WAKE, at=when, reason=reason, layers=kinds, budget=budget))
        return reason


def _ts(at: datetime) -> float:
    if at.tzinfo is None:
        raise ValueError("naive datetime: the gate works in tz-aware UTC")
    return at.timestamp()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _at(given: datetime | None, now_ts: float) -> datetime:
    """The event's own datetime when the gate's clock did not have to hold it back, else the clock's."""
    if given is not None and given.timestamp() == now_ts:
        return given
    return _dt(now_ts)
