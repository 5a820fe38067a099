"""A whole safety stack on the real simulated exchange and a real SQLite store, for integration tests
and the seeded random schedules.

Real parts: ``exchange.sim`` (matching, balances, fault injection on the wire), ``SqliteStore`` (a
file, WAL, hash-chained journal), the ``SafetyService`` with its guard, veto, commands and reconciliation. Two
test-side pieces: ``FlakyStore`` wraps the real store and makes ``transact`` fail on demand (the
only way to get a disk-full on a tmpfs), and ``RecordingNotifier`` stands in for the human at the
end of a webhook (the HTTP notifiers have their own tests against a local server).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.clock import SimClock
from core.errors import OperationalError
from core.ids import ClientOrderId, Symbol
from core.ports import (
    CommandReceipt,
    CommandStatus,
    Doc,
    JournalEvent,
    NewEvent,
    OperatorCommand,
    Store,
    VerifyReport,
    Write,
)
from core.settings import RiskSettings, RunMode
from core.types import Alert, OrderIntent, OrderType, PositionSide
from exchange.retry import RetryPolicy
from exchange.sim import (
    FaultKind,
    FaultPlan,
    MarketFill,
    SimBroker,
    SimConfig,
    SimExchange,
    binance_futures_markets,
    binance_spot_markets,
)
from safety.alerts import AlertDispatcher
from safety.book import SafetyBook
from safety.keeper import TickReport
from safety.reconcile import ReconcileReport
from safety.rules import tradable
from safety.service import SafetyConfig, SafetyService
from safety.views import Limits, Portfolio, Quote
from store.sqlite_store import SqliteStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PREFIX = "tw"
START_PRICES = {"BTC": Decimal(50000), "ETH": Decimal(3000)}
ALL_FAULTS = (
    FaultKind.TIMEOUT_AFTER_ACCEPT,
    FaultKind.TIMEOUT_BEFORE_ACCEPT,
    FaultKind.SERVER_ERROR,
    FaultKind.RATE_LIMIT,
    FaultKind.REJECT,
    FaultKind.FILL_DURING_CANCEL,
    FaultKind.STALE_STATUS,
    FaultKind.DISCONNECT,
)


class FlakyStore:
    """The real store, whose writes fail while ``fail_writes > 0`` (each failure counts one down)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.fail_writes = 0
        self.failures = 0

    def _maybe_fail(self) -> None:
        if self.fail_writes > 0:
            self.fail_writes -= 1
            self.failures += 1
            raise OperationalError("injected: the disk is full")

    def transact(self, writes: Sequence[Write], events: Sequence[NewEvent] = ()) -> dict[str, int]:
        self._maybe_fail()
        return self.inner.transact(writes, events)

    def append(self, event: NewEvent) -> JournalEvent:
        self._maybe_fail()
        return self.inner.append(event)

    def put(self, key: str, value: dict[str, Any], expected_version: int | None = None) -> int:
        self._maybe_fail()
        return self.inner.put(key, value, expected_version)

    def get(self, key: str) -> Doc | None:
        return self.inner.get(key)

    def get_many(self, keys: Sequence[str]) -> dict[str, Doc]:
        return self.inner.get_many(keys)

    def keys(self, prefix: str = "") -> list[str]:
        return self.inner.keys(prefix)

    def read_journal(self, after_seq: int = 0, limit: int | None = None) -> list[JournalEvent]:
        return self.inner.read_journal(after_seq, limit)

    def tail_journal(self, n: int) -> list[JournalEvent]:
        return self.inner.tail_journal(n)

    def verify_journal(self) -> VerifyReport:
        return self.inner.verify_journal()

    def submit_command(self, command: OperatorCommand) -> CommandReceipt:
        return self.inner.submit_command(command)

    def pending_commands(self) -> list[CommandReceipt]:
        return self.inner.pending_commands()

    def finish_command(self, idempotency_key: str, status: CommandStatus, result: dict[str, Any]) -> None:
        self._maybe_fail()
        self.inner.finish_command(idempotency_key, status, result)

    def close(self) -> None:
        self.inner.close()


@dataclass
class RecordingNotifier:
    alerts: list[Alert] = field(default_factory=list)

    async def notify(self, alert: Alert) -> None:
        self.alerts.append(alert)


