"""One engine for live runs and backtests: ``Engine.step(event)`` is the event flow of DESIGN.md.

Events (``engine/events.py``): a candle closed, a price tick, the timer tick, a derivatives reading, and
pending operator commands. Each step:

    1. on ``CommandsPending``, the operator's commands (halt, resume, sleep) are applied before anything else;
       then the event's news is taken in (the latest price for safety, a derivatives reading for snapshots);
    2. the safety guard runs, finalization-first, over every pending entry and open position; then managed
       holdings (spot): their commands, proposals, drift, and their guarded positions (``engine/holdings.py``);
    3. the gate looks at the event and returns a wake reason or nothing;
    4. on a wake, unless safety blocks the agent (halted, sleeping), the agent decides on a snapshot
       as of the event time; its schedule goes to the gate and its memory note to the store;
    5. every position closed during the step goes to the learner, exactly once;
    6. everything is journaled (the pieces journal their own parts; the engine adds wakes and decisions).

Live and backtest differ only in the clock, the feed and the broker (``engine/wiring.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import assert_never

from agent.closing import aclose_backend
from agent.memory import AgentMemory
from agent.records import decision_event
from core.decisions import RequestPart, parts_read
from core.errors import OperationalError, TemporaryError
from core.ids import Symbol
from core.ports import AgentBackend, Clock, NewEvent, Store
from core.types import ClosedTrade, DecisionRecord, PositionSide, WakeKind, WakeReason
from engine.book import DecisionLog
from engine.events import CandleClosed, CommandsPending, DerivativesUpdated, Event, PriceTick, TimerTick
from engine.holdings import HoldingsLink
from engine.request import decision_request
from gate.gate import Gate
from gate.persistence import journal_gate_events, save_gate
from gate.scheduling import InvalidSchedule
from learning.service import Learner
from market.builder import Market
from market.regime import regime_label
from safety.alerts import AlertKind, VetoStreak, make_alert
from safety.service import SafetyService
from tools.registry import SIDE_EFFECT_TOOLS


@dataclass
class StepReport:
    """What one step did, for the backtest's statistics and the live loop's log."""

    at: datetime
    commands: int = 0
    closed: list[ClosedTrade] = field(default_factory=list)
    wake: WakeReason | None = None
    blocked: str | None = None
    decision: DecisionRecord | None = None
    guard_errors: list[str] = field(default_factory=list)
    held: bool = False
    """The step's wake was decided as a hold without the agent (``Engine.step``'s ``hold``)."""


@dataclass
class Engine:
    clock: Clock
    store: Store
    market: Market
    safety: SafetyService
    gate: Gate
    agent: AgentBackend
    learner: Learner
    memory: AgentMemory
    veto_streak: VetoStreak = field(default_factory=lambda: VetoStreak(threshold=3))
    gate_persist_every: int = 1
    """Save the gate's state every N steps (live: 1, with every step's events); see ``_persist_gate``."""
    holdings: HoldingsLink | None = None
    """Managed holdings (spot runs)."""
    decisions: DecisionLog = field(default_factory=DecisionLog)
    """The last few decisions, for the agent's book (read back from the journal after a restart)."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held by every part that reads or changes safety's state (a step's safety part, a guard pass, each desk
    call of a decision); shared with the agent's desk (``engine/wiring.py``)."""
    guarded_at: datetime | None = None
    """When the last guard pass ran (engine clock)."""
    equity_fetch_s: float = 0.0
    """Read the account's balances for the equity at most this often (engine clock), and whenever commands or an
    account change ask for it; in between the equity is re-marked at the latest prices. 0: every step (backtests)."""
    regime_on_demand: bool = False
    """Read the regime only when something asks for it (a backtest: its candles never change under a step). The
    gate's label then waits until it is read (``Gate.note_regime_later``) while no armed condition could fire on
    it, and a decision's request reads it when a tool does (``engine.request``): a refit period nobody reads is
    never fitted. Live runs read it at every candle (their tracker's history moves with the feed); a backtest sets
    it (``engine.wiring``)."""
    _equity_at: datetime | None = None
    _steps: int = 0

    async def step(self, event: Event, *, wake: WakeReason | None = None, hold: bool = False) -> StepReport:
        """One event through the flow above. ``wake`` replaces the gate's verdict for this step (an
        operator's request for a decision now, e.g. ``tradewake decide``); safety still goes first.

        ``hold`` (a backtest, for a candle whose wake the agent's declaration makes a hold:
        ``engine.request.DeclaresActions``): safety steps as ever, and the wake is decided as a hold in bulk
        would be (``Gate.observe_held``; ``StepReport.held``), without the agent and the wake's journal events,
        unless the agent is blocked now or an armed condition judges this candle (then the step is a full one).

        The safety parts run under :attr:`lock`; the agent's decision does not hold it (each of its desk calls
        takes it), so a live loop's :meth:`guard` passes go on while a decision is in flight."""
        now = self.clock.now()
        report = StepReport(at=now)
        async with self.lock:
            await self._safety_first((event,), now, report)
            if hold and isinstance(event, CandleClosed) and self._may_hold(now):
                self.gate.observe_held(event.candle, now)
                self._observe_regime(event.candle.symbol, now)
                report.held = True
                await self._finish(report, now)
                return report
            report.wake = self._observe(event, now) if wake is None else wake
            if report.wake is not None and report.wake.kind is WakeKind.FEED_STALE:
                await self.safety.alert(make_alert(AlertKind.FEED_STALE, report.wake.detail, now))
        if report.wake is not None:
            report.blocked = self.safety.agent_blocked(now)
            if report.blocked is None:
                report.decision = await self._decide(report.wake, now)
                async with self.lock:
                    report.closed.extend(self.safety.drain_closed())
                    self._sync_positions()
            else:
                self.store.append(NewEvent(kind="wake.blocked", at=now, payload={"reason": report.blocked}))
        await self._finish(report, now)
        return report

    async def guard(
        self, *events: PriceTick | TimerTick | CommandsPending, account_changed: bool = False
    ) -> StepReport:
        """Safety alone: the operator's commands, the event's price, the guard's pass, the learner. No gate, no
        agent. The live loop runs it on its own cadence (a fill on the account, a price tick while a position is
        open, the safety interval), also while a decision is in flight: it waits only for the desk call in
        progress (:attr:`lock`), never for the whole decision (``docs/architecture.md``). Several events are taken
        in before one pass (the latest price of every symbol, say). ``account_changed``: the account reported a
        change (a fill, say), so its balances are read again."""
        now = self.clock.now()
        report = StepReport(at=now)
        async with self.lock:
            await self._safety_first(events, now, report, account_changed=account_changed)
        await self._finish(report, now)
        return report

    async def _safety_first(
        self, events: Sequence[Event], now: datetime, report: StepReport, *, account_changed: bool = False
    ) -> None:
        """Commands first (a halt holds for everything that follows), then the events' news, then the guard."""
        commands = any(isinstance(event, CommandsPending) for event in events)
        if commands:
            report.commands = len(await self.safety.apply_commands(now))
        for event in events:
            self._take_in(event, now)
        await self._equity(now, fetch=commands or account_changed)
        guard = await self.safety.guard(now)
        self.guarded_at = now
        report.closed.extend(guard.closed)
        report.guard_errors = list(guard.errors)
        leases = await self.safety.keep_leases(now)  # several runners: the lease round and any takeover
        if leases is not None:
            report.closed.extend(leases.closed)
        if self.holdings is not None:
            for event in events:
                await self.holdings.step(event, now)
        self._sync_positions()

    async def _equity(self, now: datetime, *, fetch: bool) -> None:
        """Balances read when due, else the last ones re-marked. A failed read keeps the last equity (journaled;
        the exchange breaker has counted the error and alerts when they pile up): the guard still runs."""
        last = self._equity_at
        if fetch or last is None or (now - last).total_seconds() >= self.equity_fetch_s:
            try:
                await self.safety.refresh_equity(now)
            except (TemporaryError, OperationalError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                self.store.append(NewEvent(kind="equity.stale", at=now, payload={"error": error}))
            else:
                self._equity_at = now
                return
        self.safety.remark_equity()

    async def _finish(self, report: StepReport, now: datetime) -> None:
        """Every close to the learner (exactly once: each is drained once), alerts out, the gate saved."""
        for trade in report.closed:
            self.learner.record_trade(trade)
        await self._send_alerts()
        self._persist_gate(now)

    async def close(self) -> None:
        """Save what is only in memory (the gate's statistics) and close the agent's connections (the SDK
        client's pool) before the process ends."""
        self._persist_gate(self.clock.now(), force=True)
        await aclose_backend(self.agent)

    # ------------------------------------------------------------------ steps

    def _take_in(self, event: Event, now: datetime) -> None:
        """What the event tells the engine's view of the market: a price for safety, a reading for snapshots."""
        match event:
            case CandleClosed(candle=candle):
                self.safety.mark(candle.symbol, Decimal(str(candle.close)), now)
            case PriceTick(symbol=symbol, price=price):
                self.safety.mark(symbol, Decimal(str(price)), now)
            case DerivativesUpdated(reading=reading):
                self.market.record_derivatives(reading)
            case TimerTick() | CommandsPending():
                pass
            case _:
                assert_never(event)

    def _observe(self, event: Event, now: datetime) -> WakeReason | None:
        """The gate's look at the event (one wake at most). No wake layer judges derivatives or commands yet."""
        match event:
            case CandleClosed(candle=candle):
                wake = self.gate.observe(candle, now)
                regime_wake = self._observe_regime(candle.symbol, now)  # always: the gate tracks the regime
                return wake or regime_wake
            case PriceTick(symbol=symbol, price=price):
                return self.gate.observe_price(symbol, price, now)
            case TimerTick():
                return self.gate.tick(now)
            case DerivativesUpdated() | CommandsPending():
                return None
            case _:
                assert_never(event)

    def _may_hold(self, now: datetime) -> bool:
        return not self.gate.armed_conditions and self.safety.agent_blocked(now) is None

    def _observe_regime(self, symbol: Symbol, now: datetime) -> WakeReason | None:
        tracker = self.market.builder(symbol).regime
        if tracker is None:
            return None
        if self.regime_on_demand and not self.gate.judges_regime:
            self.gate.note_regime_later(symbol, partial(regime_label, tracker, now), labelled=tracker.has_reading(now))
            return None
        reading = tracker.at(now)
        return self.gate.observe_regime(symbol, reading.label, now) if reading is not None else None

    def _sync_positions(self) -> None:
        """Tell the gate which positions are open (its P&L wake conditions need the entry)."""
        open_by_symbol = {p.symbol: p for p in self.safety.positions()}
        for symbol in self.gate.symbols:
            position = open_by_symbol.get(Symbol(symbol))
            if position is None:
                self.gate.clear_position(symbol)
            else:
                side = PositionSide(position.side)
                self.gate.set_position(symbol, side, float(position.entry_price))

    async def _decide(self, wake: WakeReason, now: datetime) -> DecisionRecord:
        symbol = Symbol(wake.symbol) if wake.symbol else self.market.symbols[0]
        reads = parts_read(self.agent)
        if RequestPart.BOOK in reads:
            self.decisions.seed(self.store)
        request = decision_request(wake, symbol, now, reads, market=self.market, safety=self.safety,
                                   learner=self.learner, decisions=self.decisions,
                                   regime_on_demand=self.regime_on_demand)
        record = await self.agent.decide(request)
        if RequestPart.BOOK in reads:
            self.decisions.add(record)
        self.store.append(decision_event(record))
        if record.memory_update is not None:
            self.memory.update(record.memory_update, now)
        self._schedule(record, now)
        await self._watch_vetoes(record, now)
        usage = record.usage
        self.gate.record_usage(usage.total_tokens, usage.cost_usd, now)
        return record

    def _schedule(self, record: DecisionRecord, now: datetime) -> None:
        """Arm the agent's next check. The tool validated it already; a refusal here is journaled, and the
        gate keeps its default timer (it never goes silent)."""
        if record.next_check_seconds is None and not record.wake_conditions:
            return
        try:
            self.gate.schedule(record.next_check_seconds, record.wake_conditions, now)
        except InvalidSchedule as exc:
            self.store.append(NewEvent(kind="schedule.refused", at=now, payload={"errors": list(exc.errors)}))

    async def _watch_vetoes(self, record: DecisionRecord, now: datetime) -> None:
        """An agent refused again and again may be stuck in a loop: a human hears of it."""
        for call in record.tool_calls:
            if call.name not in SIDE_EFFECT_TOOLS:
                continue
            alert = self.veto_streak.observe(call.veto is not None, call.veto.code if call.veto else "", now)
            if alert is not None:
                await self.safety.alert(alert)

    async def _send_alerts(self) -> None:
        """What the agent's backend has for a human (the LLM breaker opening, ...)."""
        for alert in self.agent.drain_alerts():
            await self.safety.alert(alert)

    def _persist_gate(self, now: datetime, *, force: bool = False) -> None:
        """Gate events are journaled in the same transaction as the state that produced them (live: every step).
        A backtest (``gate_persist_every`` > 1: never recovered, only rerun) saves the state every N steps and at
        the end, and journals the events of the steps in between on their own, in the same order."""
        self._steps += 1
        if force or self._steps % self.gate_persist_every == 0:
            save_gate(self.gate, self.store)
        elif self.gate.pending_events:
            journal_gate_events(self.gate, self.store)
