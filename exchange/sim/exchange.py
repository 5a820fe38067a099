"""``SimExchange``: the simulated venue, driven synchronously by the caller.

Feed it prices (``on_candle``, ``on_price``, ``on_bar``) and funding (``apply_funding``); place and
cancel orders directly (``place``, ``cancel``) or through the async ``SimBroker`` facade. Its state
is one object: ``snapshot()`` / ``restore()`` copy it; a new ``SimBroker`` over the same exchange is
a process restart (the venue keeps its orders, the client forgets everything).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from core.ids import ClientOrderId, Symbol
from core.money import MarketRules, to_decimal
from core.ports import Clock
from core.quiet import QuietBand
from core.types import Balance, Candle, ExchangePosition, Fill, Order, OrderIntent
from exchange.sim.accounts import FuturesAccount, SpotAccount
from exchange.sim.book import UnknownOrder
from exchange.sim.config import SimConfig
from exchange.sim.engine import MatchingEngine
from exchange.sim.matching import Bar
from exchange.sim.quiet import exchange_bands
from exchange.sim.state import SimEvent, SimState
from exchange.symbols import SymbolError, normalize_symbol

Number = Decimal | float | int | str


class SimSnapshot:
    """An opaque, independent copy of a simulated exchange's state."""

    def __init__(self, state: SimState) -> None:
        self._state = copy.deepcopy(state)

    def state(self) -> SimState:
        return copy.deepcopy(self._state)


