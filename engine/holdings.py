"""Managed holdings in the engine: where ``holdings/`` (lifecycle, proposals, drift) meets the safety service
(which guards a managed holding as a position opened without an entry order, ``safety/managed.py``).

``engine/wiring.py`` builds a :class:`HoldingsLink` for spot runs. At each engine step, right after the safety
pass, :meth:`HoldingsLink.step`:

1. guards every protected holding (``safety.hold_managed``): opens it (no entry order; the guard places its
   stop in the same call), applies the operator's new terms or stage, lets it go on a release; its news goes
   back to holdings: a close -> ``record_exit`` (exactly once: only while the asset is still managed), a
   finished release -> ``record_released``;
2. runs the holdings cycle: holdings commands (on ``CommandsPending``), pending proposals, the TTL job, drift;
3. when the cycle changed anything, guards again (an approval is guarded in the step that applied it);
4. sends every alert through ``safety.alert``.

It stays cheap when nothing is managed: the records are read once at start, on ``CommandsPending``, on
``TimerTick`` while some asset needs work (live: every ``safety_interval_s``) and after a change; a step with no
record that needs work reads nothing and does nothing. A backtest never queues a command, so it reads once
(``benchmarks/holdings.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.ids import Symbol
from core.money import MarketRules
from core.ports import Clock, Store
from core.settings import Settings
from core.types import Alert
from engine.events import CommandsPending, Event, TimerTick
from holdings.book import HoldingsBook, Loaded
from holdings.commands import KIND_PREFIX
from holdings.config import HoldingsConfig, mode_policy
from holdings.lifecycle import Action, Actor, HoldingState
from holdings.plan import Plan
from holdings.reconcile_rules import PROTECTED, spot_verdict
from holdings.records import HoldingRecord
from holdings.service import CycleReport, HoldingsService
from holdings.sources import MarketReading, SnapshotMarketSource, Wallet, base_of
from market.builder import Market
from safety.proposals import CloseProposal, Proposal
from safety.service import HoldingShare, ManagedOutcome, ManagedSpec, ManagedStage, SafetyService
from safety.verdicts import Vetoed

HOLDINGS_COMMANDS = (KIND_PREFIX,)
"""Queued command kinds the holdings service applies (the safety applier leaves them in the queue)."""

WORK = frozenset({HoldingState.PROPOSAL_PENDING, HoldingState.RISK_PROPOSED, *PROTECTED})
"""States in which an asset needs the engine at every step (to generate, expire, check drift or guard)."""

STAGES = {
    HoldingState.MANAGED_ACTIVE: ManagedStage.ACTIVE,
    HoldingState.MANAGED_PAUSED: ManagedStage.PAUSED,
    HoldingState.MANAGED_DRIFT_ALERT: ManagedStage.PAUSED,
    HoldingState.RELEASE_PENDING: ManagedStage.RELEASE,
}


def run_holdings_config(settings: Settings, *, real_money: bool) -> HoldingsConfig:
    """The holdings config of a run; ``real_money`` is the composition root's word (``RunPlan.real_money``)."""
    risk = settings.risk
    policy = mode_policy(risk, risk.effective_for(settings.mode), label=settings.mode.value, real_money=real_money)
    return HoldingsConfig(policy=policy, quote=settings.exchange.quote)


@dataclass(frozen=True)
class SpotHoldings:
    """Managed holdings for a spot run, as ``build_engine`` wires them: what the safety service is built with
    (the command kinds it leaves to holdings, reconciliation's view) and the engine's link once it exists."""

    service: HoldingsService
    delegated: tuple[str, ...] = HOLDINGS_COMMANDS

    @classmethod
    def build(
        cls, store: Store, clock: Clock, market: Market, rules: Mapping[Symbol, MarketRules], config: HoldingsConfig
    ) -> SpotHoldings:
        return cls(HoldingsService(store, clock, EngineMarket(market, rules), config))

    def view(self) -> SpotHoldingsView:
        return SpotHoldingsView(self.service.book)

    def link(self, safety: SafetyService) -> HoldingsLink:
        return HoldingsLink.open(self.service, safety)


def managed_spec(record: HoldingRecord, wallet: Wallet) -> ManagedSpec:
    """What the guard must hold for a protected holding, from its terms."""
    terms = record.terms
    if terms is None:
        raise ValueError(f"{record.asset} ({record.state.value}) has no managed terms")
    return ManagedSpec(
        asset=record.asset,
        position_id=terms.position_id,
        symbol=terms.symbol,
        quantity=terms.managed_quantity,
        entry=terms.synthetic_entry,
        stop=terms.stop,
        take_profit=terms.take_profit,
        terms=terms.guard_stamp(),
        stage=STAGES[record.state],
        available=wallet.held(record.asset, terms.position_id),
    )


@dataclass
class HoldingsStepReport:
    guarded: list[ManagedOutcome] = field(default_factory=list)
    news: list[Plan] = field(default_factory=list)
    """What holdings was told (exits, finished releases)."""
    cycle: CycleReport | None = None
    alerts: list[Alert] = field(default_factory=list)


