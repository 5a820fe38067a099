"""The safety layer as one service: the only safety object the engine and the tools' desk talk to.

``SafetyService`` owns what safety's decisions need from the outside (the latest price of every market,
the account's equity) and the alerts, and runs the side-effecting parts in the order DESIGN.md gives:
operator commands, the guard's pass (finalization first), approved proposals, reconciliation. The pure
decisions stay where they are (``veto``, ``guard.plan``, ``breakers``, ``controls``); the parts that
carry them out are built here, once, each with exactly the collaborators it uses:

    StateKeeper     durable state, alerts, the pass report           (book, alert sink)
    ExchangeGateway broker calls, order memory, the exchange breaker (broker, book, keeper)
    PositionGuard   observe -> plan -> perform for one position      (gateway, book, keeper)
    Entries         send and settle entries                          (gateway, book, keeper, guard)
    Sweep           the full pass over the account                   (entries, guard, gateway, keeper)
    Requests        approved proposals                               (entries, guard, book, keeper)
    Reconciler      start-up and on-demand reconciliation            (sweep, gateway, book, keeper)
    Commands        the operator's queue                             (requests, book, keeper)
    ManagedPositions managed holdings: open, new terms, release       (book, keeper, gateway, guard)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.ids import PositionId, Symbol
from core.money import MarketRules
from core.portfolio import PortfolioView
from core.ports import Broker, Clock, Notifier, Store
from core.quiet import QuietBand
from core.settings import RiskSettings, RunMode
from core.types import Alert, Balance, ClosedTrade, Position
from safety import rules as veto_rules
from safety.account import AccountSettingsReader, ExpectedTerms, FuturesTerms
from safety.alerts import AlertDispatcher, AlertKind, AlertSink
from safety.book import SafetyBook
from safety.commands import AppliedCommand, Commands
from safety.entries import Entries, EntryResult
from safety.executor import PositionGuard
from safety.gateway import ExchangeGateway
from safety.guard_state import ManagedStage
from safety.handover import Handover, StoreHandover
from safety.keeper import StateKeeper, TickReport
from safety.leases import LeaseHolder
from safety.managed import HoldingShare, ManagedOutcome, ManagedSpec, SpotHoldings, check_managed
from safety.managed_ops import ManagedPositions
from safety.portfolio_view import ViewInputs, portfolio_view
from safety.proposals import EntryProposal, Proposal
from safety.quiet import book_quiet_bands, book_quiet_until
from safety.reconcile import Reconciler, ReconcileReport
from safety.reconcile import equity as account_equity
from safety.requests import Done, Requests
from safety.rules import tradable
from safety.shared_book import AccountCaps, SharedPortfolio, caps_for, entry_portfolio, with_others
from safety.sweep import Sweep
from safety.takeover import LeaseReport, Takeover
from safety.verdicts import Approved, Verdict, VetoCode, Vetoed
from safety.veto import veto
from safety.views import Limits, Portfolio, Quote

__all__ = [
    "AppliedCommand", "Done", "EntryResult", "ExpectedTerms", "HoldingShare", "LeaseHolder", "LeaseReport",
    "ManagedOutcome", "ManagedSpec", "ManagedStage", "ReconcileReport", "SafetyConfig", "SafetyService",
    "SharedPortfolio", "SpotHoldings", "StoreHandover", "TickReport", "account_equity", "tradable",
]
"""The service and the values its methods return: everything outside ``safety/`` needs from here."""


@dataclass(frozen=True, slots=True)
class SafetyConfig:
    """What the safety layer is told about the account it guards (from settings, at start-up)."""

    rules: Mapping[Symbol, MarketRules]
    risk: RiskSettings
    mode: RunMode
    prefix: str
    """The run's client-order-id prefix: orders carrying it are ours."""
    quote_asset: str = "USDT"
    market_type: str = "spot"
    delegated_commands: tuple[str, ...] = ()
    """Prefixes of queued command kinds another part of the engine applies (``holdings.``): left in the queue
    for it, not refused as unknown."""
    traded: tuple[Symbol, ...] = ()
    """The symbols the run trades: on futures their account terms are read at reconciliation."""
    expected_terms: ExpectedTerms | None = None
    """Futures: the leverage and margin type the run set on the account (drift refuses entries)."""
    shared: SharedPortfolio | None = None
    """Several runners on one account: the account-wide book every entry is reserved in right before it is
    sent (exposure, orders, trades, daily loss and the trading breaker across runners, ``safety.shared_book``)."""
    leases: LeaseHolder | None = None
    handover: Handover | None = None
    """Several runners: where a takeover takes the previous holder's position records from (``safety.handover``)."""
    """Several runners on one account: this runner's symbol leases. Entries only on symbols it holds, has
    reconciled and protected; every order-side write is fenced by the symbol's token (``safety.leases``)."""


