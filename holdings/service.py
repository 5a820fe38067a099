"""The holdings service: carries out the lifecycle's plans on the ``Store``, atomically.

Built with ``(store, clock, market source, config)`` and called with the wallet (balances and
equity) the caller knows. The engine step (``engine/holdings.py``) calls :meth:`HoldingsService.cycle`
after the safety pass and routes the guard's news to :meth:`record_exit` / :meth:`record_released`. Every
method reads the time once from the injected clock.

How a decision is carried out (:meth:`_carry_out`): read the asset's record, plan (pure), commit the
plan in one transaction with compare-and-set on the record's version. If another process decided
first (``ConflictError``), read again and plan again: the loser's second plan is a refusal that says
who won (``already decided: approved by the operator at ...``). An operator command's outcome is
stored once under its idempotency key in the same transaction, so a command applied twice (a crash
before the queue was told, two runners) returns the recorded outcome and acts once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from core.errors import ConflictError, OperationalError
from core.ids import PositionId
from core.money import to_decimal
from core.ports import Clock, CommandStatus, OperatorCommand, Store
from core.types import Alert
from holdings import commands as cmd
from holdings.book import HoldingsBook, Loaded
from holdings.config import HoldingsConfig
from holdings.drift import Observation
from holdings.generation import build_proposal, rebase_now, symbol_of
from holdings.lifecycle import Action, Actor, HoldingState
from holdings.managed_plans import Rebase, plan_override, plan_resume, plan_simple
from holdings.operator_plans import OperatorContext, plan_approve, plan_reject, plan_request
from holdings.plan import Plan, event_payload
from holdings.proposal import Proposal
from holdings.records import AppliedCommand, HoldingRecord, proposal_asset
from holdings.sources import MARKET_ERRORS, MarketReading, MarketSource, Wallet
from holdings.system_plans import (
    plan_abort,
    plan_attempt,
    plan_drift,
    plan_exit,
    plan_expire,
    plan_generate,
    plan_release_done,
)

MAX_ATTEMPTS = 5
"""Re-plans after a lost compare-and-set before giving up loudly (each loser re-reads what won)."""

Planner = Callable[[Loaded], Plan | None]


@dataclass
class CycleReport:
    commands: list[Plan] = field(default_factory=list)
    generated: list[Plan] = field(default_factory=list)
    expired: list[Plan] = field(default_factory=list)
    drift: list[Plan] = field(default_factory=list)

    @property
    def alerts(self) -> list[Alert]:
        """What a human must hear about (drift, blocked policy changes): the caller sends them."""
        plans = [*self.commands, *self.generated, *self.expired, *self.drift]
        return [alert for plan in plans for alert in plan.alerts]


class HoldingsService:
    def __init__(self, store: Store, clock: Clock, market: MarketSource, config: HoldingsConfig) -> None:
        self.store = store
        self.clock = clock
        self.market = market
        self.config = config
        self.book = HoldingsBook(store)

    handles = staticmethod(cmd.is_holdings_kind)
    """``handles(kind)``: whether a queued operator command is this service's to apply."""

    # ------------------------------------------------------------------ one engine step

    def cycle(self, wallet: Wallet, *, commands: bool = True, records: list[Loaded] | None = None) -> CycleReport:
        """Everything one engine step owes the holdings: commands, pending proposals, the TTL job, drift.

        ``commands``: apply the queued holdings commands (the engine does on ``CommandsPending``). ``records``:
        the records as the caller last read them (a hint of what needs work: every decision re-reads its asset
        before it commits); ``None``, or any command applied, reads them once."""
        report = CycleReport()
        if commands:
            report.commands = self.apply_pending(wallet)
        loaded = self.book.all() if records is None or report.commands else records
        report.generated = self.generate_pending(wallet, loaded)
        report.expired = self.expire_due(loaded)
        report.drift = self.check_drift(wallet, loaded)
        return report

    # ------------------------------------------------------------------ operator commands

    def apply_pending(self, wallet: Wallet) -> list[Plan]:
        """Apply every queued holdings command in queue order (other kinds are left to their owners)."""
        return [self.apply(r.command, wallet) for r in self.store.pending_commands() if self.handles(r.command.kind)]

    def apply(self, command: OperatorCommand, wallet: Wallet) -> Plan:
        """Apply one command exactly once and finish it in the queue with its outcome."""
        now = self.clock.now()
        try:
            kind, args = cmd.parse(command.kind, command.args)
        except cmd.BadCommand as exc:
            plan = self._bad_command(command, str(exc))
        else:
            asset = _asset_of(args)
            ctx = self._context(command, now)
            carried = self._carry_out(
                asset, lambda loaded: self._plan_command(kind, args, loaded, wallet, ctx), command
            )
            assert carried is not None  # a command's planner always plans
            plan = carried
        self.store.finish_command(command.idempotency_key, plan.status, plan.result)
        return plan

    def _plan_command(
        self, kind: cmd.HoldingsCommand, args: BaseModel, loaded: Loaded, wallet: Wallet, ctx: OperatorContext
    ) -> Plan:
        record = loaded.record
        match args:
            case cmd.ProposeArgs():
                return plan_request(record, args, ctx)
            case cmd.ApproveArgs():
                proposal, decision = self.book.proposal(args.proposal_id), self.book.decision(args.proposal_id)
                reading = self._reading(record.asset, ctx.now)
                step = reading.rules.step_size if reading is not None else Decimal(0)
                quantity = wallet.held(record.asset)
                return plan_approve(record, proposal, decision, args, wallet_quantity=quantity, ctx=ctx, step=step)
            case cmd.RejectArgs():
                proposal, decision = self.book.proposal(args.proposal_id), self.book.decision(args.proposal_id)
                return plan_reject(record, proposal, decision, args, ctx)
            case cmd.OverrideArgs():
                reading = self._reading(record.asset, ctx.now)
                price = reading.rules.price(to_decimal(reading.snapshot.last_price.price)) if reading else None
                rules = reading.rules if reading else None
                return plan_override(record, args, ctx, price=price, rules=rules, equity=wallet.equity)
            case cmd.ResumeArgs():
                return plan_resume(record, args.reason, ctx, self._rebase(record, wallet, ctx.now))
            case cmd.PauseArgs() | cmd.ReleaseArgs():
                return plan_simple(record, _SIMPLE[kind], args.reason, ctx)
        raise AssertionError(f"no plan for {kind}")  # pragma: no cover - parse() only returns the kinds above

    def _context(self, command: OperatorCommand, now: datetime) -> OperatorContext:
        return OperatorContext(
            now=now,
            by=command.submitted_by,
            key=command.idempotency_key,
            policy=self.config.policy,
            drift=self.config.drift,
        )

    def _bad_command(self, command: OperatorCommand, why: str) -> Plan:
        """A command nobody can read: refused, recorded once and journaled (it names no asset we can trust)."""
        recorded = self.book.applied(command.idempotency_key)
        if recorded is not None:
            return _from_record(recorded)
        asset = str(command.args.get("asset") or proposal_asset(str(command.args.get("proposal_id", ""))) or "")
        payload = event_payload(asset, Actor.OPERATOR, command=command.kind, code="bad_command", reason=why)
        plan = Plan(
            asset,
            CommandStatus.REJECTED,
            {"code": "bad_command", "error": why},
            (("managed.command_refused", payload),),
        )
        now = self.clock.now()
        applied = AppliedCommand(
            idempotency_key=command.idempotency_key, kind=command.kind, status=plan.status, result=plan.result, at=now
        )
        try:
            self.book.commit(plan, now, applied=applied)
        except ConflictError:
            recorded = self.book.applied(command.idempotency_key)
            if recorded is None:
                raise
            return _from_record(recorded)
        return plan

    # ------------------------------------------------------------------ the bot, the TTL job, drift

    def generate_pending(self, wallet: Wallet, records: list[Loaded] | None = None) -> list[Plan]:
        """The bot turns every pending request into a proposal, or aborts it with the reason."""
        now = self.clock.now()
        done = []
        for loaded in self.book.all() if records is None else records:
            if loaded.record.state is not HoldingState.PROPOSAL_PENDING:
                continue

            def planner(fresh: Loaded) -> Plan | None:
                if fresh.record.state is not HoldingState.PROPOSAL_PENDING:
                    return None  # someone else generated it meanwhile
                outcome = build_proposal(
                    fresh.record,
                    wallet,
                    self.market,
                    self.config,
                    others=self.book.all(),
                    now=now,
                )
                return plan_generate(fresh.record, outcome, now)

            if (plan := self._carry_out(loaded.record.asset, planner)) is not None:
                done.append(plan)
        return done

    def expire_due(self, records: list[Loaded] | None = None) -> list[Plan]:
        """The TTL job: every open proposal whose time is up goes back to frozen (journaled ``managed.expired``)."""
        now = self.clock.now()
        done = []
        for loaded in self.book.all() if records is None else records:
            pid = loaded.record.proposal_id
            if loaded.record.state is not HoldingState.RISK_PROPOSED or pid is None:
                continue
            proposal = self.book.proposal(pid)
            if proposal is None or now < proposal.expires_at:
                continue
            if (plan := self._carry_out(loaded.record.asset, self._expirer(proposal, now))) is not None:
                done.append(plan)
        return done

    def _expirer(self, proposal: Proposal, now: datetime) -> Planner:
        return lambda fresh: plan_expire(fresh.record, proposal, self.book.decision(proposal.id), now)

    def check_drift(self, wallet: Wallet, records: list[Loaded] | None = None) -> list[Plan]:
        """Open proposals that drifted are aborted as stale; drifted managed holdings go to ``managed_drift_alert``."""
        now = self.clock.now()
        done = []
        watched = (HoldingState.RISK_PROPOSED, HoldingState.MANAGED_ACTIVE, HoldingState.MANAGED_PAUSED)
        for loaded in self.book.all() if records is None else records:
            if loaded.record.state in watched and (plan := self._check_one(loaded.record, wallet, now)) is not None:
                done.append(plan)
        return done

    def _check_one(self, record: HoldingRecord, wallet: Wallet, now: datetime) -> Plan | None:
        reading = self._reading(record.asset, now)
        seen = _observation(wallet.held(record.asset, _guarded(record)), reading)
        step = reading.rules.step_size if reading is not None else Decimal(0)
        proposal = None  # a managed holding is checked against its terms; only an open proposal needs its proposal
        if record.state is HoldingState.RISK_PROPOSED and record.proposal_id:
            proposal = self.book.proposal(record.proposal_id)
        first = plan_drift(record, proposal, seen, step=step, limits=self.config.drift, now=now)
        if first is None:
            return None
        if record.state is HoldingState.RISK_PROPOSED and proposal is not None:
            # Whatever happens meanwhile, the bot wants to abort *this* proposal (or to hear who decided it).
            why = str(first.result.get("reason", ""))
            return self._carry_out(record.asset, self._stale_aborter(proposal, why, now))
        limits = self.config.drift
        return self._carry_out(
            record.asset, lambda fresh: plan_drift(fresh.record, proposal, seen, step=step, limits=limits, now=now)
        )

    def _stale_aborter(self, proposal: Proposal, why: str, now: datetime) -> Planner:
        return lambda fresh: plan_abort(
            fresh.record, proposal, self.book.decision(proposal.id), code="drift", message=why, now=now
        )

    # ------------------------------------------------------------------ the guard, and anyone's attempt

    def record_exit(self, asset: str, reason: str, price: Decimal | None = None) -> Plan:
        """The guard saw the managed holding's stop or take-profit fill: ``exit_executed``."""
        now = self.clock.now()
        plan = self._carry_out(asset, lambda fresh: plan_exit(fresh.record, reason, price, now))
        assert plan is not None
        return plan

    def record_released(self, asset: str) -> Plan:
        """The guard finished a release (its orders are gone): the asset is ``frozen`` again."""
        now = self.clock.now()
        plan = self._carry_out(asset, lambda fresh: plan_release_done(fresh.record, now))
        assert plan is not None
        return plan

    def attempt(self, asset: str, action: Action, actor: Actor, reason: str = "") -> Plan:
        """Anyone asking for ``action`` outside the command queue; a refused bot attempt is journaled as
        ``managed.policy_change_blocked`` and alerts a human (see ``Plan.alerts``)."""
        now = self.clock.now()
        plan = self._carry_out(asset, lambda fresh: plan_attempt(fresh.record, action, actor, reason, now))
        assert plan is not None
        return plan

    # ------------------------------------------------------------------ reading

    def holding(self, asset: str) -> HoldingRecord:
        return self.book.load(asset).record

    # ------------------------------------------------------------------ carrying out

    def _carry_out(self, asset: str, planner: Planner, command: OperatorCommand | None = None) -> Plan | None:
        for _ in range(MAX_ATTEMPTS):
            if command is not None and (recorded := self.book.applied(command.idempotency_key)) is not None:
                return _from_record(recorded)
            loaded = self.book.load(asset)
            plan = planner(loaded)
            if plan is None:
                return None
            applied = None
            if command is not None:
                applied = AppliedCommand(
                    idempotency_key=command.idempotency_key,
                    kind=command.kind,
                    status=plan.status,
                    result=plan.result,
                    at=self.clock.now(),
                )
            try:
                self.book.commit(plan, self.clock.now(), version=loaded.version, applied=applied)
            except ConflictError:
                continue  # someone decided first: read what they did and plan again
            return plan
        raise OperationalError(f"holdings: {asset} kept changing under us; gave up after {MAX_ATTEMPTS} attempts")

    def _rebase(self, record: HoldingRecord, wallet: Wallet, now: datetime) -> Rebase | None:
        """The drift references as they are now (only needed to resume after a drift alert)."""
        if record.state is not HoldingState.MANAGED_DRIFT_ALERT:
            return None
        reading = self._reading(record.asset, now)
        held = wallet.held(record.asset, _guarded(record))
        return rebase_now(held, reading, self.config) if reading is not None else None

    def _reading(self, asset: str, now: datetime) -> MarketReading | None:
        """The asset's market now, or ``None`` when the source cannot answer (the callers say so)."""
        try:
            return self.market.reading(symbol_of(asset, self.config), now)
        except MARKET_ERRORS:
            return None


