"""A stateful fake of Binance's REST API at ccxt's HTTP layer, for offline tests of the ccxt broker.

ccxt stays real: it builds, signs and sends each request through ``exchange.fetch``, which this fake
replaces on the instance; the answer goes back through ccxt's own ``handle_errors`` and parsing.
Responses are Binance's documented shapes (``tests/fixtures/binance/``) filled from a ``SimExchange``
that does the matching. Futures conditional orders live in a separate algo book, as on Binance
since 2025-12: the regular endpoints do not see them (-2013 / -2011 / empty lists) and the regular
order endpoint refuses their types (-4120). The rules besides matching (the clock and ``recvWindow``,
request weight with its headers, 429 and 418, account settings, BNB fees, paged trade history) are in
``fake_binance_rules``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import ccxt

from core.errors import OrderRejected
from core.ids import ClientOrderId, Symbol
from core.types import Fill, Order, OrderIntent, OrderStatus, OrderType, Side
from exchange.sim import SimExchange
from exchange.sim.book import UnknownOrder
from exchange.symbols import exchange_id
from tests.exchange import fake_binance_rules as rules

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "binance"
PUBLIC_PATHS = {"/api/v3/exchangeInfo", "/fapi/v1/exchangeInfo", "/api/v3/time", "/fapi/v1/time"}
CHILD_ID_OFFSET = 9_000_000
ALGO_ID_OFFSET = 2_146_000

_STATUS = {
    OrderStatus.OPEN: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELED: "CANCELED",
    OrderStatus.EXPIRED: "EXPIRED",
    OrderStatus.REJECTED: "REJECTED",
}
_SPOT_TYPES = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP_MARKET: "STOP_LOSS",
    OrderType.STOP_LIMIT: "STOP_LOSS_LIMIT",
    OrderType.TAKE_PROFIT: "TAKE_PROFIT",
}
_FUTURES_TYPES = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP_MARKET: "STOP_MARKET",
    OrderType.STOP_LIMIT: "STOP",
    OrderType.TAKE_PROFIT: "TAKE_PROFIT_MARKET",
}
_REQUEST_TYPES = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "STOP_LOSS": OrderType.STOP_MARKET,
    "STOP_MARKET": OrderType.STOP_MARKET,
    "STOP_LOSS_LIMIT": OrderType.STOP_LIMIT,
    "STOP": OrderType.STOP_LIMIT,
    "TAKE_PROFIT": OrderType.TAKE_PROFIT,
    "TAKE_PROFIT_MARKET": OrderType.TAKE_PROFIT,
}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


@dataclass
class Request:
    method: str
    host: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class HttpFault:
    """``timeout_before`` (never arrives), ``timeout_after`` (applied, answer lost) or ``status`` (an HTTP error)."""

    method: str
    path: str
    kind: str
    status: int = 503
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


class BinanceError(Exception):
    def __init__(self, key: str, status: int = 400) -> None:
        super().__init__(key)
        self.key = key
        self.status = status


class FakeBinance:
    def __init__(self, venue: SimExchange, *, secret: str, api_key: str) -> None:
        self.venue = venue
        self.futures = venue.config.market_type == "future"
        self.kind = "futures" if self.futures else "spot"
        self.secret = secret
        self.api_key = api_key
        self.requests: list[Request] = []
        self.faults: list[HttpFault] = []
        self.reject_keys_with: str | None = None
        self.foreign_orders: list[dict[str, Any]] = []
        """Raw Binance orders somebody else placed (the app, a person): listed in the regular open-orders book."""
        self.foreign_algo_orders: list[dict[str, Any]] = []
        """Raw algo orders somebody else placed: listed by ``openAlgoOrders``."""
        self._errors = fixture("errors.json")[self.kind]
        self._algo_ids: dict[str, int] = {}  # sim order id -> algo id
        self._symbols = {exchange_id(s): s for s in venue.markets()}
        self.server_offset_ms = 0
        """Binance's clock minus the venue clock (the client's): a skewed host clock."""
        self.time_endpoint_error_ms = 0
        """How far off the time endpoint answers (never on Binance; here to make a resync useless)."""
        self.limits = rules.Limits(weight_1m=2400, orders_10s=300) if self.futures else rules.Limits(6000, 100)
        self.margin_types = {market_id: "CROSSED" for market_id in self._symbols}
        self.hedge_mode = False
        self.multi_assets = False
        self.bnb_fees = False
        """The account's BNB fee switch (spot ``discount.enabledForAccount``, futures ``feeBurn``)."""
        self.bnb_fee_price: Decimal | None = None
        """When set, commissions are reported in BNB at this BNB price in the quote asset (BNB pays)."""

    def install(self, exchange: Any) -> None:
        """Answer every HTTP request of ``exchange`` (patches the instance's ``fetch``)."""

        async def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            return self.answer(exchange, url, method, headers or {}, body)

        exchange.fetch = fetch
        exchange.enableRateLimit = False

    def fail_next(self, method: str, path: str, kind: str, **details: Any) -> None:
        self.faults.append(HttpFault(method, path, kind, **details))

    def sent(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # ------------------------------------------------------------------ HTTP

    def answer(self, exchange: Any, url: str, method: str, headers: dict[str, str], body: Any) -> Any:
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query))
        if body:
            params.update(parse_qsl(body))
        request = Request(method, parts.netloc, parts.path, params, dict(headers))
        self.requests.append(request)
        fault = self._take_fault(request)
        if fault is not None and fault.kind == "timeout_before":
            raise ccxt.RequestTimeout(f"binance {method} {url}")
        refused = rules.meter(self, method, parts.path)
        if refused is not None:
            status, headers_out = refused
            key = "banned" if status == 418 else "rate_limited"
            payload: Any = dict(self._errors[key])
            if status == 418:
                until = rules.ms(self.limits.blocked_until) if self.limits.blocked_until else 0
                payload["msg"] = f"Way too much request weight used; IP banned until {until}."
            response_headers = {**headers_out, **rules.usage_headers(self)}
        else:
            status, payload, response_headers = self._dispatch(request, parts.query or body or "")
            response_headers = {**response_headers, **rules.usage_headers(self)}
        if fault is not None and fault.kind == "timeout_after":
            raise ccxt.RequestTimeout(f"binance {method} {url}")
        if fault is not None and fault.kind == "status":
            status, payload, response_headers = fault.status, fault.body, fault.headers
        text = payload if isinstance(payload, str) else json.dumps(payload)
        reason = HTTPStatus(status).phrase
        exchange.last_response_headers = response_headers
        exchange.last_http_response = text  # as ccxt's fetch keeps it (enableLastHttpResponse, on by default)
        response = exchange.parse_json(text)
        exchange.handle_errors(status, reason, url, method, response_headers, text, response, headers, body)
        exchange.handle_http_status_code(status, reason, url, method, text)
        return response

    def _take_fault(self, request: Request) -> HttpFault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == request.method and fault.path == request.path:
                fault.times -= 1
                return fault
        return None

    def _dispatch(self, request: Request, signed: str) -> tuple[int, Any, dict[str, str]]:
        handler = ROUTES.get((request.method, request.path))
        if handler is None:
            return 404, {"code": -1, "msg": f"fake Binance has no {request.method} {request.path}"}, {}
        try:
            if request.path not in PUBLIC_PATHS:
                self._authenticate(request, signed)
            return 200, handler(self, request.params), {"Content-Type": "application/json"}
        except BinanceError as error:
            return error.status, self._errors[error.key], {"Content-Type": "application/json"}

    def _authenticate(self, request: Request, signed: str) -> None:
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            raise BinanceError("invalid_key", 401)
        if self.reject_keys_with is not None:
            raise BinanceError(self.reject_keys_with, 401)
        payload, _, signature = signed.rpartition("&signature=")
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            raise AssertionError(f"bad signature on {request.method} {request.path}")
        late = rules.check_timestamp(self, request.params)
        if late is not None:
            raise BinanceError(late)

    def fixture(self, name: str) -> Any:
        return fixture(name)

    def market_ids(self) -> dict[str, Symbol]:
        return dict(self._symbols)

    def raise_error(self, key: str) -> None:
        raise BinanceError(key)

    # ------------------------------------------------------------------ state -> Binance shapes

    def symbol(self, market_id: str) -> Symbol:
        if market_id not in self._symbols:
            raise BinanceError("unknown_symbol")
        return self._symbols[market_id]

    def is_algo(self, order: Order) -> bool:
        return order.exchange_order_id in self._algo_ids

    def _fills(self, order: Order) -> list[Fill]:
        return [f for f in self.venue.fills(order.intent.symbol) if f.exchange_order_id == order.exchange_order_id]

    def spot_order(self, order: Order, shape: str = "spot/order.json") -> dict[str, Any]:
        intent = order.intent
        raw = fixture(shape)
        raw.update(
            symbol=exchange_id(intent.symbol),
            orderId=int(order.exchange_order_id),
            clientOrderId=intent.client_order_id,
            price=str(intent.price or 0),
            origQty=str(intent.quantity),
            executedQty=str(order.filled_quantity),
            cummulativeQuoteQty=str(order.filled_quantity * (order.average_price or 0)),
            status=_STATUS[order.status],
            type="LIMIT_MAKER" if intent.post_only else _SPOT_TYPES[intent.type],
            side=intent.side.upper(),
            timeInForce="GTC",
        )
        if "stopPrice" in raw or intent.stop_price is not None:
            raw["stopPrice"] = str(intent.stop_price or 0)
        for key in ("time", "updateTime", "workingTime", "transactTime"):
            if key in raw:
                raw[key] = ms(order.created_at if key in ("time", "workingTime") else order.updated_at)
        if "fills" in raw:
            raw["fills"] = [
                {
                    "price": str(f.price),
                    "qty": str(f.quantity),
                    "commission": rules.commission(self, f)[0],
                    "commissionAsset": rules.commission(self, f)[1],
                    "tradeId": int(f.trade_id),
                }
                for f in self._fills(order)
            ]
        return raw

    def futures_order(self, order: Order, *, child: bool = False) -> dict[str, Any]:
        intent = order.intent
        raw = fixture("futures/order.json")
        for key in ("activatePrice", "priceRate"):
            raw.pop(key)
        order_type = "MARKET" if child else _FUTURES_TYPES[intent.type]
        order_id = CHILD_ID_OFFSET + int(order.exchange_order_id) if child else int(order.exchange_order_id)
        quote = order.filled_quantity * (order.average_price or 0)
        raw.update(
            orderId=order_id,
            symbol=exchange_id(intent.symbol),
            status=_STATUS[order.status],
            clientOrderId=intent.client_order_id,
            price=str(intent.price or 0),
            avgPrice=str(order.average_price or 0),
            origQty=str(intent.quantity),
            executedQty=str(order.filled_quantity),
            cumQty=str(order.filled_quantity),
            cumQuote=str(quote),
            timeInForce="GTX" if intent.post_only else "GTC",
            type=order_type,
            origType=_FUTURES_TYPES[intent.type],
            reduceOnly=intent.reduce_only,
            side=intent.side.upper(),
            positionSide="BOTH",
            stopPrice=str(intent.stop_price or 0),
            time=ms(order.created_at),
            updateTime=ms(order.updated_at),
        )
        return raw

    def algo_order(self, order: Order) -> dict[str, Any]:
        intent = order.intent
        raw = fixture("futures/algo_order.json")
        done = order.filled_quantity > 0
        status = {OrderStatus.OPEN: "NEW", OrderStatus.CANCELED: "CANCELED", OrderStatus.EXPIRED: "EXPIRED"}
        raw.update(
            algoId=self._algo_ids[order.exchange_order_id],
            clientAlgoId=intent.client_order_id,
            orderType=_FUTURES_TYPES[intent.type],
            symbol=exchange_id(intent.symbol),
            side=intent.side.upper(),
            quantity=str(intent.quantity),
            algoStatus="FINISHED" if done else status.get(order.status, "TRIGGERED"),
            actualOrderId=str(CHILD_ID_OFFSET + int(order.exchange_order_id)) if done else "",
            actualPrice=str(order.average_price or "0.00000"),
            triggerPrice=str(intent.stop_price),
            price=str(intent.price or "0.000"),
            reduceOnly=intent.reduce_only,
            createTime=ms(order.created_at),
            updateTime=ms(order.updated_at),
            triggerTime=ms(order.updated_at) if done else 0,
        )
        return raw

    def render(self, order: Order) -> dict[str, Any]:
        return self.futures_order(order) if self.futures else self.spot_order(order)

    # ------------------------------------------------------------------ venue calls

    def place(self, params: dict[str, str], *, algo: bool) -> Order:
        kind = params["type"]
        if kind not in _REQUEST_TYPES:
            raise AssertionError(f"unexpected Binance order type {kind}")
        order_type = _REQUEST_TYPES[kind]
        if self.futures and order_type.is_conditional != algo:
            raise BinanceError("algo_only")
        price, stop = params.get("price"), params.get("stopPrice") or params.get("triggerPrice")
        cid = params.get("clientAlgoId" if algo else "newClientOrderId")
        assert cid, "the broker always sends its client order id"
        intent = OrderIntent(
            client_order_id=ClientOrderId(cid),
            symbol=self.symbol(params["symbol"]),
            side=Side(params["side"].lower()),
            type=order_type,
            quantity=Decimal(params["quantity"]),
            price=Decimal(price) if price and order_type.needs_limit_price else None,
            stop_price=Decimal(stop) if stop else None,
            reduce_only=params.get("reduceOnly") == "true",
            post_only=kind == "LIMIT_MAKER" or params.get("timeInForce") == "GTX",
        )
        try:
            order = self.venue.place(intent)
        except OrderRejected as rejection:
            raise BinanceError(rejection.code if rejection.code in self._errors else "below_min_qty") from rejection
        if algo:
            self._algo_ids[order.exchange_order_id] = ALGO_ID_OFFSET + int(order.exchange_order_id)
        return order

    def find(self, params: dict[str, str], *, algo: bool, missing: str) -> Order:
        """An order by client id or exchange id, in the book the endpoint reads (the algo book or not)."""
        cid = params.get("clientAlgoId" if algo else "origClientOrderId")
        by_id = params.get("algoId" if algo else "orderId")
        for order in reversed(self.venue.all_orders()):
            if algo:
                hit = self.is_algo(order) and (
                    order.client_order_id == cid or str(self._algo_ids[order.exchange_order_id]) == by_id
                )
            elif self.is_algo(order):  # only its triggered child order is in the regular book, by order id
                hit = order.filled_quantity > 0 and self.child_id(order) == by_id
            else:
                hit = order.client_order_id == cid or order.exchange_order_id == by_id
            if hit:
                return order
        raise BinanceError(missing)

    @staticmethod
    def child_id(order: Order) -> str:
        return str(CHILD_ID_OFFSET + int(order.exchange_order_id))

    def cancel(self, params: dict[str, str], *, algo: bool) -> Order:
        order = self.find(params, algo=algo, missing="cancel_unknown")
        try:
            return self.venue.cancel(order.client_order_id, order.intent.symbol)
        except UnknownOrder as gone:
            raise BinanceError("cancel_unknown") from gone