@dataclass
class SafetyService:
    config: SafetyConfig
    book: SafetyBook
    """The persisted state. Safety's own parts and tests read it; the engine and the tools never do."""
    _keeper: StateKeeper
    _gateway: ExchangeGateway
    _sweep: Sweep
    _requests: Requests
    _reconciler: Reconciler
    _commands: Commands
    _managed: ManagedPositions
    _terms: FuturesTerms | None = None
    equity: Decimal = Decimal(0)
    """Cash plus open positions marked at the latest prices (refreshed from the exchange every step)."""
    prices: dict[Symbol, Decimal] = field(default_factory=dict)
    price_at: dict[Symbol, datetime] = field(default_factory=dict)
    balances: dict[str, Balance] = field(default_factory=dict)
    """The account's balances as last read (every step in a backtest; every few minutes and after account
    changes live)."""
    free_cash: Decimal | None = None
    """The quote asset's free balance at the last refresh (``None`` before the first)."""

    @classmethod
    def open(
        cls,
        *,
        broker: Broker,
        store: Store,
        clock: Clock,
        notifiers: list[Notifier],
        config: SafetyConfig,
        initial_equity: Decimal,
        alert_interval_s: int = 60,
        holdings: SpotHoldings | None = None,
    ) -> SafetyService:
        """Load the persisted book (or start one) and build the parts. Call :meth:`reconcile` next.

        ``holdings``: who owns spot balances no position explains (managed holdings, the operator's coins);
        without it such a balance is a reconciliation mismatch."""
        book = SafetyBook.load(store, initial_equity, clock.now())
        alerts = AlertDispatcher(notifiers, store, clock, min_interval_s=alert_interval_s)
        return cls.assemble(broker, store, book, alerts, config, initial_equity, holdings=holdings)

    @classmethod
    def assemble(  # noqa: PLR0917 - the parts it wires, in the order they are built
        cls,
        broker: Broker,
        store: Store,
        book: SafetyBook,
        alerts: AlertSink,
        config: SafetyConfig,
        equity: Decimal,
        *,
        holdings: SpotHoldings | None = None,
    ) -> SafetyService:
        """Wire the parts over a loaded book (``open`` for the usual start-up)."""
        keeper = StateKeeper(book, alerts)
        gateway = ExchangeGateway(broker, book, keeper, config.risk, fence=config.leases)
        guard = PositionGuard(gateway, book, keeper, config.rules, config.risk, config.prefix)
        entries = Entries(book, gateway, keeper, guard, config.rules, config.prefix, shared=config.shared)
        scope = config.leases.holds if config.leases is not None else None
        sweep = Sweep(book, keeper, gateway, entries, guard, scope=scope)
        requests = Requests(book, keeper, guard, entries)
        reconciler = Reconciler(
            book,
            gateway,
            keeper,
            sweep,
            config.rules,
            config.prefix,
            config.quote_asset,
            holdings=holdings,
            scope=scope,
        )
        commands = Commands(store, book, keeper, requests, delegated=config.delegated_commands)
        managed = ManagedPositions(book, keeper, gateway, guard)
        terms = None
        if config.market_type == "future" and config.traded and isinstance(broker, AccountSettingsReader):
            terms = FuturesTerms(broker, config.expected_terms)
        return cls(config, book, keeper, gateway, sweep, requests, reconciler, commands, managed, terms, equity=equity)

    @property
    def quote_asset(self) -> str:
        return self.config.quote_asset

    # ------------------------------------------------------------------ market state

    def mark(self, symbol: Symbol, price: Decimal, at: datetime) -> None:
        """The latest price of ``symbol``, seen at ``at`` (price and time always move together)."""
        self.prices[symbol] = price
        self.price_at[symbol] = at

    async def refresh_equity(self, now: datetime) -> Decimal:
        """Cash plus open positions marked at the latest prices, read from the exchange."""
        self.balances = dict(await self._gateway.balance(now))
        self.equity = account_equity(self.balances, self.prices, self.config.quote_asset)
        quote = self.balances.get(self.config.quote_asset)
        self.free_cash = quote.free if quote is not None else Decimal(0)
        return self.equity

    def remark_equity(self) -> Decimal:
        """The equity from the balances last read, marked at the latest prices (no request: the live loop reads
        balances only every few minutes and after account changes, since a spot balance costs 20 request weight)."""
        if self.balances:
            self.equity = account_equity(self.balances, self.prices, self.config.quote_asset)
        return self.equity

    # ------------------------------------------------------------------ the engine's steps

    async def reconcile(self, now: datetime, *, cancel_orphans: bool = False) -> ReconcileReport:
        """Match the book with the exchange (start-up, invariant 6); entries stay vetoed until it succeeds."""
        report = await self._reconciler.run(self.prices, now, cancel_orphans=cancel_orphans)
        if report.equity is not None:
            self.equity = report.equity
        if report.ok and self._terms is not None:
            problem = await self._terms.load(self.config.traded)
            if problem is not None:
                await self._keeper.alert(AlertKind.ACCOUNT_SETTINGS, problem, now, key="start-up")
                return await self._reconciler.failed(report, problem, now)
        return report

    async def keep_leases(self, now: datetime) -> LeaseReport | None:
        """Several runners: one lease round, and every symbol not trading yet walked through its takeover
        (``safety.takeover``). ``None`` when this runner has no leases (a single runner)."""
        leases = self.config.leases
        if leases is None:
            return None
        takeover = Takeover(leases, self.config.handover, self.book, self._keeper)
        return await takeover.round(now, self.reconcile, self.guard, self._settle_shared)

    async def apply_commands(self, now: datetime) -> list[AppliedCommand]:
        return await self._commands.apply_pending(self.prices, now)

    async def guard(self, now: datetime) -> TickReport:
        """Finalization-first pass over every pending entry and open position (``safety.sweep``)."""
        report = await self._sweep.run(self.prices, now, self.equity)
        self._settle_shared(report.closed)
        return report

    async def exchange_trouble(self, reason: str, now: datetime) -> None:
        """Trouble with the exchange that no broker call saw (the live loop's reconnect storm): the exchange
        breaker opens as after too many failed calls (entries stop, a human is alerted) and probes its way
        closed again after ``exchange_error_cooldown_s``."""
        await self._gateway.trip(reason, now)

    def agent_blocked(self, now: datetime) -> str | None:
        """Why the agent must not be woken now (halted or sleeping), or ``None``."""
        controls = self.book.board.controls
        if controls.halted:
            return f"halted: {controls.halt_reason or 'no reason given'}"
        if controls.sleeping(now):
            return f"sleeping until {controls.sleep_until.isoformat() if controls.sleep_until else '?'}"
        return None

    def blockers(self, now: datetime) -> tuple[str, ...]:
        """Everything that stops entries now, in words (kill switch, sleep, breakers, an unsaved or
        unreconciled state): for people, e.g. in a managed-holding proposal's warnings."""
        board = self.book.board
        found = (veto_rules.check_controls(board, now), veto_rules.check_entry_gates(board))
        return tuple(refusal.message for refusal in found if refusal is not None)

    async def hold_managed(self, spec: ManagedSpec, now: datetime) -> ManagedOutcome:
        """Guard a managed holding as ``spec`` says: open it without an entry order (the stop is placed in the
        same call), apply the operator's new terms or stage, or let it go on a release (``safety.managed``)."""
        return await self._managed.hold(spec, self.prices, now)

    def closed_trades(self) -> list[ClosedTrade]:
        """Every close committed in the store, also by an earlier process: a crash between a close's commit and
        the learner's leaves the learner one behind, and a start-up catches it up from here (exactly once)."""
        return self.book.closed_trades()

    def drain_closed(self) -> list[ClosedTrade]:
        """Closes committed since the last guard pass (exits the agent asked for in between)."""
        return self._settle_shared(self._keeper.drain_closed())

    async def alert(self, alert: Alert) -> None:
        """Tell a human (deduplicated, rate-limited, journaled when undeliverable)."""
        await self._keeper.raise_alert(alert)

    # ------------------------------------------------------------------ what can make it act (backtests skip the rest)

    def quiet_bands(self, symbols: Iterable[Symbol]) -> dict[Symbol, QuietBand]:
        """Per symbol, the prices at which its next candle makes a safety pass act (``safety.quiet``)."""
        return book_quiet_bands(self.book, self._sweep.guard.settled, self.config.rules, symbols)

    def quiet_until(self) -> datetime:
        """When the clock alone makes a safety pass act (``safety.quiet``)."""
        return book_quiet_until(self.book, self.config.risk)

    def skip_quiet_looks(self, revision: Callable[[], int]) -> None:
        """A skipping backtest: the guard does not look again at a settled position while its simulated exchange's
        ``revision`` stands and the price stays inside its band (``PositionGuard.revision``). Never live."""
        self._sweep.guard.revision = revision

    # ------------------------------------------------------------------ the agent's side

    def check(self, proposal: Proposal, now: datetime) -> Verdict:
        """The pure veto against the current book, prices and equity (no side effects)."""
        leases = self.config.leases
        if isinstance(proposal, EntryProposal) and leases is not None and not leases.trading(proposal.symbol):
            why = "does not hold" if not leases.holds(proposal.symbol) else "has not reconciled and protected"
            return Vetoed(VetoCode.NOT_LEASED, f"this runner {why} {proposal.symbol}'s lease; no entry there")
        portfolio: Portfolio | Vetoed = self.book.portfolio(self.equity)  # an exit never waits for Redis
        if isinstance(proposal, EntryProposal) and self.config.shared is not None:
            portfolio = entry_portfolio(self.config.shared, self.book.portfolio(self.equity), self._caps(), now)
        if isinstance(portfolio, Vetoed):
            return portfolio
        limits = Limits(self.config.risk, self.config.mode)
        verdict = veto(proposal, portfolio, self.market(), limits, self.book.board, now)
        if isinstance(verdict, Approved):
            return check_managed(verdict, self.book.records) or verdict
        return verdict

    async def execute(self, approved: Approved, now: datetime) -> EntryResult | Done:
        """Carry out what the veto approved (never anything else) through the guard. Before the first entry on a
        futures symbol the account's settings are read again: an entry on drifted settings is not sent."""
        proposal = approved.proposal
        if isinstance(proposal, EntryProposal) and self._terms is not None and approved.position_id is not None:
            drift = await self._terms.before_first_entry(proposal.symbol)
            if drift is not None:
                self.book.journal("entry.refused", now, {"position_id": approved.position_id, "why": drift})
                await self._keeper.alert(AlertKind.ACCOUNT_SETTINGS, drift, now, key=str(proposal.symbol))
                await self._keeper.save(now)
                return EntryResult("not_sent", approved.position_id, drift)
        shared = self.config.shared
        repeat = approved.position_id in self.book.records or approved.position_id in self.book.entries
        if not isinstance(proposal, EntryProposal) or shared is None or approved.position_id is None or repeat:
            return await self._requests.execute(approved, self.prices, now)  # a repeat reserves nothing
        return await self._shared_entry(approved, proposal, shared, approved.position_id, now)

    async def _shared_entry(
        self, approved: Approved, proposal: EntryProposal, shared: SharedPortfolio, pid: PositionId, now: datetime
    ) -> EntryResult | Done:
        """Several runners: reserve the entry in the account-wide book right before it is sent (the commit point)."""
        price = proposal.limit_price or approved.reference_price or self.prices.get(proposal.symbol, Decimal(0))
        notional = (approved.quantity or Decimal(0)) * price
        refused = shared.reserve(str(pid), notional, self._caps(), now)
        if refused is not None:
            self.book.journal("entry.refused", now, {"position_id": pid, "why": refused.message, "code": refused.code})
            await self._keeper.save(now)
            return EntryResult("not_sent", pid, refused.message)
        result = await self._requests.execute(approved, self.prices, now)
        if isinstance(result, EntryResult) and result.status in {"not_sent", "rejected", "failed"}:
            shared.release(str(pid))  # a repeat of Entries' own release is harmless
        return result

    def _settle_shared(self, closed: list[ClosedTrade]) -> list[ClosedTrade]:
        """Closes leave the account-wide book with their P&L (each exactly once: the script forgets the id)."""
        return closed if self.config.shared is None else self.config.shared.closed_all(closed, self._caps())

    def _caps(self) -> AccountCaps:
        return caps_for(self.config.risk, self.config.mode, self.equity)

    # ------------------------------------------------------------------ views

    def positions(self) -> tuple[Position, ...]:
        return tuple(record.position for record in self.book.records.values())

    def portfolio(self) -> Portfolio:
        """This runner's book; with several runners the other runners' exposure counts towards its total."""
        own, shared = self.book.portfolio(self.equity), self.config.shared
        return own if shared is None else with_others(own, shared.state())

    def market(self) -> dict[Symbol, Quote]:
        """The latest price of every market seen so far, stamped when it was seen."""
        rules = self.config.rules
        terms = self._terms.terms if self._terms is not None else {}
        return {
            s: Quote(rules[s], price, self.price_at[s], terms.get(s)) for s, price in self.prices.items() if s in rules
        }

    def portfolio_view(self, now: datetime) -> PortfolioView:
        """The agent's view of the account at ``now`` (``get_portfolio`` and every decision's first message):
        the veto's portfolio marked at the latest prices, the guard's records, breakers, controls, fills."""
        book = self.book
        return portfolio_view(
            ViewInputs(
                portfolio=self.portfolio(),
                records=tuple(book.records.values()),
                entries=tuple(book.entries.values()),
                market=self.market(),
                rules=self.config.rules,
                board=book.board,
                risk=Limits(self.config.risk, self.config.mode).effective,
                market_type=self.config.market_type,
                quote_asset=self.config.quote_asset,
                free_cash=self.free_cash,
                fills=tuple(book.recent_fills),
                now=now,
            )
        )
