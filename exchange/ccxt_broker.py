"""``CcxtBroker``: Binance spot and USDT-M futures through ``ccxt.async_support``.

The one module that trades through ccxt. It trades on the venue it is given (``exchange.venue.VenueSpec``,
which ``engine/wiring.py`` builds from the run mode; ``exchange.ccxt_client`` turns it into a ccxt client),
quantizes every order with the market's filters before sending, translates ccxt's errors once
(``_translate``) and remembers per order whether it is conditional: on futures those live in the Algo
Order book and every later fetch or cancel must say ``trigger=True`` (ccxt issue 27486).
API keys reach it once, at :meth:`open`; they never reach a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from ccxt.base import errors as ccxt_errors

from core.errors import OperationalError, OrderRejected, OutcomeUnknownError, RejectCode, TemporaryError
from core.ids import ClientOrderId, Symbol
from core.money import MarketRules
from core.ports import Clock
from core.timeframes import datetime_to_ms, ms_to_datetime
from core.types import Balance, ExchangePosition, Fill, Order, OrderIntent, PositionSide
from exchange import binance_shapes as shapes
from exchange.ccxt_client import ccxt_client
from exchange.errors import IpBanned
from exchange.orders import prepare_intent
from exchange.retry import Retrier, RetryPolicy, Sleep, create_once
from exchange.venue import VenueSpec

log = logging.getLogger(__name__)

T = TypeVar("T")
Call = Callable[[], Awaitable[T]]


class CcxtBroker:
    """The ``Broker`` for Binance. Build it with :meth:`open` (``engine/wiring.py`` does), then
    ``await check_access()``."""

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
    ) -> None:
        self.exchange = exchange
        self.venue = venue
        self.symbols = tuple(symbols)
        self._clock = clock
        self._retrier = Retrier(retry, sleep=sleep, rng=random.Random(seed))
        self._futures = venue.futures
        self._rules: dict[Symbol, MarketRules] = {}
        self._intents: dict[ClientOrderId, OrderIntent] = {}
        self._conditional: dict[ClientOrderId, bool] = {}
        self._cid_by_exchange_id: dict[str, ClientOrderId] = {}
        self._leverage: dict[Symbol, Decimal] = {}
        self._secrets = tuple(s for s in (getattr(exchange, "apiKey", None), getattr(exchange, "secret", None)) if s)

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
    ) -> CcxtBroker:
        """A broker on ``venue`` with its own ccxt client (no request is sent until ``check_access``)."""
        exchange = ccxt_client(venue, api_key=api_key, api_secret=api_secret, timeout_s=timeout_s)
        return cls(exchange, venue, symbols=symbols, clock=clock, retry=retry, sleep=sleep, seed=seed)

    # ------------------------------------------------------------------ start-up

    async def check_access(self) -> None:
        """Load markets and call one private endpoint; fail with a message naming mode and hosts."""
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

    # ------------------------------------------------------------------ Broker

    async def load_markets(self) -> Mapping[Symbol, MarketRules]:
        markets = await self._read(self.exchange.load_markets, "load_markets")
        wanted = "swap" if self._futures else "spot"
        self._rules = {
            Symbol(symbol): shapes.rules_from_market(market)
            for symbol, market in markets.items()
            if market.get("type") == wanted and (not self._futures or market.get("linear"))
        }
        return dict(self._rules)

    async def fetch_balance(self) -> Mapping[str, Balance]:
        raw = await self._read(self.exchange.fetch_balance, "fetch_balance")
        return shapes.futures_balances(raw) if self._futures else shapes.spot_balances(raw)

    async def fetch_positions(self, symbols: Sequence[Symbol] | None = None) -> list[ExchangePosition]:
        """Futures: open positions. Spot: base holdings of the configured markets as longs (entry price 0)."""
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
        raw = await self._read(lambda: self.exchange.fetch_positions(wanted or None), "fetch_positions")
        held = [shapes.position_from_ccxt(p, self._leverage.get(Symbol(p["symbol"]))) for p in raw]
        return [p for p in held if p is not None and (not wanted or p.symbol in wanted)]

    async def create_order(self, intent: OrderIntent) -> Order:
        rules = (await self._rules_for_all([intent.symbol]))[intent.symbol]
        prepared = prepare_intent(intent, rules)
        cid = prepared.client_order_id
        args = shapes.create_args(prepared, contract=self._futures)

        async def send() -> Order:
            raw = await self._call(
                lambda: self.exchange.create_order(
                    prepared.symbol, args.type, args.side, args.amount, args.price, dict(args.params)
                ),
                write=True,
                creating=True,
            )
            return await self._order(raw, prepared)

        async def lookup() -> Order | None:
            try:
                return await self._fetch(cid, prepared.symbol)
            except OrderRejected as rejection:
                if rejection.code == RejectCode.ORDER_NOT_FOUND:
                    return None
                raise

        return await create_once(self._retrier, prepared, send=send, lookup=lookup)

    async def cancel_order(self, client_order_id: ClientOrderId, symbol: Symbol) -> Order:
        """Cancel; an order that already filled (or ended otherwise) reports its final state."""
        return await self._retrier.run(lambda: self._cancel(client_order_id, symbol), f"cancel_order {client_order_id}")

    async def fetch_order(self, client_order_id: ClientOrderId, symbol: Symbol) -> Order:
        return await self._retrier.run(lambda: self._fetch(client_order_id, symbol), f"fetch_order {client_order_id}")

    async def fetch_open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        """Open orders of ``symbol`` (or of every configured symbol); on futures both books."""
        orders: list[Order] = []
        for market in [symbol] if symbol else list(self.symbols):
            for trigger in (False, True) if self._futures else (False,):
                params = {"trigger": True} if trigger else {}
                raws = await self._read(
                    partial(self.exchange.fetch_open_orders, market, None, None, params), f"fetch_open_orders {market}"
                )
                for raw in raws:
                    intent = self._known_intent(raw)
                    self._conditional[intent.client_order_id] = trigger
                    orders.append(await self._order(raw, intent))
        return orders

    async def fetch_my_trades(self, symbol: Symbol, since: datetime | None = None) -> list[Fill]:
        since_ms = datetime_to_ms(since) if since is not None else None
        raws = await self._read(lambda: self.exchange.fetch_my_trades(symbol, since_ms), f"fetch_my_trades {symbol}")
        fills = []
        for raw in raws:
            cid = await self._cid_for_exchange_id(str(raw.get("order")), symbol)
            fills.append(shapes.fill_from_ccxt(raw, cid))
        return fills

    async def close(self) -> None:
        await self.exchange.close()

    # ------------------------------------------------------------------ extras (not in the protocol)

    async def set_leverage(self, symbol: Symbol, leverage: int) -> None:
        if not self._futures:
            raise OperationalError("leverage applies to futures; this broker trades spot")
        await self._call(lambda: self.exchange.set_leverage(leverage, symbol), write=True)
        self._leverage[symbol] = Decimal(leverage)

    # ------------------------------------------------------------------ orders

    async def _fetch(self, cid: ClientOrderId, symbol: Symbol) -> Order:
        conditional = self._conditional.get(cid)
        books = [conditional] if conditional is not None else ([False, True] if self._futures else [False])
        for index, trigger in enumerate(books):
            try:
                raw = await self._call(partial(self.exchange.fetch_order, None, symbol, self._by_cid(cid, trigger)))
            except OrderRejected as rejection:
                if rejection.code != RejectCode.ORDER_NOT_FOUND or index == len(books) - 1:
                    raise
                continue
            self._conditional[cid] = trigger
            return await self._order(raw, self._intent_for(raw, cid))
        raise AssertionError("unreachable: the last book either answers or raises")

    async def _cancel(self, cid: ClientOrderId, symbol: Symbol) -> Order:
        if self._futures and cid not in self._conditional:
            await self._fetch(cid, symbol)  # after a restart: find out which book the order is in
        trigger = self._conditional.get(cid, False)
        try:
            raw = await self._call(
                lambda: self.exchange.cancel_order(None, symbol, self._by_cid(cid, trigger)), write=True
            )
        except OrderRejected as rejection:
            if rejection.code != RejectCode.ORDER_NOT_FOUND:
                raise
            return await self._fetch(cid, symbol)  # no longer open: report how it ended (a fill, usually)
        if trigger:
            return await self._fetch(cid, symbol)  # the algo cancel answers no order state
        # Spot's cancel answer names a new client id for the cancel itself: the order's is ``cid``.
        return await self._order(raw, self._intent_for(raw, cid))

    @staticmethod
    def _by_cid(cid: ClientOrderId, trigger: bool) -> dict[str, Any]:
        return {"clientOrderId": cid, "trigger": True} if trigger else {"clientOrderId": cid}

    async def _order(self, raw: Mapping[str, Any], intent: OrderIntent) -> Order:
        """Our ``Order`` from a ccxt order; a triggered algo order reports its child order's fill."""
        self._remember(intent)
        exchange_id = str(raw.get("id"))
        self._cid_by_exchange_id[exchange_id] = intent.client_order_id
        if shapes.is_algo(raw) and shapes.algo_status(raw) in shapes.ALGO_DONE:
            child_id = shapes.algo_child_id(raw)
            if child_id is None:
                raise TemporaryError(f"algo order {intent.client_order_id} triggered; its order is not visible yet")
            self._cid_by_exchange_id[child_id] = intent.client_order_id
            child = await self._call(lambda: self.exchange.fetch_order(child_id, intent.symbol))
            return shapes.order_from_ccxt(child, intent, now=self._clock.now(), exchange_order_id=exchange_id)
        return shapes.order_from_ccxt(raw, intent, now=self._clock.now())

    def _known_intent(self, raw: Mapping[str, Any]) -> OrderIntent:
        cid = raw.get("clientOrderId")
        known = self._intents.get(ClientOrderId(str(cid))) if cid else None
        return known or shapes.intent_from_ccxt(raw)

    def _intent_for(self, raw: Mapping[str, Any], cid: ClientOrderId) -> OrderIntent:
        """The intent of the order ``cid``: what we sent, else rebuilt from the exchange's answer."""
        known = self._intents.get(cid)
        if known is not None:
            return known
        return shapes.intent_from_ccxt(raw).model_copy(update={"client_order_id": cid})

    def _remember(self, intent: OrderIntent) -> None:
        self._intents[intent.client_order_id] = intent
        if self._futures:  # on futures, conditional types live in the algo book and nothing else does
            self._conditional[intent.client_order_id] = intent.type.is_conditional

    async def _cid_for_exchange_id(self, exchange_id: str, symbol: Symbol) -> ClientOrderId:
        known = self._cid_by_exchange_id.get(exchange_id)
        if known is not None:
            return known
        raw = await self._read(lambda: self.exchange.fetch_order(exchange_id, symbol), f"fetch_order #{exchange_id}")
        cid = ClientOrderId(str(raw.get("clientOrderId")))
        self._cid_by_exchange_id[exchange_id] = cid
        return cid

    async def _rules_for_all(self, symbols: Sequence[Symbol]) -> dict[Symbol, MarketRules]:
        if not self._rules or any(s not in self._rules for s in symbols):
            await self.load_markets()
        unknown = [s for s in symbols if s not in self._rules]
        if unknown:
            raise OrderRejected(RejectCode.UNKNOWN_SYMBOL, f"Binance {self.venue.label} has no market {unknown[0]}")
        return {s: self._rules[s] for s in symbols}

    # ------------------------------------------------------------------ calls and errors

    async def _read(self, call: Call[T], what: str) -> T:
        return await self._retrier.run(lambda: self._call(call), what)

    async def _call(self, call: Call[T], *, write: bool = False, creating: bool = False) -> T:
        """One ccxt call; every ccxt error leaves this method as a ``core.errors`` type."""
        try:
            return await call()
        except ccxt_errors.BaseError as exc:
            raise self._translate(exc, write=write, creating=creating) from exc

    def _translate(self, exc: ccxt_errors.BaseError, *, write: bool, creating: bool) -> Exception:
        message = self._redact(str(exc))
        if isinstance(exc, ccxt_errors.DDoSProtection | ccxt_errors.RateLimitExceeded):
            return self._rate_limited(exc, message)
        lost = isinstance(exc, ccxt_errors.NetworkError | ccxt_errors.BadResponse)
        if lost or type(exc) is ccxt_errors.OperationFailed:
            # A write whose answer was lost (timeout, 5xx, dropped connection) may have been applied; Binance's 5xx
            # with -1001 "internal error; try again" reaches us as a bare OperationFailed.
            return OutcomeUnknownError(message) if write else TemporaryError(message)
        rejection = _rejection(exc, message, creating=creating)
        if rejection is not None:
            return rejection
        # Authentication, permissions, unsupported calls, anything unexpected: a human must look.
        return OperationalError(f"Binance {self.venue.label} ({self.venue.hosts}): {type(exc).__name__}: {message}")

    def _rate_limited(self, exc: ccxt_errors.BaseError, message: str) -> Exception:
        status = re.match(r"^\S+ (\d{3}) ", str(exc))
        if (status is not None and status.group(1) == "418") or "banned until" in message:
            until = re.search(r"banned until (\d+)", message)
            banned_until = ms_to_datetime(int(until.group(1))) if until else None
            return IpBanned(
                f"Binance {self.venue.label}: IP banned (418) until {banned_until}: {message}", until=banned_until
            )
        if isinstance(exc, ccxt_errors.DDoSProtection) and (status is None or status.group(1) != "429"):
            return OperationalError(f"Binance {self.venue.label} ({self.venue.hosts}) throttled the key: {message}")
        return TemporaryError(message, retry_after_s=self._retry_after())

    def _retry_after(self) -> float | None:
        headers = getattr(self.exchange, "last_response_headers", None) or {}
        for name, value in headers.items():
            if name.lower() == "retry-after":
                try:
                    return float(value)
                except ValueError:
                    return None
        return None

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return re.sub(r"signature=[0-9a-fA-F]+", "signature=***", text)


