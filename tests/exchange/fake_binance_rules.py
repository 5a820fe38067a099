"""Binance's rules that are not about matching, for ``FakeBinance``: clock and ``recvWindow``, request
weight and order counts with their headers (429 over a limit, 418 for continuing after one), account
settings (leverage, margin type, position mode, Multi-Assets Mode, BNB fees) and paged trade history.

Each rule cites the Binance behaviour it imitates; the fake stays independent of ``exchange/`` code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.types import Fill

if TYPE_CHECKING:
    from tests.exchange.fake_binance import FakeBinance

DAY_MS = 24 * 3600 * 1000

# Binance's published request weights (spot and USDT-M futures docs), by (method, path); unlisted: 1.
WEIGHTS: dict[tuple[str, str], int] = {
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/api/v3/account"): 20,
    ("GET", "/api/v3/account/commission"): 20,
    ("GET", "/api/v3/order"): 4,
    ("GET", "/api/v3/openOrders"): 6,
    ("GET", "/api/v3/myTrades"): 20,
    ("GET", "/fapi/v3/account"): 5,
    ("GET", "/fapi/v3/positionRisk"): 5,
    ("GET", "/fapi/v1/userTrades"): 5,
    ("GET", "/fapi/v1/symbolConfig"): 5,
    ("GET", "/fapi/v1/positionSide/dual"): 30,
    ("GET", "/fapi/v1/multiAssetsMargin"): 30,
    ("GET", "/fapi/v1/feeBurn"): 30,
    ("POST", "/fapi/v1/order"): 0,
    ("POST", "/fapi/v1/algoOrder"): 0,
}
ORDER_PATHS = {("POST", "/api/v3/order"), ("POST", "/fapi/v1/order"), ("POST", "/fapi/v1/algoOrder")}


@dataclass
class Limits:
    """Binance's REQUEST_WEIGHT per minute per IP and ORDERS per 10 s per account, in fixed windows."""

    weight_1m: int
    orders_10s: int
    retry_after_s: int = 7
    used: dict[tuple[str, int], int] = field(default_factory=dict)
    external_weight: int = 0
    """Weight other clients on the IP used this minute (counted in the headers, not by us)."""
    blocked_until: datetime | None = None
    answered_429: int = 0
    answered_418: int = 0


def ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def server_ms(fake: FakeBinance) -> int:
    return ms(fake.venue.clock.now()) + fake.server_offset_ms


# ---------------------------------------------------------------- time


def check_timestamp(fake: FakeBinance, params: dict[str, str]) -> str | None:
    """Binance refuses a signed request with ``timestamp`` more than 1000 ms ahead of its clock, or older
    than ``recvWindow`` (-1021); the request is not processed."""
    stamp, now = int(params["timestamp"]), server_ms(fake)
    if stamp > now + 1000:
        return "timestamp_ahead"
    if now - stamp > int(params.get("recvWindow", 5000)):
        return "timestamp_outside"
    return None


def time_route(fake: FakeBinance, params: dict[str, str]) -> Any:
    return {"serverTime": server_ms(fake) + fake.time_endpoint_error_ms}


# ---------------------------------------------------------------- limits


def meter(fake: FakeBinance, method: str, path: str) -> tuple[int, dict[str, str]] | None:
    """Count one request; an error status with headers when Binance would refuse it (429 / 418), else None.

    "Repeatedly violating rate limits and/or failing to back off after receiving 429s will result in an
    automated IP ban (HTTP status 418)." A 429 and a 418 both carry ``Retry-After``.
    """
    limits = fake.limits
    now = fake.venue.clock.now()
    if limits.blocked_until is not None and now < limits.blocked_until:
        limits.answered_418 += 1
        limits.blocked_until = now + timedelta(minutes=2)
        return 418, {"Retry-After": "120"}
    minute, ten_s = ms(now) // 60_000, ms(now) // 10_000
    weight = limits.used.get(("w", minute), limits.external_weight) + WEIGHTS.get((method, path), 1)
    limits.used[("w", minute)] = weight
    orders = limits.used.get(("o", ten_s), 0) + (1 if (method, path) in ORDER_PATHS else 0)
    limits.used[("o", ten_s)] = orders
    if weight > limits.weight_1m or orders > limits.orders_10s:
        limits.answered_429 += 1
        limits.blocked_until = now + timedelta(seconds=limits.retry_after_s)
        return 429, {"Retry-After": str(limits.retry_after_s)}
    return None