# ---------------------------------------------------------------------- routes


def _exchange_info(fake: FakeBinance, params: dict[str, str]) -> Any:
    return fixture(f"{fake.kind}/exchange_info.json")


def _spot_account(fake: FakeBinance, params: dict[str, str]) -> Any:
    raw = fixture("spot/account.json")
    raw["balances"] = [
        {"asset": b.asset, "free": f"{b.free:.8f}", "locked": f"{b.used:.8f}"} for b in fake.venue.balances().values()
    ]
    return raw


def _spot_create(fake: FakeBinance, params: dict[str, str]) -> Any:
    assert params.get("newOrderRespType") == "FULL"
    order = fake.place(params, algo=False)
    return fake.spot_order(order, "spot/order_full.json")


def _get_order(fake: FakeBinance, params: dict[str, str]) -> Any:
    order = fake.find(params, algo=False, missing="get_unknown")
    child = fake.is_algo(order)
    return fake.futures_order(order, child=child) if fake.futures else fake.spot_order(order)


def _cancel_order(fake: FakeBinance, params: dict[str, str]) -> Any:
    order = fake.cancel(params, algo=False)
    if fake.futures:
        return fake.futures_order(order)
    raw = fake.spot_order(order, "spot/cancel.json")
    raw["origClientOrderId"], raw["clientOrderId"] = order.client_order_id, f"cancel{order.exchange_order_id}"
    return raw


