"""``SimBroker``: the async ``Broker`` over a ``SimExchange``, with faults on the wire and the same
client behaviour as the ccxt broker (quantize before sending, idempotent create, retries, a cancel
that reports a fill).

The broker holds no order state of its own: a new ``SimBroker`` over the same ``SimExchange`` is a
process restart.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from core.errors import OperationalError, OrderRejected, OutcomeUnknownError, RejectCode, TemporaryError
from core.ids import ClientOrderId, Symbol
from core.money import MarketRules
from core.types import Balance, ExchangePosition, Fill, Order, OrderIntent
from exchange.binance_account import SymbolSettings
from exchange.liquidation import MaintenanceBracket, MarginType
from exchange.orders import prepare_intent
from exchange.retry import Retrier, RetryPolicy, Sleep, create_once, no_wait
from exchange.sim.book import UnknownOrder
from exchange.sim.exchange import SimExchange
from exchange.sim.faults import Fault, FaultKind, FaultPlan, Op

T = TypeVar("T")


class SimBroker:
    def __init__(
        self,
        exchange: SimExchange,
        *,
        faults: FaultPlan | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = no_wait,
        seed: int = 0,
    ) -> None:
        self.exchange = exchange
        self.faults = faults or FaultPlan.none()
        self.retrier = Retrier(retry or RetryPolicy(), sleep=sleep, rng=random.Random(seed))
        self._closed = False

    # ------------------------------------------------------------------ Broker

    async def load_markets(self) -> Mapping[Symbol, MarketRules]:
        return await self._read(Op.LOAD_MARKETS, None, self.exchange.markets)

    async def fetch_balance(self) -> Mapping[str, Balance]:
        return await self._read(Op.FETCH_BALANCE, None, self.exchange.balances)

    async def fetch_positions(self, symbols: Sequence[Symbol] | None = None) -> list[ExchangePosition]:
        return await self._read(Op.FETCH_POSITIONS, None, lambda: self.exchange.positions(symbols))

    async def create_order(self, intent: OrderIntent) -> Order:
        self._check_open()
        rules = self.exchange.markets().get(intent.symbol)
        if rules is None:
            raise OrderRejected(RejectCode.UNKNOWN_SYMBOL, f"no market {intent.symbol} on this exchange")
        prepared = prepare_intent(intent, rules, reference_price=self.exchange.last_price(intent.symbol))
        cid = prepared.client_order_id

        async def send() -> Order:
            return self._wire(Op.CREATE_ORDER, cid, lambda: self.exchange.place(prepared))

        async def lookup() -> Order | None:
            try:
                return self._wire(
                    Op.FETCH_ORDER,
                    cid,
                    lambda: self.exchange.order(cid, prepared.symbol),
                    stale=lambda: self.exchange.previous_order_state(cid),
                )
            except UnknownOrder:
                return None

        return await create_once(self.retrier, prepared, send=send, lookup=lookup)

    async def cancel_order(self, client_order_id: ClientOrderId, symbol: Symbol) -> Order:
        """Cancel; an order that already ended (filled, canceled, expired) reports its final state."""

        def cancel_now() -> Order:
            try:
                return self.exchange.cancel(client_order_id, symbol)
            except UnknownOrder:
                return self._existing(client_order_id, symbol)

        return await self._read(Op.CANCEL_ORDER, client_order_id, cancel_now)

    async def fetch_order(self, client_order_id: ClientOrderId, symbol: Symbol) -> Order:
        return await self._read(
            Op.FETCH_ORDER,
            client_order_id,
            lambda: self._existing(client_order_id, symbol),
            stale=lambda: self.exchange.previous_order_state(client_order_id),
        )

    async def fetch_open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        return await self._read(
            Op.FETCH_OPEN_ORDERS,
            None,
            lambda: self.exchange.open_orders(symbol),
            stale=lambda: self._stale_open_orders(symbol),
        )

    async def fetch_my_trades(self, symbol: Symbol, since: datetime | None = None) -> list[Fill]:
        return await self._read(Op.FETCH_MY_TRADES, None, lambda: self.exchange.fills(symbol, since))

    async def close(self) -> None:
        self._closed = True

    # ------------------------------------------------------------------ extras (not in the protocol)

    async def set_leverage(self, symbol: Symbol, leverage: int) -> None:
        """Futures: the leverage of ``symbol`` (Binance ``POST /fapi/v1/leverage``)."""
        self._check_open()
        self.exchange.set_leverage(symbol, leverage)

    async def fetch_symbol_settings(self, symbols: Sequence[Symbol] | None = None) -> dict[Symbol, SymbolSettings]:
        """Futures: each symbol's leverage in force; the simulated account is cross margin (as ``CcxtBroker``'s)."""
        wanted = list(symbols) if symbols is not None else list(self.exchange.markets())
        return await self._read(
            Op.FETCH_POSITIONS,
            None,
            lambda: {s: SymbolSettings(s, self.exchange.leverage(s), MarginType.CROSS) for s in wanted},
        )

    async def fetch_leverage_brackets(self, symbol: Symbol) -> list[MaintenanceBracket]:
        """Futures: one bracket with the maintenance margin rate the simulated exchange liquidates at."""
        config = self.exchange.config
        bracket = MaintenanceBracket(
            notional_floor=Decimal(0),
            notional_cap=Decimal(10) ** 12,
            maintenance_rate=config.maintenance_margin_rate,
            maintenance_amount=Decimal(0),
            max_leverage=config.max_leverage,
        )
        return await self._read(Op.FETCH_POSITIONS, None, lambda: [bracket])

    # ------------------------------------------------------------------ wire

    async def _read(
        self, op: Op, cid: ClientOrderId | None, action: Callable[[], T], stale: Callable[[], T | None] | None = None
    ) -> T:
        self._check_open()

        async def attempt() -> T:
            return self._wire(op, cid, action, stale)

        return await self.retrier.run(attempt, f"{op}" + (f" {cid}" if cid else ""))

    def _wire(
        self, op: Op, cid: ClientOrderId | None, action: Callable[[], T], stale: Callable[[], T | None] | None = None
    ) -> T:
        """One request to the exchange, with whatever fault the plan decides for it."""
        fault = self.faults.draw(op, cid)
        if fault is None:
            return action()
        if fault.kind is FaultKind.TIMEOUT_AFTER_ACCEPT:
            return self._lose_answer(op, action)
        if fault.kind is FaultKind.FILL_DURING_CANCEL and cid is not None:
            self.exchange.fill_now(cid)
            return action()
        if fault.kind is FaultKind.STALE_STATUS:
            previous = stale() if stale is not None else None
            return previous if previous is not None else action()
        raise self._error_for(op, fault)

    @staticmethod
    def _lose_answer(op: Op, action: Callable[[], T]) -> T:
        try:
            action()
        except (OrderRejected, UnknownOrder) as answer:
            raise OutcomeUnknownError(f"sim: {op} timed out after the exchange answered ({answer})") from answer
        raise OutcomeUnknownError(f"sim: {op} timed out after the exchange accepted it")

    @staticmethod
    def _error_for(op: Op, fault: Fault) -> Exception:
        if fault.kind is FaultKind.RATE_LIMIT:
            return TemporaryError(f"sim: {op} 429 too many requests", retry_after_s=fault.retry_after_s)
        if fault.kind is FaultKind.REJECT:
            return OrderRejected(fault.code, f"sim: the exchange rejected the order (injected {fault.kind})")
        message = f"sim: {op} failed ({fault.kind}); the exchange did not apply it"
        # A write whose answer never came may have been applied as far as the client can tell.
        return OutcomeUnknownError(message) if op.is_write else TemporaryError(message)

    # ------------------------------------------------------------------ helpers

    def _existing(self, client_order_id: ClientOrderId, symbol: Symbol) -> Order:
        try:
            return self.exchange.order(client_order_id, symbol)
        except UnknownOrder as exc:
            raise OrderRejected(RejectCode.ORDER_NOT_FOUND, f"no order {client_order_id} on {symbol}") from exc

    def _stale_open_orders(self, symbol: Symbol | None) -> list[Order]:
        views = []
        for order in self.exchange.all_orders(symbol):
            view = self.exchange.previous_order_state(order.client_order_id) or order
            if not view.status.is_terminal:
                views.append(view)
        return views

    def _check_open(self) -> None:
        if self._closed:
            raise OperationalError("this SimBroker was closed; make a new one over the same SimExchange")
