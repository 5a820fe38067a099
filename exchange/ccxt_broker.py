"""``CcxtBroker``: Binance spot and USDT-M futures through ``ccxt.async_support``.

The one module that trades through ccxt. It trades on the venue it is given (``exchange.venue.VenueSpec``,
which ``engine/wiring.py`` builds from the run mode; ``exchange.ccxt_client`` turns it into a ccxt client),
quantizes every order with the market's filters before sending, sends every request through
``exchange.ccxt_calls`` (clock offset, the shared request budget, bans, errors translated once) and
remembers per order whether it is conditional: on futures those live in the Algo Order book and every
later fetch or cancel must say ``trigger=True`` (ccxt issue 27486). Orders without our client-id prefix
are read leniently and marked foreign (``exchange.order_memory``); a spot buy reports the quantity it
delivered net of a fee taken in the base asset (``Order.net_quantity``).
API keys reach it once, at :meth:`open`; they never reach a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from core.errors import OperationalError, OrderRejected, RejectCode
from core.ids import ClientOrderId, Symbol
from core.money import MarketRules
from core.ports import Clock
from core.ratelimit import BudgetPolicy, Priority
from core.request_budget import BudgetUsage, MemoryCounter, RequestBudget
from core.timeframes import datetime_to_ms
from core.types import Balance, ExchangePosition, Fill, Order, OrderIntent, PositionSide
from exchange import binance_shapes as shapes
from exchange.binance_account import AccountModes, FeeTerms, SymbolSettings
from exchange.binance_errors import reject_code
from exchange.binance_weights import Op
from exchange.ccxt_account import BinanceAccount
from exchange.ccxt_calls import CcxtCalls
from exchange.ccxt_client import ccxt_client
from exchange.ccxt_orders import OrderReader
from exchange.clock_sync import ClockOffset
from exchange.errors import IpBanned
from exchange.liquidation import MaintenanceBracket, MarginType
from exchange.order_memory import OrderMemory
from exchange.orders import prepare_intent
from exchange.retry import Retrier, RetryPolicy, Sleep, create_once
from exchange.trade_history import FUTURES_WINDOW_MS, SPOT_WINDOW_MS, PageRequest, all_trades, history_end_ms
from exchange.venue import VenueSpec

log = logging.getLogger(__name__)

__all__ = ["CcxtBroker", "default_budget", "reject_code"]


class CcxtBroker:
    """The ``Broker`` for Binance. Build it with :meth:`open` (``engine/wiring.py`` does), then
    ``await check_access()``.

    ``budget``: the request budget shared with every other ccxt client on this IP and account (the
    wiring passes one, store-backed); without it the broker keeps a private one (nothing shared).
    ``client_id_prefix``: orders whose client id lacks it are reported as foreign.
    ``signing_clock``: what signed requests' ``timestamp`` (and the clock offset) are reckoned on; Binance checks
    it against its wall clock, so a live run passes a wall clock while ``clock`` follows the exchange's market
    time (the same thing on Binance; a venue replaying history at 300x moves it 300 s a second, and every signed
    request went out minutes ahead: -1021, a new offset, a resend). Default: ``clock``.
    """

    def __init__(
        self,
        exchange: Any,
        venue: VenueSpec,
        *,
        symbols: Sequence[Symbol],
        clock: Clock,
        retry: RetryPolicy,
        sleep: Sleep = asyncio.sleep,
        seed: int | None = None,
        budget: RequestBudget | None = None,
        client_id_prefix: str = "tw",
        clock_offset: ClockOffset | None = None,
        signing_clock: Clock | None = None,
    ) -> None:
        self.exchange = exchange
        self.venue = venue
        self.symbols = tuple(symbols)
        self._clock = clock
        self._futures = venue.futures
        self._rules: dict[Symbol, MarketRules] = {}
        self._orders = OrderMemory(client_id_prefix, self._futures)
        secrets = tuple(s for s in (getattr(exchange, "apiKey", None), getattr(exchange, "secret", None)) if s)
        self.budget = budget or default_budget(exchange, venue, clock)
        self.calls = CcxtCalls(
            exchange,
            label=venue.label,
            hosts=venue.hosts,
            futures=self._futures,
            clock=clock,
            signing_clock=signing_clock,
            budget=self.budget,
            offset=clock_offset or ClockOffset(),
            retrier=Retrier(retry, sleep=sleep, rng=random.Random(seed)),
            sleep=sleep,
            secrets=secrets,
        )
        exchange.nonce = self.calls.nonce  # signed timestamps: the injected clock plus the exchange's offset
        self.account = BinanceAccount(self.calls)
        self._reader = OrderReader(self.calls, self._orders, clock, self._rules.get)

    @classmethod
    def open(
        cls,
        venue: VenueSpec,
        *,
        api_key: str,
        api_secret: str,
        symbols: Sequence[Symbol],
        clock: Clock,
        retry: RetryPolicy,
        timeout_s: float = 10.0,
        sleep: Sleep = asyncio.sleep,
        seed: int | None = None,
        budget: RequestBudget | None = None,
        client_id_prefix: str = "tw",
        signing_clock: Clock | None = None,
    ) -> CcxtBroker:
        """A broker on ``venue`` with its own ccxt client (no request is sent until ``check_access``)."""
        exchange = ccxt_client(venue, api_key=api_key, api_secret=api_secret, timeout_s=timeout_s)
        return cls(
            exchange,
            venue,
            symbols=symbols,
            clock=clock,
            retry=retry,
            sleep=sleep,
            seed=seed,
            budget=budget,
            client_id_prefix=client_id_prefix,
            signing_clock=signing_clock,
        )

    # ------------------------------------------------------------------ start-up

    async def check_access(self) -> None:
        """Measure the clock offset, load markets and call one private endpoint; fail naming mode and hosts."""
        await self.sync_clock()
        await self.load_markets()
        try:
            await self.fetch_balance()
        except IpBanned:
            raise
        except OperationalError as exc:
            raise OperationalError(
                f"Binance {self.venue.label} ({self.venue.hosts}) refused the account check: {exc}. "
                f"Check that the API key was made for {self.venue.label} and allows trading."
            ) from exc
        missing = [s for s in self.symbols if s not in self._rules]
        if missing:
            raise OperationalError(f"Binance {self.venue.label} has no market {', '.join(missing)}")

    async def sync_clock(self) -> int:
        """Measure the exchange's clock offset now (also done on its own every 30 minutes and after -1021)."""
        return await self.calls.retrier.run(self.calls.sync_clock, "sync_clock")

    def protection_path(self, priority: Priority | None) -> None:
        """Admit every request at ``priority`` or above (``None``: each at its own); a live start's protection path
        (account checks, reconciliation: what its stops wait for) goes at ``PROTECTIVE`` (``engine/wiring.py``)."""
        self.calls.least_priority = priority

    @property
    def clock_offset_ms(self) -> int:
        return self.calls.offset.offset_ms

    def budget_usage(self) -> BudgetUsage:
        return self.budget.usage()

    # ------------------------------------------------------------------ Broker

    async def load_markets(self) -> Mapping[Symbol, MarketRules]:
        markets = await self.calls.read(self.exchange.load_markets, Op.MARKETS, "load_markets")
        wanted = "swap" if self._futures else "spot"
        rules = {
            Symbol(symbol): shapes.rules_from_market(market)
            for symbol, market in markets.items()
            if market.get("type") == wanted and (not self._futures or market.get("linear"))
        }
        self._rules.clear()  # in place: the order reader holds ``self._rules.get``
        self._rules.update(rules)
        return dict(self._rules)

    async def fetch_balance(self) -> Mapping[str, Balance]:
        raw = await self.calls.read(self.exchange.fetch_balance, Op.BALANCE, "fetch_balance")
        return shapes.futures_balances(raw) if self._futures else shapes.spot_balances(raw)

    async def fetch_positions(self, symbols: Sequence[Symbol] | None = None) -> list[ExchangePosition]:
        """Futures: open positions, with the leverage and margin type in force and the liquidation price.
        Spot: base holdings of the configured markets as longs (entry price 0)."""
        wanted = list(symbols) if symbols is not None else list(self.symbols)
        if not self._futures:
            balances = await self.fetch_balance()
            rules = await self._rules_for_all(wanted)
            return [
                ExchangePosition(
                    symbol=s, side=PositionSide.LONG, quantity=balances[r.base].total, entry_price=Decimal(0)
                )
                for s, r in rules.items()
                if r.base in balances and balances[r.base].total > 0
            ]
        raw = await self.calls.read(lambda: self.exchange.fetch_positions(wanted or None), Op.POSITIONS, "positions")
        held = [p for p in (shapes.position_from_ccxt(r) for r in raw) if p is not None]
        held = [p for p in held if not wanted or p.symbol in wanted]
        if not held:
            return []
        settings = await self.account.remembered_settings([p.symbol for p in held])  # not 5 weight a guard pass
        return [shapes.with_settings(p, settings[p.symbol].leverage, settings[p.symbol].margin_type) for p in held]

    async def create_order(self, intent: OrderIntent) -> Order:
        rules = (await self._rules_for_all([intent.symbol]))[intent.symbol]
        prepared = prepare_intent(intent, rules)
        cid = prepared.client_order_id
        args = shapes.create_args(prepared, contract=self._futures)

        async def send() -> Order:
            raw = await self.calls.call(
                lambda: self.exchange.create_order(
                    prepared.symbol, args.type, args.side, args.amount, args.price, dict(args.params)
                ),
                Op.CREATE,
                intent=prepared,
                write=True,
                creating=True,
            )
            self._orders.remember(prepared)
            return await self._reader.order(raw, prepared, self._reader.reading(raw, cid)[1])

        async def lookup() -> Order | None:
            try:
                return await self._fetch(cid, prepared.symbol)
            except OrderRejected as rejection:
                if rejection.code == RejectCode.ORDER_NOT_FOUND:
                    return None
                raise

        return await create_once(self.calls.retrier, prepared, send=send, lookup=lookup)

    async def cancel_order(self, client_order_id: ClientOrderId, symbol: Symbol) -> Order:
        """Cancel; an order that already filled (or ended otherwise) reports its final state."""
        return await self.calls.retrier.run(
            lambda: self._cancel(client_order_id, symbol), f"cancel_order {client_order_id}"
        )

    async def fetch_order(self, client_order_id: ClientOrderId, symbol: Symbol) -> Order:
        return await self.calls.retrier.run(
            lambda: self._fetch(client_order_id, symbol), f"fetch_order {client_order_id}"
        )

    async def fetch_open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        """Open orders of ``symbol`` (or of every configured symbol); on futures both books.

        Orders of anybody else (no prefix of ours: the Binance app, a person) are listed too, read leniently
        and marked ``foreign``: any Binance order type reads, none is fatal.
        """
        markets = [symbol] if symbol else list(self.symbols)
        await self._rules_for_all(markets)
        orders: list[Order] = []
        for market in markets:
            for trigger in (False, True) if self._futures else (False,):
                params = {"trigger": True} if trigger else {}
                raws = await self.calls.read(
                    partial(self.exchange.fetch_open_orders, market, None, None, params),
                    Op.OPEN_ORDERS,
                    f"fetch_open_orders {market}",
                )
                for raw in raws:
                    intent, extras = self._reader.reading(raw)
                    self._orders.conditional[intent.client_order_id] = trigger
                    orders.append(await self._reader.order(raw, intent, extras))
        return orders

    async def fetch_my_trades(self, symbol: Symbol, since: datetime | None = None) -> list[Fill]:
        """Every trade since ``since``: in windows of at most 7 days (spot: 24 hours), on by id past a full page."""
        since_ms = datetime_to_ms(since) if since is not None else None

        async def page(request: PageRequest) -> list[Mapping[str, Any]]:
            return await self.calls.read(
                lambda: self.exchange.fetch_my_trades(symbol, request.since_ms, request.limit, request.params()),
                Op.MY_TRADES,
                f"fetch_my_trades {symbol}",
            )

        until_ms = history_end_ms(datetime_to_ms(self._clock.now()), self.calls.offset.offset_ms)
        window_ms = FUTURES_WINDOW_MS if self._futures else SPOT_WINDOW_MS
        raws = await all_trades(page, since_ms, until_ms, window_ms=window_ms)
        fills = []
        for raw in raws:
            cid = await self._reader.client_id_of(str(raw.get("order")), symbol)
            fills.append(shapes.fill_from_ccxt(raw, cid))
        return fills

    async def close(self) -> None:
        await self.exchange.close()

    # ------------------------------------------------------------------ account settings (not in the protocol)

    async def set_leverage(self, symbol: Symbol, leverage: int) -> SymbolSettings:
        """Futures: set the symbol's leverage and read it back."""
        return await self.account.set_leverage(symbol, leverage)

    async def set_margin_type(self, symbol: Symbol, margin: MarginType) -> SymbolSettings:
        """Futures: set isolated or cross margin and read it back."""
        return await self.account.set_margin_type(symbol, margin)

    async def fetch_symbol_settings(self, symbols: Sequence[Symbol] | None = None) -> dict[Symbol, SymbolSettings]:
        """Read now (and remembered for the leverage and margin type ``fetch_positions`` reports)."""
        return await self.account.symbol_settings(list(symbols) if symbols is not None else list(self.symbols))

    def forget_symbol_settings(self, symbols: Sequence[Symbol] | None = None) -> None:
        """Someone else may have changed them: ``fetch_positions`` reads them again."""
        self.account.forget_settings(symbols)

    async def fetch_account_modes(self) -> AccountModes:
        """Futures: position mode (one-way or hedge) and Multi-Assets Mode."""
        return await self.account.modes()

    async def require_one_way(self) -> AccountModes:
        """Futures: the account modes, or one ``OperationalError`` line when the account is in hedge mode."""
        return await self.account.require_one_way()

    async def fetch_leverage_brackets(self, symbol: Symbol) -> list[MaintenanceBracket]:
        return await self.account.brackets(symbol)

    async def fetch_fee_terms(self, symbol: Symbol) -> FeeTerms:
        """Whether BNB pays the symbol's trading fees (else spot takes a buy's fee in the base asset)."""
        rules = (await self._rules_for_all([symbol]))[symbol]
        return await self.account.fee_terms(rules, await self.fetch_balance())

    # ------------------------------------------------------------------ orders

    async def _fetch(self, cid: ClientOrderId, symbol: Symbol) -> Order:
        conditional = self._orders.conditional.get(cid)
        books = [conditional] if conditional is not None else ([False, True] if self._futures else [False])
        for index, trigger in enumerate(books):
            try:
                raw = await self.calls.call(
                    partial(self.exchange.fetch_order, None, symbol, self._by_cid(cid, trigger)), Op.FETCH_ORDER
                )
            except OrderRejected as rejection:
                if rejection.code != RejectCode.ORDER_NOT_FOUND or index == len(books) - 1:
                    raise
                continue
            self._orders.conditional[cid] = trigger
            return await self._reader.order(raw, *self._reader.reading(raw, cid))
        raise AssertionError("unreachable: the last book either answers or raises")

    async def _cancel(self, cid: ClientOrderId, symbol: Symbol) -> Order:
        if self._futures and cid not in self._orders.conditional:
            await self._fetch(cid, symbol)  # after a restart: find out which book the order is in
        trigger = self._orders.conditional.get(cid, False)
        try:
            raw = await self.calls.call(
                lambda: self.exchange.cancel_order(None, symbol, self._by_cid(cid, trigger)), Op.CANCEL, write=True
            )
        except OrderRejected as rejection:
            if rejection.code != RejectCode.ORDER_NOT_FOUND:
                raise
            return await self._fetch(cid, symbol)  # no longer open: report how it ended (a fill, usually)
        if trigger:
            return await self._fetch(cid, symbol)  # the algo cancel answers no order state
        # Spot's cancel answer names a new client id for the cancel itself: the order's is ``cid``.
        return await self._reader.order(raw, *self._reader.reading(raw, cid))

    @staticmethod
    def _by_cid(cid: ClientOrderId, trigger: bool) -> dict[str, Any]:
        return {"clientOrderId": cid, "trigger": True} if trigger else {"clientOrderId": cid}

    async def _rules_for_all(self, symbols: Sequence[Symbol]) -> dict[Symbol, MarketRules]:
        if not self._rules or any(s not in self._rules for s in symbols):
            await self.load_markets()
        unknown = [s for s in symbols if s not in self._rules]
        if unknown:
            raise OrderRejected(RejectCode.UNKNOWN_SYMBOL, f"Binance {self.venue.label} has no market {unknown[0]}")
        return {s: self._rules[s] for s in symbols}


def default_budget(exchange: Any, venue: VenueSpec, clock: Clock) -> RequestBudget:
    """A budget of this broker's own (in memory): the IP is the venue's host family, the account a key hash."""
    policy = BudgetPolicy.binance_futures() if venue.futures else BudgetPolicy.binance_spot()
    key = str(getattr(exchange, "apiKey", "") or "")
    account = hashlib.sha256(key.encode()).hexdigest()[:12] if key else "anonymous"
    return RequestBudget(MemoryCounter(), clock, policy, ip=venue.hosts, account=account)