def _rejection(exc: ccxt_errors.BaseError, message: str, *, creating: bool) -> OrderRejected | None:
    if isinstance(exc, ccxt_errors.OrderNotFound) and not creating:
        return OrderRejected(RejectCode.ORDER_NOT_FOUND, message)
    if isinstance(exc, ccxt_errors.InsufficientFunds):
        return OrderRejected(RejectCode.INSUFFICIENT_FUNDS, message)
    if creating and isinstance(exc, ccxt_errors.InvalidOrder | ccxt_errors.BadRequest | ccxt_errors.OperationRejected):
        return OrderRejected(reject_code(message), message)
    return None


def reject_code(message: str) -> RejectCode:
    """Our code for a Binance order rejection, from its message (codes differ between spot and futures)."""
    lowered = message.lower()
    for needle, code in _REJECT_MESSAGES:
        if needle in lowered:
            return code
    return RejectCode.INVALID_ORDER


_REJECT_MESSAGES: tuple[tuple[str, RejectCode], ...] = (
    ("notional", RejectCode.BELOW_MIN_NOTIONAL),
    ("lot_size", RejectCode.INVALID_QUANTITY),  # min, max or step: our cached filters are stale
    ("lot size", RejectCode.INVALID_QUANTITY),
    ("quantity less than", RejectCode.BELOW_MIN_QTY),
    ("greater than max quantity", RejectCode.ABOVE_MAX_QTY),
    ("price_filter", RejectCode.INVALID_PRICE),
    ("precision is over", RejectCode.INVALID_PRECISION),
    ("immediately match and take", RejectCode.POST_ONLY_WOULD_TAKE),
    ("post only", RejectCode.POST_ONLY_WOULD_TAKE),
    ("would trigger immediately", RejectCode.WOULD_IMMEDIATELY_TRIGGER),
    ("would immediately trigger", RejectCode.WOULD_IMMEDIATELY_TRIGGER),
    ("reduceonly", RejectCode.REDUCE_ONLY_REJECTED),
    ("duplicat", RejectCode.DUPLICATE_CLIENT_ORDER_ID),
    ("insufficient", RejectCode.INSUFFICIENT_FUNDS),
    ("invalid symbol", RejectCode.UNKNOWN_SYMBOL),
)