@dataclass
class HoldingsLink:
    service: HoldingsService
    safety: SafetyService
    records: list[Loaded] = field(default_factory=list)
    """The holdings records as last read: which assets need work (every decision re-reads its own)."""

    @classmethod
    def open(cls, service: HoldingsService, safety: SafetyService) -> HoldingsLink:
        link = cls(service, safety)
        link.reload()
        return link

    def reload(self) -> None:
        self.records = self.service.book.all()

    @property
    def busy(self) -> bool:
        return any(loaded.record.state in WORK for loaded in self.records)

    async def step(self, event: Event, now: datetime) -> HoldingsStepReport | None:
        """One engine step's holdings work (see the module docstring); ``None`` when there was none."""
        commands = isinstance(event, CommandsPending)
        if commands or (isinstance(event, TimerTick) and self.busy):
            self.reload()  # what another process (a runner, the TTL of another) decided meanwhile
        if not commands and not self.busy:
            return None
        report = HoldingsStepReport()
        if await self._guard(report, now):
            self.reload()
        report.cycle = self.service.cycle(self._wallet(now), commands=commands, records=self.records)
        if _changed(report.cycle):
            self.reload()
            if await self._guard(report, now):
                self.reload()
        for alert in [*report.cycle.alerts, *report.alerts]:
            await self.safety.alert(alert)
        return report

    async def refused_to_bot(self, proposal: Proposal, vetoed: Vetoed) -> None:
        """The agent asked to close or change a managed holding and the veto said no: that is the bot trying
        to take the asset out of the operator's terms, journaled ``managed.policy_change_blocked`` (and a human
        is alerted) by the lifecycle, which refuses it."""
        action = Action.RELEASE if isinstance(proposal, CloseProposal) else Action.OVERRIDE
        plan = self.service.attempt(base_of(proposal.symbol), action, Actor.BOT, f"agent tool call: {vetoed.message}")
        for alert in plan.alerts:
            await self.safety.alert(alert)

    # ------------------------------------------------------------------ the guard's side

    async def _guard(self, report: HoldingsStepReport, now: datetime) -> bool:
        """Hold every protected holding; whether a record changed (an exit or a release was recorded)."""
        changed = False
        wallet = self._wallet(now)
        for loaded in self.records:
            record = loaded.record
            if record.state not in PROTECTED or record.terms is None:
                continue
            outcome = await self.safety.hold_managed(managed_spec(record, wallet), now)
            report.guarded.append(outcome)
            news = self._tell(record, outcome, report, now)
            if news is not None:
                report.news.append(news)
                changed = changed or not news.refused
        return changed

    def _tell(
        self, record: HoldingRecord, outcome: ManagedOutcome, report: HoldingsStepReport, now: datetime
    ) -> Plan | None:
        match outcome.status:
            case "closed" if outcome.trade is not None:
                trade = outcome.trade
                report.alerts.append(
                    Alert(
                        severity="warning",
                        kind="managed_exit",
                        message=f"{record.asset}: the managed holding was sold ({trade.exit_reason.value}) at "
                        f"{trade.exit_price}. Decide: tradewake holdings release|propose {record.asset}",
                        at=now,
                        dedup_key=f"managed_exit:{trade.position_id}",
                    )
                )
                return self.service.record_exit(record.asset, trade.exit_reason.value, trade.exit_price)
            case "released":
                return self.service.record_released(record.asset)
            case "refused":
                report.alerts.append(
                    Alert(
                        severity="warning",
                        kind="managed_unguarded",
                        message=f"{record.asset} is {record.state.value} but not guarded: {outcome.message}",
                        at=now,
                        dedup_key=f"managed_unguarded:{record.asset}",
                    )
                )
        return None

    def _wallet(self, now: datetime) -> Wallet:
        safety = self.safety
        return Wallet(safety.balances, safety.equity, positions=safety.positions(), blockers=safety.blockers(now))


def _changed(cycle: CycleReport) -> bool:
    plans = [*cycle.commands, *cycle.generated, *cycle.expired, *cycle.drift]
    return any(plan.record is not None for plan in plans)


# ---------------------------------------------------------------------- the ports holdings and safety ask through


@dataclass(frozen=True)
class SpotHoldingsView:
    """Reconciliation's question (``safety.service.SpotHoldings``), answered from the holdings records: a spot
    balance beyond the bot's positions is a managed holding's (not guarded yet) or the operator's, never the bot's."""

    book: HoldingsBook

    def share(self, asset: str, unexplained: Decimal, attached: Decimal) -> HoldingShare:
        try:
            loaded = self.book.load(asset)
        except ValueError:  # not a name holdings can record (never managed): the operator's
            loaded = None
        record = loaded.record if loaded is not None and loaded.version else None
        verdict = spot_verdict(asset, unexplained, record, attached)
        return HoldingShare(managed=verdict.managed, operator=verdict.operator, reason=verdict.reason)


@dataclass(frozen=True)
class EngineMarket:
    """Holdings' market source over the engine's own snapshot builders (what the agent's snapshots come from)."""

    market: Market
    rules: Mapping[Symbol, MarketRules]

    def reading(self, symbol: Symbol, as_of: datetime, related: Sequence[Symbol] = ()) -> MarketReading:
        known = [s for s in (symbol, *related) if s in self.market.symbols]
        closes = {s: self.market.builder(s).closes() for s in known} if related else {}
        timeframe = self.market.builder(symbol).base_timeframe if symbol in self.market.symbols else "1h"
        source = SnapshotMarketSource(self.market, self.rules, closes, timeframe=timeframe)
        return source.reading(symbol, as_of, related)