def _open_orders(fake: FakeBinance, params: dict[str, str]) -> Any:
    symbol = fake.symbol(params["symbol"]) if "symbol" in params else None
    ours = [fake.render(o) for o in fake.venue.open_orders(symbol) if not fake.is_algo(o)]
    return ours + [o for o in fake.foreign_orders if "symbol" not in params or o["symbol"] == params["symbol"]]


def _spot_trades(fake: FakeBinance, params: dict[str, str]) -> Any:
    trades = []
    for fill in rules.trade_window(fake, params, fake.venue.fills(fake.symbol(params["symbol"]))):
        fee, fee_asset = rules.commission(fake, fill)
        raw = fixture("spot/my_trade.json")
        raw.update(
            symbol=params["symbol"],
            id=int(fill.trade_id),
            orderId=int(fill.exchange_order_id),
            price=str(fill.price),
            qty=str(fill.quantity),
            quoteQty=str(fill.price * fill.quantity),
            commission=fee,
            commissionAsset=fee_asset,
            time=ms(fill.filled_at),
            isBuyer=fill.side is Side.BUY,
            isMaker=fill.liquidity == "maker",
        )
        trades.append(raw)
    return trades


def _futures_create(fake: FakeBinance, params: dict[str, str]) -> Any:
    assert params.get("newOrderRespType") == "RESULT"
    return fake.futures_order(fake.place(params, algo=False))


