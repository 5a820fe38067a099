"""Market descriptions as Binance answers them: ``exchangeInfo`` (built from the simulated exchange's
market rules, so ccxt loads exactly the filters the venue enforces) and ``klines`` rows."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from core.money import MarketRules
from exchange.symbols import exchange_id
from venue.klines import KlineRow
from venue.rest_shapes import fmt
from venue.weights import Limits

Json = dict[str, Any]


def exchange_info(markets: Iterable[MarketRules], limits: Limits, now_ms: int, *, futures: bool) -> Json:
    symbols = [_futures_symbol(m) if futures else _spot_symbol(m) for m in markets]
    raw: Json = {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": limits.rate_limits(),
        "exchangeFilters": [],
        "symbols": symbols,
    }
    if futures:
        raw["futuresType"] = "U_MARGINED"
        raw["assets"] = [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}]
    return raw


def _filters(rules: MarketRules, futures: bool) -> list[Json]:
    notional: Json = (
        {"filterType": "MIN_NOTIONAL", "notional": fmt(rules.min_notional)}
        if futures
        else {"filterType": "NOTIONAL", "minNotional": fmt(rules.min_notional), "applyMinToMarket": True,
              "maxNotional": "9000000", "applyMaxToMarket": False, "avgPriceMins": 5}
    )
    max_qty = fmt(rules.max_qty) if rules.max_qty is not None else "9000000"
    return [
        {"filterType": "PRICE_FILTER", "minPrice": fmt(rules.tick_size), "maxPrice": "10000000",
         "tickSize": fmt(rules.tick_size)},
        {"filterType": "LOT_SIZE", "minQty": fmt(rules.min_qty), "maxQty": max_qty, "stepSize": fmt(rules.step_size)},
        {"filterType": "MARKET_LOT_SIZE", "minQty": fmt(rules.min_qty), "maxQty": max_qty,
         "stepSize": fmt(rules.step_size)},
        notional,
    ]


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _spot_symbol(rules: MarketRules) -> Json:
    return {
        "symbol": exchange_id(rules.symbol),
        "status": "TRADING",
        "baseAsset": rules.base,
        "baseAssetPrecision": 8,
        "quoteAsset": rules.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": _filters(rules, futures=False),
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


def _futures_symbol(rules: MarketRules) -> Json:
    return {
        "symbol": exchange_id(rules.symbol),
        "pair": exchange_id(rules.symbol),
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": rules.base,
        "quoteAsset": rules.quote,
        "marginAsset": rules.quote,
        "pricePrecision": _decimals(rules.tick_size),
        "quantityPrecision": _decimals(rules.step_size),
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": _filters(rules, futures=True),
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT_MARKET"],
        "timeInForce": ["GTC", "GTX"],
        "permissionSets": [],
    }


def kline(row: KlineRow, decimals: int) -> list[Any]:
    """One ``klines`` row: ``[open time, o, h, l, c, volume, close time, quote volume, trades,
    taker buy base, taker buy quote, "0"]``."""
    price = f".{decimals}f"
    return [
        row.open_ms, format(row.open, price), format(row.high, price), format(row.low, price),
        format(row.close, price), f"{row.volume:.8f}", row.close_ms, f"{row.quote_volume:.8f}", row.trades,
        f"{row.taker_buy_volume:.8f}", f"{row.taker_buy_quote:.8f}", "0",
    ]