class SimExchange:
    def __init__(self, markets: Iterable[MarketRules], clock: Clock, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.clock = clock
        self._rules: dict[Symbol, MarketRules] = {m.symbol: m for m in markets}
        if not self._rules:
            raise ValueError("a simulated exchange needs at least one market")
        futures = self.config.market_type == "future"
        for rules in self._rules.values():
            if rules.contract != futures:
                raise ValueError(
                    f"market {rules.symbol} does not match the exchange's market type {self.config.market_type}"
                )
        self._engine = MatchingEngine(self._rules, self.config, SimState(account=self._new_account()))

    def _new_account(self) -> SpotAccount | FuturesAccount:
        if self.config.market_type == "spot":
            return SpotAccount(
                self.config.initial_balances, fees_in_received_asset=self.config.spot_fees_in_received_asset
            )
        wallet = Decimal(self.config.initial_balances.get(self.config.quote_asset, 0))
        return FuturesAccount(wallet, self.config.quote_asset, self.config.default_leverage, self.config.max_leverage)

    @property
    def _state(self) -> SimState:
        return self._engine.state

    # ------------------------------------------------------------------ venue

    def markets(self) -> dict[Symbol, MarketRules]:
        return dict(self._rules)

    def place(self, intent: OrderIntent) -> Order:
        """Accept ``intent`` exactly as given (it must already be on the tick/step grid, like Binance's
        LOT_SIZE / PRICE_FILTER) or raise ``OrderRejected``; brokers quantize before they send."""
        return self._engine.place(intent, self.clock.now()).to_order()

    def cancel(self, client_order_id: ClientOrderId, symbol: Symbol) -> Order:
        """Cancel an open order; raises ``UnknownOrder`` when it is unknown or no longer open."""
        return self._engine.cancel(client_order_id, self.symbol(symbol), self.clock.now()).to_order()

    def order(self, client_order_id: ClientOrderId, symbol: Symbol | None = None) -> Order:
        """The order's current state; raises ``UnknownOrder``."""
        return self._engine.find(client_order_id, self.symbol(symbol) if symbol else None).to_order()

    def previous_order_state(self, client_order_id: ClientOrderId) -> Order | None:
        """The state the order had before its last change (what a stale read returns), if any."""
        order = self._state.by_client_id.get(client_order_id)
        return order.previous() if order is not None else None

    def open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        return [
            o.to_order() for o in self._state.orders.values() if o.is_open and (symbol is None or o.symbol == symbol)
        ]

    def fills(self, symbol: Symbol | None = None, since: datetime | None = None) -> list[Fill]:
        return [
            f
            for f in self._state.fills
            if (symbol is None or f.symbol == symbol) and (since is None or f.filled_at >= since)
        ]

    def balances(self) -> dict[str, Balance]:
        return self._state.account.balances(self._state.last_price)

    def balances_at(self, prices: Mapping[Symbol, Decimal]) -> dict[str, Balance]:
        """``balances()`` as they would read with ``prices`` as the latest prices (futures: unrealized P&L)."""
        return self._state.account.balances({**self._state.last_price, **prices})

    def positions(self, symbols: Sequence[Symbol] | None = None) -> list[ExchangePosition]:
        held = self._state.account.positions(self._rules, self._state.last_price)
        return [p for p in held if symbols is None or p.symbol in symbols]

    def set_leverage(self, symbol: Symbol, leverage: int) -> None:
        account = self._state.account
        if not isinstance(account, FuturesAccount):
            raise ValueError("leverage applies to a futures account only")
        account.set_leverage(self.symbol(symbol), leverage)

    def fill_now(self, client_order_id: ClientOrderId) -> list[Fill]:
        """Fill an open order at once (limit at its price, others at the last price): a fill racing a cancel."""
        return self._engine.fill_now(client_order_id, self.clock.now())

    # ------------------------------------------------------------------ market

    def on_candle(self, candle: Candle) -> list[Fill]:
        """Match every open order of the candle's market against its range; fills are stamped ``clock.now()``."""
        volume = to_decimal(candle.volume) if self.config.liquidity_fraction is not None else None
        bar = Bar(
            to_decimal(candle.open), to_decimal(candle.high), to_decimal(candle.low), to_decimal(candle.close), volume
        )
        return self.on_bar(candle.symbol, bar)

    def on_price(
        self, price: Number, at: datetime | None = None, *, symbol: str | None = None, volume: Number | None = None
    ) -> list[Fill]:
        """A trade at ``price`` (a tick). ``symbol`` may be left out when the exchange has one market."""
        tick = Bar.tick(to_decimal(price), to_decimal(volume) if volume is not None else None)
        return self.on_bar(symbol, tick, at)

    def on_bar(self, symbol: str | None, bar: Bar, at: datetime | None = None) -> list[Fill]:
        if not bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high or bar.low <= 0:
            raise ValueError(f"inconsistent bar {bar}")
        return self._engine.process_bar(self.symbol(symbol), bar, self._advance(at))

    def apply_funding(
        self, rate: Number, at: datetime | None = None, *, symbol: str | None = None, mark_price: Number | None = None
    ) -> Decimal:
        """Settle funding on the symbol's position at ``mark_price`` (default: the last price)."""
        market = self.symbol(symbol)
        mark = to_decimal(mark_price) if mark_price is not None else self._state.last_price.get(market)
        if mark is None:
            raise ValueError(f"no mark price for {market}: feed a price first or pass mark_price")
        return self._engine.apply_funding(market, to_decimal(rate), mark, self._advance(at))

    def _advance(self, at: datetime | None) -> datetime:
        when = at if at is not None else self.clock.now()
        if when.tzinfo is None:
            raise ValueError("naive datetime: the simulated exchange works in tz-aware UTC")
        if self._state.last_at is not None and when < self._state.last_at:
            raise ValueError(f"market time cannot go back from {self._state.last_at.isoformat()} to {when.isoformat()}")
        self._state.last_at = when
        return when

    # ------------------------------------------------------------------ inspection

    def symbol(self, symbol: str | None) -> Symbol:
        """The market meant by ``symbol`` (any spelling ``normalize_symbol`` reads; None if only one)."""
        if symbol is None:
            if len(self._rules) != 1:
                raise ValueError(f"several markets ({sorted(self._rules)}): say which symbol")
            return next(iter(self._rules))
        if symbol in self._rules:
            return Symbol(symbol)
        try:
            normalized = normalize_symbol(symbol, self.config.market_type)
        except SymbolError as exc:
            raise ValueError(f"unknown market {symbol!r}") from exc
        if normalized not in self._rules:
            raise ValueError(f"unknown market {symbol!r} (markets: {sorted(self._rules)})")
        return normalized

    def quiet_bands(self, symbols: Iterable[Symbol]) -> dict[Symbol, QuietBand]:
        """Per symbol, the prices at which its next bar makes this exchange act (``exchange.sim.quiet``)."""
        state = self._state
        return exchange_bands(state.open_by_symbol, state.account, symbols, self.config.maintenance_margin_rate)

    def set_last_price(self, symbol: Symbol, price: Decimal) -> None:
        """The latest price of ``symbol`` without a bar to match: what a bar that moved nothing leaves behind.

        A backtest that skips quiet bars (``exchange.sim.quiet`` says no order can act on them) sets the
        latest close this way before its next step."""
        self._state.last_price[self.symbol(symbol)] = price

    def last_price(self, symbol: str | None = None) -> Decimal | None:
        return self._state.last_price.get(self.symbol(symbol))

    def all_orders(self, symbol: Symbol | None = None) -> list[Order]:
        """Every order ever accepted (open and closed), in placement order."""
        return [o.to_order() for o in self._state.orders.values() if symbol is None or o.symbol == symbol]

    def orders_with_client_id(self, client_order_id: ClientOrderId) -> list[Order]:
        """All accepted orders that carried ``client_order_id`` (more than one open at once never happens)."""
        return [o.to_order() for o in self._state.orders.values() if o.client_order_id == client_order_id]

    def order_by_id(self, exchange_order_id: str) -> Order:
        """The order with this exchange id (open or closed); raises ``UnknownOrder``."""
        order = self._state.orders.get(exchange_order_id)
        if order is None:
            raise UnknownOrder(f"no order with exchange id {exchange_order_id}")
        return order.to_order()

    def triggered(self, exchange_order_id: str) -> bool:
        """Whether a conditional order's trigger was reached (it then works as a market or limit order)."""
        order = self._state.orders.get(exchange_order_id)
        return order is not None and order.triggered

    def leverage(self, symbol: str) -> int:
        """Futures: the leverage ``symbol`` trades at (the default until ``set_leverage``)."""
        account = self._state.account
        if not isinstance(account, FuturesAccount):
            raise ValueError("leverage applies to a futures account only")
        return account.leverage_of(self.symbol(symbol))

    def realized_pnl(self, trade_id: str) -> Decimal:
        """Futures: the P&L (before fees) the fill ``trade_id`` realized; 0 for spot and opening fills."""
        return self._state.realized_pnl.get(trade_id, Decimal(0))

    def revision(self) -> int:
        """How many events so far: every change to an order, a fill, a position or a funding payment records one, so
        an unchanged revision is an unchanged exchange (but for prices). A backtest's guard reads it
        (``safety.executor.PositionGuard.revision``)."""
        return len(self._state.events)

    def events_since(self, index: int) -> list[SimEvent]:
        """Events from position ``index`` on (a reader keeps its own cursor instead of copying them all)."""
        return self._state.events[index:]

    def fills_since(self, index: int) -> list[Fill]:
        """Fills from position ``index`` on, in the order they happened."""
        return self._state.fills[index:]

    def order_reason(self, client_order_id: ClientOrderId) -> str | None:
        """Why an order ended without filling (reduce-only expiry, funds at fill time, liquidation)."""
        return self._engine.find(client_order_id).reason

    def events(self) -> list[SimEvent]:
        return list(self._state.events)

    def funding_payments(self) -> list[tuple[datetime, Symbol, Decimal, Decimal]]:
        return list(self._state.funding)

    def wallet(self) -> Decimal:
        """Futures: the wallet balance (realized P&L, fees and funding included); spot: the quote held."""
        account = self._state.account
        if isinstance(account, FuturesAccount):
            return account.wallet
        return account.total.get(self.config.quote_asset, Decimal(0))

    # ------------------------------------------------------------------ snapshot

    def snapshot(self) -> SimSnapshot:
        return SimSnapshot(self._state)

    def restore(self, snapshot: SimSnapshot) -> None:
        """Put the exchange back exactly as it was at ``snapshot`` (orders, balances, prices, events)."""
        self._engine.state = snapshot.state()