def _algo_create(fake: FakeBinance, params: dict[str, str]) -> Any:
    assert params.get("algoType") == "CONDITIONAL"
    return fake.algo_order(fake.place(params, algo=True))


def _algo_get(fake: FakeBinance, params: dict[str, str]) -> Any:
    return fake.algo_order(fake.find(params, algo=True, missing="get_unknown"))


def _algo_cancel(fake: FakeBinance, params: dict[str, str]) -> Any:
    order = fake.cancel(params, algo=True)
    raw = fixture("futures/algo_cancel.json")
    raw.update(algoId=fake.algo_order(order)["algoId"], clientAlgoId=order.client_order_id)
    return raw


def _algo_open(fake: FakeBinance, params: dict[str, str]) -> Any:
    symbol = fake.symbol(params["symbol"]) if "symbol" in params else None
    ours = [fake.algo_order(o) for o in fake.venue.open_orders(symbol) if fake.is_algo(o)]
    return ours + [o for o in fake.foreign_algo_orders if "symbol" not in params or o["symbol"] == params["symbol"]]


def _futures_account(fake: FakeBinance, params: dict[str, str]) -> Any:
    raw = fixture("futures/account_v3.json")
    usdt = fake.venue.balances()["USDT"]
    wallet = fake.venue.wallet()
    upnl = sum((p.unrealized_pnl for p in fake.venue.positions()), Decimal(0))
    asset = raw["assets"][0]
    asset.update(
        walletBalance=str(wallet),
        unrealizedProfit=str(upnl),
        marginBalance=str(usdt.total),
        initialMargin=str(usdt.used),
        availableBalance=str(usdt.free),
        crossWalletBalance=str(wallet),
        maxWithdrawAmount=str(usdt.free),
    )
    raw.update(
        totalWalletBalance=str(wallet),
        totalUnrealizedProfit=str(upnl),
        totalMarginBalance=str(usdt.total),
        totalInitialMargin=str(usdt.used),
        availableBalance=str(usdt.free),
        maxWithdrawAmount=str(usdt.free),
    )
    return raw


