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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from core.ids import Symbol
from core.money import MarketRules
from core.portfolio import PortfolioView
from core.ports import Broker, Clock, Notifier, Store
from core.quiet import EVERY_CANDLE, QUIET, QuietBand
from core.settings import RiskSettings, RunMode
from core.types import Alert, ClosedTrade, Position
from safety import breakers as brk
from safety.alerts import AlertDispatcher, AlertSink
from safety.book import SafetyBook
from safety.commands import AppliedCommand, Commands
from safety.entries import Entries, EntryResult
from safety.executor import PositionGuard
from safety.gateway import ExchangeGateway
from safety.keeper import StateKeeper, TickReport
from safety.proposals import Proposal
from safety.quiet import position_band
from safety.reconcile import Reconciler, ReconcileReport
from safety.reconcile import equity as account_equity
from safety.requests import Done, Requests
from safety.sweep import Sweep
from safety.verdicts import Approved, Verdict
from safety.veto import veto
from safety.views import Limits, Portfolio, Quote, portfolio_view

__all__ = [
    "AppliedCommand",
    "Done",
    "EntryResult",
    "ReconcileReport",
    "SafetyConfig",
    "SafetyService",
    "TickReport",
    "account_equity",
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
    equity: Decimal = Decimal(0)
    """Cash plus open positions marked at the latest prices (refreshed from the exchange every step)."""
    prices: dict[Symbol, Decimal] = field(default_factory=dict)
    price_at: dict[Symbol, datetime] = field(default_factory=dict)

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
    ) -> SafetyService:
        """Load the persisted book (or start one) and build the parts. Call :meth:`reconcile` next."""
        book = SafetyBook.load(store, initial_equity, clock.now())
        alerts = AlertDispatcher(notifiers, store, clock, min_interval_s=alert_interval_s)
        return cls.assemble(broker, store, book, alerts, config, initial_equity)

    @classmethod
    def assemble(  # noqa: PLR0917 - the parts it wires, in the order they are built
        cls, broker: Broker, store: Store, book: SafetyBook, alerts: AlertSink, config: SafetyConfig, equity: Decimal
    ) -> SafetyService:
        """Wire the parts over a loaded book (``open`` for the usual start-up)."""
        keeper = StateKeeper(book, alerts)
        gateway = ExchangeGateway(broker, book, keeper, config.risk)
        guard = PositionGuard(gateway, book, keeper, config.rules, config.risk, config.prefix)
        entries = Entries(book, gateway, keeper, guard, config.rules, config.prefix)
        sweep = Sweep(book, keeper, gateway, entries, guard)
        requests = Requests(book, keeper, guard, entries)
        reconciler = Reconciler(book, gateway, keeper, sweep, config.rules, config.prefix, config.quote_asset)
        commands = Commands(store, book, keeper, requests)
        return cls(config, book, keeper, gateway, sweep, requests, reconciler, commands, equity=equity)

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
        balances = await self._gateway.balance(now)
        self.equity = account_equity(balances, self.prices, self.config.quote_asset)
        return self.equity

    # ------------------------------------------------------------------ the engine's steps

    async def reconcile(self, now: datetime, *, cancel_orphans: bool = False) -> ReconcileReport:
        """Match the book with the exchange (start-up, invariant 6); entries stay vetoed until it succeeds."""
        report = await self._reconciler.run(self.prices, now, cancel_orphans=cancel_orphans)
        if report.equity is not None:
            self.equity = report.equity
        return report

    async def apply_commands(self, now: datetime) -> list[AppliedCommand]:
        return await self._commands.apply_pending(self.prices, now)

    async def guard(self, now: datetime) -> TickReport:
        """Finalization-first pass over every pending entry and open position (``safety.sweep``)."""
        return await self._sweep.run(self.prices, now, self.equity)

    def agent_blocked(self, now: datetime) -> str | None:
        """Why the agent must not be woken now (halted or sleeping), or ``None``."""
        controls = self.book.board.controls
        if controls.halted:
            return f"halted: {controls.halt_reason or 'no reason given'}"
        if controls.sleeping(now):
            return f"sleeping until {controls.sleep_until.isoformat() if controls.sleep_until else '?'}"
        return None

    def drain_closed(self) -> list[ClosedTrade]:
        """Closes committed since the last guard pass (exits the agent asked for in between)."""
        return self._keeper.drain_closed()

    async def alert(self, alert: Alert) -> None:
        """Tell a human (deduplicated, rate-limited, journaled when undeliverable)."""
        await self._keeper.raise_alert(alert)

    # ------------------------------------------------------------------ what can make it act (backtests skip the rest)

    def quiet_bands(self, symbols: Iterable[Symbol]) -> dict[Symbol, QuietBand]:
        """Per symbol, the prices at which its next candle makes a safety pass act (``safety.quiet``); every
        candle while anything is in motion (a pending entry, a leftover to cancel, an unsaved change, a probe)."""
        wanted = list(symbols)
        board = self.book.board
        busy = self.book.entries or self.book.cleanup or self.book.dirty or not board.persistence_ok
        if busy or board.exchange.state is brk.BreakerState.HALF_OPEN:
            return dict.fromkeys(wanted, EVERY_CANDLE)
        bands = dict.fromkeys(wanted, QUIET)
        settled = self._sweep.guard.settled
        for pid, record in self.book.records.items():
            look = settled.get(pid)
            if look is None or look[0] is not record:  # changed since the guard last settled it
                return dict.fromkeys(wanted, EVERY_CANDLE)
            band = position_band(record, look[1], self.config.rules[record.symbol])
            bands[record.symbol] = bands.get(record.symbol, QUIET).merge(band)
        return bands

    def quiet_until(self) -> datetime:
        """When the clock alone makes a safety pass act: the next UTC day (a new loss budget), the end of a
        trading breaker's trip, the end of the exchange breaker's cooldown (its probe)."""
        board = self.book.board
        trading = board.trading
        times = [datetime.combine(trading.day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)]
        if trading.is_open and trading.closes_at is not None:
            times.append(trading.closes_at)
        exchange = board.exchange
        if exchange.state is brk.BreakerState.OPEN and exchange.opened_at is not None:
            times.append(exchange.opened_at + timedelta(seconds=self.config.risk.exchange_error_cooldown_s))
        return min(times)

    # ------------------------------------------------------------------ the agent's side

    def check(self, proposal: Proposal, now: datetime) -> Verdict:
        """The pure veto against the current book, prices and equity (no side effects)."""
        limits = Limits(self.config.risk, self.config.mode)
        return veto(proposal, self.portfolio(), self.market(), limits, self.book.board, now)

    async def execute(self, approved: Approved, now: datetime) -> EntryResult | Done:
        """Carry out what the veto approved (never anything else) through the guard."""
        return await self._requests.execute(approved, self.prices, now)

    # ------------------------------------------------------------------ views

    def positions(self) -> tuple[Position, ...]:
        return tuple(record.position for record in self.book.records.values())

    def portfolio(self) -> Portfolio:
        return self.book.portfolio(self.equity)

    def market(self) -> dict[Symbol, Quote]:
        """The latest price of every market seen so far, stamped when it was seen."""
        rules = self.config.rules
        return {s: Quote(rules[s], price, self.price_at[s]) for s, price in self.prices.items() if s in rules}

    def portfolio_view(self) -> PortfolioView:
        """The ``get_portfolio`` view: the veto's portfolio, marked at the latest prices, with the controls."""
        return portfolio_view(self.portfolio(), self.market(), self.book.board.controls, self.config.market_type)
