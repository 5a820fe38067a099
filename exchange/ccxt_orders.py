"""Reading ccxt's order answers into our ``Order``: the requests an answer alone cannot settle.

- a triggered futures algo order reports its child order's fill (``actualOrderId``, regular book);
- a spot order read back by id (``GET /api/v3/order``, cancel answers) carries no ``fills``: its fees, and so
  what a buy delivered net of a fee taken in the base asset, come from its trades (``myTrades?orderId=``); a
  futures order never carries its commission (``GET``/``POST /fapi/v1/order``): a filled one's fees come from its
  trades too (``userTrades?orderId=``), so an entry found by the lookup after its answer was lost books its fee;
- a trade names only its exchange order id: the client id comes from the order (once, then remembered).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from core.errors import TemporaryError
from core.ids import ClientOrderId, Symbol, base_asset
from core.money import MarketRules
from core.ports import Clock
from core.types import Order, OrderIntent
from exchange import binance_shapes as shapes
from exchange.binance_weights import Op
from exchange.ccxt_calls import CcxtCalls
from exchange.order_memory import OrderMemory

Raw = Mapping[str, Any]


class OrderReader:
    def __init__(
        self, calls: CcxtCalls, memory: OrderMemory, clock: Clock, rules: Callable[[Symbol], MarketRules | None]
    ) -> None:
        self.calls = calls
        self.exchange = calls.exchange
        self.memory = memory
        self.clock = clock
        self.rules = rules

    def reading(self, raw: Raw, cid: ClientOrderId | None = None) -> tuple[OrderIntent, dict[str, Any]]:
        """The intent and ``Order`` extras of a raw order (``cid``: the order's own id, when the answer's is not)."""
        return self.memory.reading(raw, self.rules(Symbol(str(raw.get("symbol")))), cid)

    async def order(self, raw: Raw, intent: OrderIntent, extras: dict[str, Any]) -> Order:
        """Our ``Order`` from a ccxt order; a triggered algo order reports its child order's fill."""
        now = self.clock.now()
        if shapes.is_algo(raw) and shapes.algo_status(raw) in shapes.ALGO_DONE:
            child_id = shapes.algo_child_id(raw)
            if child_id is None:
                raise TemporaryError(f"algo order {intent.client_order_id} triggered; its order is not visible yet")
            self.memory.cid_by_exchange_id[child_id] = intent.client_order_id
            child = await self.calls.call(lambda: self.exchange.fetch_order(child_id, intent.symbol), Op.FETCH_ORDER)
            return self.memory.order(child, intent, extras, now=now, exchange_order_id=str(raw.get("id")))
        fees = await self._fees_from_trades(raw, intent)
        return self.memory.order(raw, intent, extras, now=now, fees=fees)

    async def client_id_of(self, exchange_order_id: str, symbol: Symbol) -> ClientOrderId:
        """The client id of the order a trade belongs to."""
        known = self.memory.cid_by_exchange_id.get(exchange_order_id)
        if known is not None:
            return known
        raw = await self.calls.read(
            lambda: self.exchange.fetch_order(exchange_order_id, symbol), Op.FETCH_ORDER, f"order #{exchange_order_id}"
        )
        cid = ClientOrderId(str(raw.get("clientOrderId")))
        self.memory.cid_by_exchange_id[exchange_order_id] = cid
        return cid

    async def _fees_from_trades(self, raw: Raw, intent: OrderIntent) -> shapes.FeeSplit | None:
        """A filled order read without ``fills`` (spot read back by id; futures always): its fees from its trades,
        cached per filled quantity."""
        info = raw.get("info", {})
        filled = shapes.dec(info.get("executedQty")) or Decimal(0)
        if filled <= 0 or info.get("fills"):
            return None
        key = (str(raw.get("id")), filled)
        if key not in self.memory.fees:
            trades = await self.calls.read(
                lambda: self.exchange.fetch_my_trades(intent.symbol, None, None, {"orderId": raw.get("id")}),
                Op.ORDER_TRADES,
                f"trades of order {intent.client_order_id}",
            )
            self.memory.fees[key] = shapes.fee_split([t.get("info", {}) for t in trades], base_asset(intent.symbol))
        return self.memory.fees[key]