def _position_risk(fake: FakeBinance, params: dict[str, str]) -> Any:
    positions = []
    for position in fake.venue.positions():
        raw = fixture("futures/position_risk_v3.json")
        signed = position.quantity if position.side == "long" else -position.quantity
        mark = fake.venue.last_price(position.symbol) or position.entry_price
        raw.update(
            symbol=exchange_id(position.symbol),
            positionAmt=str(signed),
            entryPrice=str(position.entry_price),
            breakEvenPrice=str(position.entry_price),
            markPrice=str(mark),
            unRealizedProfit=str(position.unrealized_pnl),
            notional=str(signed * mark),
            updateTime=ms(fake.venue.clock.now()),
            liquidationPrice=rules.liquidation_price(
                fake, signed, position.entry_price, fake.venue.leverage(position.symbol), exchange_id(position.symbol)
            ),
        )
        positions.append(raw)
    return positions


def _futures_trades(fake: FakeBinance, params: dict[str, str]) -> Any:
    trades = []
    symbol = fake.symbol(params["symbol"])
    orders = {o.exchange_order_id: o for o in fake.venue.all_orders(symbol)}
    for fill in rules.trade_window(fake, params, fake.venue.fills(symbol)):
        order = orders[fill.exchange_order_id]
        order_id = int(fill.exchange_order_id) + (CHILD_ID_OFFSET if fake.is_algo(order) else 0)
        raw = fixture("futures/user_trade.json")
        raw.update(
            buyer=fill.side is Side.BUY,
            commission=str(fill.fee),
            commissionAsset=fill.fee_asset,
            id=int(fill.trade_id),
            maker=fill.liquidity == "maker",
            orderId=order_id,
            price=str(fill.price),
            qty=str(fill.quantity),
            quoteQty=str(fill.price * fill.quantity),
            realizedPnl="0",
            side=fill.side.upper(),
            positionSide="BOTH",
            symbol=params["symbol"],
            time=ms(fill.filled_at),
        )
        trades.append(raw)
    return trades


