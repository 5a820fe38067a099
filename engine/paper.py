"""Paper trading's account: the simulated exchange at live prices, saved in the store after every change and
restored on start, so a restart finds its balances, positions and resting orders (and safety's reconciliation
sees them, instead of finalizing every paper position as closed externally).

A change is anything the simulated exchange records as an event: an order placed, cancelled or expired, a
fill, a trigger, leverage. Prices alone change nothing worth saving (the feed brings them again). The saves go
through the ``Store`` port under one key (``paper/account``), so paper mode survives a restart on SQLite and on
Redis alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.ids import ClientOrderId, Symbol
from core.money import MarketRules
from core.ports import Store
from core.types import Balance, ExchangePosition, Fill, Order, OrderIntent
from exchange.sim import SimBroker, SimExchange
from exchange.sim.persist import dump, restore

ACCOUNT_KEY = "paper/account"


@dataclass
class PaperAccount:
    """The simulated exchange of a paper run and its saved copy in the store."""

    venue: SimExchange
    store: Store
    restored: bool = False
    """The account came from the store (an earlier run's), not from the configured starting balance."""
    _cursor: int = 0
    _last_at: datetime | None = None

    @classmethod
    def open(cls, venue: SimExchange, store: Store) -> PaperAccount:
        """Over ``venue``, restored from the store when an earlier run saved it (else as configured)."""
        saved = store.get(ACCOUNT_KEY)
        if saved is None:
            return cls(venue, store)
        restore(venue, saved.value)
        last_at = saved.value.get("last_at")
        return cls(venue, store, restored=True, _last_at=datetime.fromisoformat(last_at) if last_at else None)

    def save_if_changed(self) -> bool:
        """Save when something happened on the exchange since the last save; ``True`` when it saved."""
        new = self.venue.events_since(self._cursor)
        if not new:
            return False
        self.store.put(ACCOUNT_KEY, dump(self.venue))
        self._cursor += len(new)
        return True

    def on_price(self, symbol: Symbol, price: Decimal, at: datetime) -> None:
        """A live trade price: the simulated exchange matches its resting orders against it (a price older
        than the last one it saw is skipped: a reconnect can repeat one), then the account is saved if a fill
        or a trigger changed it."""
        if self._last_at is not None and at < self._last_at:
            return
        self._last_at = at
        self.venue.on_price(price, at, symbol=symbol)
        self.save_if_changed()

    def broker(self) -> SavingBroker:
        return SavingBroker(SimBroker(self.venue), self)


class SavingBroker:
    """The simulated exchange's broker, saving the account after every call that can change it."""

    def __init__(self, broker: SimBroker, account: PaperAccount) -> None:
        self._broker = broker
        self._account = account

    async def load_markets(self) -> Mapping[Symbol, MarketRules]:
        return await self._broker.load_markets()

    async def fetch_balance(self) -> Mapping[str, Balance]:
        return await self._broker.fetch_balance()

    async def fetch_positions(self, symbols: Sequence[Symbol] | None = None) -> list[ExchangePosition]:
        return await self._broker.fetch_positions(symbols)

    async def create_order(self, intent: OrderIntent) -> Order:
        try:
            return await self._broker.create_order(intent)
        finally:
            self._account.save_if_changed()

    async def cancel_order(self, client_order_id: ClientOrderId, symbol: Symbol) -> Order:
        try:
            return await self._broker.cancel_order(client_order_id, symbol)
        finally:
            self._account.save_if_changed()

    async def fetch_order(self, client_order_id: ClientOrderId, symbol: Symbol) -> Order:
        return await self._broker.fetch_order(client_order_id, symbol)

    async def fetch_open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        return await self._broker.fetch_open_orders(symbol)

    async def fetch_my_trades(self, symbol: Symbol, since: datetime | None = None) -> list[Fill]:
        return await self._broker.fetch_my_trades(symbol, since)

    async def close(self) -> None:
        self._account.save_if_changed()
        await self._broker.close()

    async def set_leverage(self, symbol: Symbol, leverage: int) -> None:
        try:
            await self._broker.set_leverage(symbol, leverage)
        finally:
            self._account.save_if_changed()
