"""``VenueBook``: Binance's order book semantics over the simulated exchange, and what happened since last asked.

The simulated exchange does the matching and the accounting; this layer adds what Binance shows on
top of it: order ids (regular, algo and triggered-algo child ids, see ``venue.orders``), which book
an order is in (USDⓈ-M conditional orders only in the algo book), Binance's error codes for unknown
orders (-2013 on lookups, -2011 on cancels) and rejections, and ``drain()``: every order event, fill
and funding payment since the previous call, each with the order's state at that moment, for the
user-data streams and the ledger.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.errors import OrderRejected
from core.ids import ClientOrderId, Symbol
from core.money import MarketRules
from core.types import Fill, Order, OrderStatus
from exchange.sim import SimExchange
from exchange.sim.book import UnknownOrder
from exchange.symbols import exchange_id
from venue import errors
from venue.errors import BinanceError, MarketKind
from venue.orders import OrderRequest, OrderView, sim_id_of, symbol_of

ZERO = Decimal(0)


@dataclass(frozen=True)
class OrderEvent:
    """An order changed: ``execution`` is NEW, TRIGGERED, TRADE, CANCELED or EXPIRED."""

    view: OrderView
    execution: str
    at: datetime
    fill: Fill | None = None
    realized_pnl: Decimal = ZERO


@dataclass(frozen=True)
class FundingEvent:
    at: datetime
    symbol: Symbol
    rate: Decimal
    payment: Decimal


Activity = OrderEvent | FundingEvent

_END_STATES = {"canceled": OrderStatus.CANCELED, "expired": OrderStatus.EXPIRED}


class VenueBook:
    def __init__(self, sim: SimExchange, market: MarketKind) -> None:
        self.sim = sim
        self.market = market
        self.symbols: dict[str, Symbol] = {exchange_id(s): s for s in sim.markets()}
        self._events_seen = 0
        self._fills_seen = 0
        self._funding_seen = 0
        self._progress: dict[str, tuple[Decimal, Decimal]] = {}
        self._generated = 0

    # ------------------------------------------------------------------ lookups

    def symbol(self, params: Mapping[str, str]) -> Symbol:
        return symbol_of(params, self.symbols)

    def rules(self, symbol: Symbol) -> MarketRules:
        return self.sim.markets()[symbol]

    def view(self, order: Order) -> OrderView:
        return OrderView.of(order, triggered=self.sim.triggered(order.exchange_order_id), market=self.market)

    def next_client_id(self) -> str:
        """The id Binance makes up when a request carries none."""
        self._generated += 1
        return f"venue{self._generated:010d}"

    # ------------------------------------------------------------------ orders

    def place(self, request: OrderRequest) -> OrderView:
        rules = self.rules(request.intent.symbol)
        try:
            return self.view(self.sim.place(request.intent))
        except OrderRejected as rejection:
            raise errors.order_rejection(rejection.code, self.market, rules, str(rejection)) from rejection

    def find(
        self, params: Mapping[str, str], *, algo: bool, missing: BinanceError | None = None
    ) -> tuple[OrderView, bool]:
        """The order a request names (and whether it is a triggered algo order's child), in the book the
        endpoint reads; ``missing`` (default -2013) when there is none."""
        not_found = missing or errors.order_not_found()
        id_name, cid_name = ("algoId", "clientAlgoId") if algo else ("orderId", "origClientOrderId")
        raw_id, cid = params.get(id_name), params.get(cid_name)
        if not raw_id and not cid:
            raise BinanceError(-1102, f"Param '{cid_name}' or '{id_name}' must be sent, but both were empty/null!")
        symbol = self.symbol(params) if not algo or "symbol" in params else None
        view = self._by_id(raw_id, algo=algo) if raw_id else self._by_client_id(ClientOrderId(cid or ""), symbol)
        if view is None or (symbol is not None and view.intent.symbol != symbol):
            raise not_found
        child = not algo and raw_id is not None and int(raw_id) == view.child_id
        if view.is_algo != algo and not child:
            raise not_found
        if child and not view.triggered:
            raise not_found
        return view, child

    def _by_id(self, raw_id: str, *, algo: bool) -> OrderView | None:
        try:
            sim_id = sim_id_of(int(raw_id), algo=algo)
        except ValueError as exc:
            raise errors.illegal_number("algoId" if algo else "orderId") from exc
        if sim_id is None:
            return None
        try:
            return self.view(self.sim.order_by_id(sim_id))
        except UnknownOrder:
            return None

    def _by_client_id(self, cid: ClientOrderId, symbol: Symbol | None) -> OrderView | None:
        try:
            return self.view(self.sim.order(cid, symbol))
        except UnknownOrder:
            return None

    def cancel(self, params: Mapping[str, str], *, algo: bool) -> OrderView:
        view, _ = self.find(params, algo=algo, missing=errors.cancel_unknown())
        if algo and view.triggered:
            raise errors.cancel_unknown()  # a triggered algo order is done; its order is cancelled as a regular one
        latest = self.sim.order(view.intent.client_order_id, view.intent.symbol)
        if latest.exchange_order_id != view.sim_id:
            raise errors.cancel_unknown()
        try:
            return self.view(self.sim.cancel(view.intent.client_order_id, view.intent.symbol))
        except UnknownOrder as gone:
            raise errors.cancel_unknown() from gone

    def open_orders(self, symbol: Symbol | None, *, algo: bool) -> list[OrderView]:
        """Open orders of the regular book (a triggered algo order's working child included) or the algo book."""
        views = [self.view(o) for o in self.sim.open_orders(symbol)]
        if algo:
            return [v for v in views if v.is_algo and not v.triggered]
        return [v for v in views if not v.is_algo or v.triggered]

    def all_orders(self, symbol: Symbol) -> list[OrderView]:
        return [self.view(o) for o in self.sim.all_orders(symbol)]

    def fills_of(self, view: OrderView) -> list[Fill]:
        return [f for f in self.sim.fills(view.intent.symbol) if f.exchange_order_id == view.sim_id]

    def binance_order_id(self, fill: Fill) -> int:
        """The ``orderId`` a fill belongs to (a triggered algo order's child for algo fills)."""
        view = self.view(self.sim.order_by_id(fill.exchange_order_id))
        return view.child_id if view.is_algo else view.order_id

    # ------------------------------------------------------------------ activity

    def drain(self) -> list[Activity]:
        """Everything that happened on the simulated exchange since the last call, in order."""
        events = self.sim.events_since(self._events_seen)
        fills = iter(self.sim.fills_since(self._fills_seen))
        funding = iter(self.sim.funding_payments()[self._funding_seen:])
        self._events_seen += len(events)
        activity: list[Activity] = []
        for event in events:
            item = self._activity(event.kind, event.exchange_order_id, event.at, fills, funding)
            if item is not None:
                activity.append(item)
        return activity

    def _activity(
        self,
        kind: str,
        sim_id: str | None,
        at: datetime,
        fills: Iterator[Fill],
        funding: Iterator[tuple[datetime, Symbol, Decimal, Decimal]],
    ) -> Activity | None:
        if kind == "funding":
            self._funding_seen += 1
            when, symbol, rate, payment = next(funding)
            return FundingEvent(when, symbol, rate, payment)
        if sim_id is None or kind not in ("placed", "triggered", "filled", "canceled", "expired"):
            return None
        view = self.view(self.sim.order_by_id(sim_id))
        filled, cost = self._progress.get(sim_id, (ZERO, ZERO))
        if kind == "placed":
            return OrderEvent(view.at_state(OrderStatus.OPEN, ZERO, ZERO, at, triggered=False), "NEW", at)
        if kind == "filled":
            return self._trade(view, next(fills), filled, cost, at)
        if kind == "triggered":
            status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
            return OrderEvent(view.at_state(status, filled, cost, at), "TRIGGERED", at)
        return OrderEvent(view.at_state(_END_STATES[kind], filled, cost, at), kind.upper(), at)

    def _trade(self, view: OrderView, fill: Fill, filled: Decimal, cost: Decimal, at: datetime) -> OrderEvent:
        self._fills_seen += 1
        if fill.exchange_order_id != view.sim_id:
            raise RuntimeError(
                f"fill {fill.trade_id} of order {fill.exchange_order_id} paired with order {view.sim_id}"
            )
        filled, cost = filled + fill.quantity, cost + fill.quantity * fill.price
        self._progress[view.sim_id] = (filled, cost)
        status = OrderStatus.FILLED if filled >= view.intent.quantity else OrderStatus.PARTIALLY_FILLED
        state = view.at_state(status, filled, cost, at)
        return OrderEvent(state, "TRADE", at, fill, self.sim.realized_pnl(fill.trade_id))