def usage_headers(fake: FakeBinance) -> dict[str, str]:
    now = ms(fake.venue.clock.now())
    used = fake.limits.used
    return {
        "X-MBX-USED-WEIGHT-1M": str(used.get(("w", now // 60_000), 0)),
        "X-MBX-ORDER-COUNT-10S": str(used.get(("o", now // 10_000), 0)),
    }


# ---------------------------------------------------------------- futures account settings


def symbol_config(fake: FakeBinance, params: dict[str, str]) -> Any:
    """``GET /fapi/v1/symbolConfig``: leverage and margin type per symbol (all symbols without ``symbol``)."""
    rows = []
    template = fake.fixture("futures/symbol_config.json")[0]
    for market_id, symbol in fake.market_ids().items():
        if "symbol" in params and params["symbol"] != market_id:
            continue
        row = dict(template)
        row.update(symbol=market_id, leverage=fake.venue.leverage(symbol), marginType=fake.margin_types[market_id])
        rows.append(row)
    return rows


def margin_type(fake: FakeBinance, params: dict[str, str]) -> Any:
    """``POST /fapi/v1/marginType``: -4046 when unchanged, -4048 with a position, -4168 isolated in Multi-Assets."""
    market_id, wanted = params["symbol"], params["marginType"]
    symbol = fake.symbol(market_id)
    if fake.margin_types[market_id] == wanted:
        fake.raise_error("margin_type_unchanged")
    if fake.venue.positions([symbol]):
        fake.raise_error("margin_type_with_position")
    if wanted == "ISOLATED" and fake.multi_assets:
        fake.raise_error("isolated_in_multi_assets")
    fake.margin_types[market_id] = wanted
    return {"code": 200, "msg": "success"}


def position_side_dual(fake: FakeBinance, params: dict[str, str]) -> Any:
    """``GET /fapi/v1/positionSide/dual``: ``true`` is hedge mode, ``false`` one-way."""
    return {**fake.fixture("futures/position_side_dual.json"), "dualSidePosition": fake.hedge_mode}


def multi_assets_margin(fake: FakeBinance, params: dict[str, str]) -> Any:
    return {**fake.fixture("futures/multi_assets_margin.json"), "multiAssetsMargin": fake.multi_assets}


def fee_burn(fake: FakeBinance, params: dict[str, str]) -> Any:
    """``GET /fapi/v1/feeBurn``: BNB pays futures fees when on (and BNB is held)."""
    return {**fake.fixture("futures/fee_burn.json"), "feeBurn": fake.bnb_fees}


def spot_commission(fake: FakeBinance, params: dict[str, str]) -> Any:
    """``GET /api/v3/account/commission``: the BNB discount switch (``discount.enabledForAccount``)."""
    raw = fake.fixture("spot/account_commission.json")
    raw["symbol"] = params["symbol"]
    raw["discount"].update(enabledForAccount=fake.bnb_fees, enabledForSymbol=fake.bnb_fees)
    return raw


def liquidation_price(fake: FakeBinance, quantity: Decimal, entry: Decimal, leverage: int, market_id: str) -> str:
    """Binance's one-way formula with the first bracket (MMR 0.4 %, cum 0): isolated from the position's own
    margin, cross from the whole wallet (one position)."""
    isolated = fake.margin_types[market_id] == "ISOLATED"
    wallet = abs(quantity) * entry / leverage if isolated else fake.venue.wallet()
    side = Decimal(1) if quantity > 0 else Decimal(-1)
    size = abs(quantity)
    price = (wallet - side * size * entry) / (size * Decimal("0.004") - side * size)
    return str(price) if price > 0 else "0"


# ---------------------------------------------------------------- trade history


def trade_window(fake: FakeBinance, params: dict[str, str], fills: list[Fill]) -> list[Fill]:
    """Binance's paging of ``userTrades`` (futures) and ``myTrades`` (spot).

    Futures: "If startTime and endTime are both not sent, then the last 7 days' data will be returned. The
    time between startTime and endTime cannot be longer than 7 days. The parameter fromId cannot be sent
    with startTime or endTime." Spot: at most 24 hours between startTime and endTime. Both: one bound given,
    the other follows by the span; ascending, ``limit`` default 500, max 1000, the oldest rows of the range
    first. (Read this way by the local venue too.)
    """
    span = 7 * DAY_MS if fake.futures else DAY_MS
    start, end = params.get("startTime"), params.get("endTime")
    if "fromId" in params and (start or end):
        fake.raise_error("bad_combination")
    if start and end and int(end) - int(start) > span:
        fake.raise_error("time_range")
    low, high = _range(fake, start, end, span, "fromId" in params or "orderId" in params)
    rows = [f for f in fills if low <= ms(f.filled_at) <= high]
    if "fromId" in params:
        rows = [f for f in rows if int(f.trade_id) >= int(params["fromId"])]
    if "orderId" in params:
        rows = [f for f in rows if f.exchange_order_id == params["orderId"]]
    limit = min(int(params.get("limit", 500)), 1000)
    return sorted(rows, key=lambda f: int(f.trade_id))[:limit]


def _range(fake: FakeBinance, start: str | None, end: str | None, span: int, by_id: bool) -> tuple[int, int]:
    if start and end:
        return int(start), int(end)
    if start:
        return int(start), int(start) + span
    if end:
        return int(end) - span, int(end)
    if by_id or not fake.futures:
        return 0, 2**62
    return server_ms(fake) - span, server_ms(fake)


def commission(fake: FakeBinance, fill: Fill) -> tuple[str, str]:
    """A fill's commission as Binance reports it: in BNB when the account pays fees with BNB."""
    if fake.bnb_fee_price is None:
        return str(fill.fee), fill.fee_asset
    in_quote = fill.fee if fill.fee_asset != fill.base_asset else fill.fee * fill.price
    return str(in_quote / fake.bnb_fee_price), "BNB"