@dataclass
class World:
    """One account: a venue, a store, and the safety stack of the current process (restartable)."""

    market_type: str
    clock: SimClock
    venue: SimExchange
    store: FlakyStore
    risk: RiskSettings
    symbols: tuple[Symbol, ...]
    prices: dict[Symbol, Decimal]
    notifier: RecordingNotifier = field(default_factory=RecordingNotifier)
    faults: FaultPlan = field(default_factory=FaultPlan.none)
    retries: int = 4
    cancel_orphans: bool = False
    delegated: tuple[str, ...] = ()
    """Command kinds another applier owns (``SafetyConfig.delegated_commands``)."""
    ex: SafetyService = field(init=False)
    restarts: int = 0

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        market_type: str = "future",
        market_fill: MarketFill = MarketFill.IMMEDIATE,
        slippage_bps: Decimal = Decimal(0),
        namespace: str = "tw",
        risk: RiskSettings | None = None,
        symbols: int = 1,
        liquidity_fraction: Decimal | None = None,
        store: Store | None = None,
        delegated: tuple[str, ...] = (),
    ) -> World:
        """``store``: another backend (a Redis store) instead of a SQLite file at ``path``."""
        from exchange.sim import FixedBpsSlippage

        clock = SimClock(T0)
        markets = binance_futures_markets() if market_type == "future" else binance_spot_markets()
        config = SimConfig(
            market_type=market_type,
            market_fill=market_fill,  # type: ignore[arg-type]
            slippage=FixedBpsSlippage(slippage_bps),
            liquidity_fraction=liquidity_fraction,
        )
        venue = SimExchange(markets, clock, config)
        chosen = tuple(m.symbol for m in markets[:symbols])
        prices = {s: START_PRICES[s.split("/")[0]] for s in chosen}
        for symbol, price in prices.items():
            venue.on_price(price, T0, symbol=symbol)
        flaky = FlakyStore(store or SqliteStore(path, namespace=namespace))
        world = cls(market_type, clock, venue, flaky, risk or RiskSettings(), chosen, prices, delegated=delegated)
        world.ex = world._stack()
        return world

    def _stack(self) -> SafetyService:
        """The safety stack of a (new) process, seeing the world's current prices."""
        broker = SimBroker(self.venue, faults=self.faults, retry=RetryPolicy(max_retries=self.retries))
        book = SafetyBook.load(self.store, Decimal(10000), self.clock.now())  # type: ignore[arg-type]
        alerts = AlertDispatcher([self.notifier], self.store, self.clock, min_interval_s=0)  # type: ignore[arg-type]
        config = SafetyConfig(self.venue.markets(), self.risk, RunMode.PAPER, PREFIX, market_type=self.market_type,
                              delegated_commands=self.delegated)
        service = SafetyService.assemble(broker, self.store, book, alerts, config, Decimal(10000))  # type: ignore[arg-type]
        for symbol, price in self.prices.items():
            service.mark(symbol, price, self.now)
        return service

    @property
    def now(self) -> datetime:
        return self.clock.now()

    async def restart(self, faults: FaultPlan | None = None) -> ReconcileReport:
        """A process restart: memory (and anything unsaved) is gone; the venue and the store remain."""
        self.restarts += 1
        if faults is not None:
            self.faults = faults
        self.ex = self._stack()
        return await self.reconcile()

    async def reconcile(self) -> ReconcileReport:
        return await self.ex.reconcile(self.now, cancel_orphans=self.cancel_orphans)

    def move(self, symbol: Symbol, price: Decimal, seconds: float = 30, volume: Decimal | None = None) -> None:
        """A trade at ``price`` on the exchange (with ``volume``, fills are capped by the liquidity fraction)."""
        rules = self.venue.markets()[symbol]
        price = rules.price(price)
        self.clock.advance_by(seconds)
        self.venue.on_price(price, self.now, symbol=symbol, volume=volume)
        self.prices[symbol] = price
        self.ex.mark(symbol, price, self.now)

    def feed_only(self, symbol: Symbol, price: Decimal, seconds: float = 5) -> None:
        """The market-data feed shows ``price`` before the exchange has traded there (feed ahead of the
        matching engine, or a stop trigger lagging): what the watchdog exists for."""
        self.clock.advance_by(seconds)
        self.prices[symbol] = self.venue.markets()[symbol].price(price)
        self.ex.mark(symbol, self.prices[symbol], self.now)

    async def step(self) -> TickReport:
        """An engine step: operator commands first, then the guard."""
        await self.ex.apply_commands(self.now)
        return await self.ex.guard(self.now)

    # ------------------------------------------------------------------ views for the veto

    def portfolio(self) -> Portfolio:
        return self.ex.book.portfolio(Decimal(10000))  # a fixed notional base keeps sizes comparable

    def market(self) -> dict[Symbol, Quote]:
        rules = self.venue.markets()
        return {s: Quote(rules[s], self.prices[s], self.now) for s in self.symbols}

    def limits(self) -> Limits:
        return Limits(self.risk, RunMode.PAPER)

    # ------------------------------------------------------------------ outside interference

    def external_close(self, symbol: Symbol) -> bool:
        """Someone closes the position on the exchange by hand (an order without our prefix)."""
        held = [p for p in self.venue.positions([symbol]) if p.quantity > 0]
        if not held:
            return False
        position = held[0]
        quantity = self.venue.markets()[symbol].quantity(position.quantity)  # spot: fees leave sub-step dust
        if not tradable(quantity, self.prices[symbol], self.venue.markets()[symbol]):
            return False  # dust: nobody can sell it
        intent = OrderIntent(
            client_order_id=ClientOrderId(f"manual-{len(self.venue.all_orders())}"),
            symbol=symbol,
            side=position.side.exit_side,
            type=OrderType.MARKET,
            quantity=quantity,
            reduce_only=self.market_type == "future",
        )
        if self.market_type == "spot":
            for order in self.venue.open_orders(symbol):  # a human cancels the locks first
                self.venue.cancel(order.client_order_id, symbol)
        self.venue.place(intent)
        return True

    def exchange_quantity(self, symbol: Symbol, side: PositionSide) -> Decimal:
        return sum((p.quantity for p in self.venue.positions([symbol]) if p.side is side), Decimal(0))