_SIMPLE = {cmd.HoldingsCommand.PAUSE: Action.PAUSE, cmd.HoldingsCommand.RELEASE: Action.RELEASE}


def _asset_of(args: BaseModel) -> str:
    asset = getattr(args, "asset", None) or proposal_asset(str(getattr(args, "proposal_id", "")))
    if not asset:
        raise AssertionError(f"command arguments name no asset: {args!r}")  # pragma: no cover - the models require one
    return str(asset)


def _guarded(record: HoldingRecord) -> PositionId | None:
    """The guarded position of a managed holding (its coins are the holding's, not the bot's own)."""
    return record.terms.position_id if record.terms is not None else None


def _observation(wallet_quantity: Decimal, reading: MarketReading | None) -> Observation:
    if reading is None:
        return Observation(wallet_quantity)
    regime = reading.snapshot.regime
    return Observation(
        wallet_quantity,
        price=reading.snapshot.last_price.price,
        regime=regime.label if regime else None,
        regime_probability=regime.probabilities.get(regime.label) if regime else None,
    )


def _from_record(recorded: AppliedCommand) -> Plan:
    """A command applied before (by us or another runner): its recorded outcome, nothing acted again."""
    return Plan(str(recorded.result.get("asset", "")), recorded.status, dict(recorded.result), ())