def _leverage_bracket(fake: FakeBinance, params: dict[str, str]) -> Any:
    return fixture("futures/leverage_bracket.json")


def _set_leverage(fake: FakeBinance, params: dict[str, str]) -> Any:
    symbol = fake.symbol(params["symbol"])
    fake.venue.set_leverage(symbol, int(params["leverage"]))
    raw = fixture("futures/leverage.json")
    raw.update(leverage=int(params["leverage"]), symbol=params["symbol"])
    return raw


ROUTES: dict[tuple[str, str], Any] = {
    ("GET", "/api/v3/exchangeInfo"): _exchange_info,
    ("GET", "/api/v3/account"): _spot_account,
    ("POST", "/api/v3/order"): _spot_create,
    ("GET", "/api/v3/order"): _get_order,
    ("DELETE", "/api/v3/order"): _cancel_order,
    ("GET", "/api/v3/openOrders"): _open_orders,
    ("GET", "/api/v3/myTrades"): _spot_trades,
    ("GET", "/fapi/v1/exchangeInfo"): _exchange_info,
    ("GET", "/fapi/v3/account"): _futures_account,
    ("GET", "/fapi/v3/positionRisk"): _position_risk,
    ("GET", "/fapi/v1/leverageBracket"): _leverage_bracket,
    ("POST", "/fapi/v1/leverage"): _set_leverage,
    ("POST", "/fapi/v1/order"): _futures_create,
    ("GET", "/fapi/v1/order"): _get_order,
    ("DELETE", "/fapi/v1/order"): _cancel_order,
    ("GET", "/fapi/v1/openOrders"): _open_orders,
    ("POST", "/fapi/v1/algoOrder"): _algo_create,
    ("GET", "/fapi/v1/algoOrder"): _algo_get,
    ("DELETE", "/fapi/v1/algoOrder"): _algo_cancel,
    ("GET", "/fapi/v1/openAlgoOrders"): _algo_open,
    ("GET", "/fapi/v1/userTrades"): _futures_trades,
    ("GET", "/api/v3/time"): rules.time_route,
    ("GET", "/fapi/v1/time"): rules.time_route,
    ("GET", "/api/v3/account/commission"): rules.spot_commission,
    ("GET", "/fapi/v1/symbolConfig"): rules.symbol_config,
    ("POST", "/fapi/v1/marginType"): rules.margin_type,
    ("GET", "/fapi/v1/positionSide/dual"): rules.position_side_dual,
    ("GET", "/fapi/v1/multiAssetsMargin"): rules.multi_assets_margin,
    ("GET", "/fapi/v1/feeBurn"): rules.fee_burn,
}
