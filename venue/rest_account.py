"""Account endpoints: balances, positions, fee terms and USDⓈ-M settings (leverage, margin type, position mode,
listen keys).

The simulated futures account is one-way mode, cross margin, single-asset margin; requests that
would change those answer Binance's "no need to change" codes when they ask for what already is,
and -1020 (not supported) otherwise. ``symbolConfig`` reads them back per symbol. The leverage bracket is
one bracket up to the venue's maximum leverage with the simulated exchange's maintenance margin rate: the
rate it liquidates with. The venue holds no BNB and has BNB fee payment off (spot ``account/commission``'s
``discount``, USDⓈ-M ``feeBurn``): fees are taken in the trade's assets, as the simulated exchange charges them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.ids import Symbol
from exchange.symbols import exchange_id
from venue import errors
from venue import rest_shapes as shapes
from venue.calls import Call, Context
from venue.orders import required

Json = dict[str, Any]


def spot_account(ctx: Context, call: Call) -> Json:
    market = ctx.market
    rules = next(iter(market.sim.markets().values()))
    return shapes.spot_account(market.sim.balances(), rules, market.now_ms)


def _asset(ctx: Context) -> Json:
    market = ctx.market
    quote = market.sim.config.quote_asset
    balance = market.sim.balances()[quote]
    unrealized = sum((p.unrealized_pnl for p in market.sim.positions()), Decimal(0))
    return shapes.futures_asset(quote, balance, market.sim.wallet(), unrealized, market.now_ms)


def _positions(ctx: Context, symbols: list[Symbol], *, flat_rows: bool) -> list[Json]:
    market = ctx.market
    held = {p.symbol: p for p in market.sim.positions()}
    rows = []
    for symbol in symbols:
        position = held.get(symbol)
        if position is None and not flat_rows:
            continue
        mark = market.sim.last_price(symbol) or Decimal(0)
        rows.append(shapes.position_risk(exchange_id(symbol), position, mark, market.sim.leverage(symbol),
                                         market.now_ms))
    return rows


def _wanted(ctx: Context, call: Call) -> list[Symbol]:
    if "symbol" in call.params:
        return [ctx.market.book.symbol(call.params)]
    return sorted(ctx.market.sim.markets())


def futures_account_v2(ctx: Context, call: Call) -> Json:
    return shapes.futures_account(_asset(ctx), _positions(ctx, sorted(ctx.market.sim.markets()), flat_rows=True))


def futures_account_v3(ctx: Context, call: Call) -> Json:
    return shapes.futures_account(_asset(ctx), _positions(ctx, sorted(ctx.market.sim.markets()), flat_rows=False))


def futures_balance(ctx: Context, call: Call) -> list[Json]:
    asset = _asset(ctx)
    return [{
        "accountAlias": "venue", "asset": asset["asset"], "balance": asset["walletBalance"],
        "crossWalletBalance": asset["crossWalletBalance"], "crossUnPnl": asset["crossUnPnl"],
        "availableBalance": asset["availableBalance"], "maxWithdrawAmount": asset["maxWithdrawAmount"],
        "marginAvailable": True, "updateTime": asset["updateTime"],
    }]


def position_risk_v2(ctx: Context, call: Call) -> list[Json]:
    """v2 lists every asked symbol, flat ones included."""
    return _positions(ctx, _wanted(ctx, call), flat_rows=True)


def position_risk_v3(ctx: Context, call: Call) -> list[Json]:
    """v3 lists only symbols with a position."""
    return _positions(ctx, _wanted(ctx, call), flat_rows=False)


def set_leverage(ctx: Context, call: Call) -> Json:
    market = ctx.market
    symbol = market.book.symbol(call.params)
    raw = required(call.params, "leverage")
    try:
        leverage = int(raw)
    except ValueError as exc:
        raise errors.illegal_number("leverage") from exc
    if not 1 <= leverage <= market.sim.config.max_leverage:
        raise errors.bad_leverage(raw)
    market.set_leverage(symbol, leverage)
    return {"leverage": leverage, "maxNotionalValue": "1000000000", "symbol": exchange_id(symbol)}


def margin_type(ctx: Context, call: Call) -> Json:
    ctx.market.book.symbol(call.params)
    if required(call.params, "marginType").upper() in ("CROSSED", "CROSS"):
        raise errors.no_need_margin_type()
    raise errors.unsupported("isolated margin")


def symbol_config(ctx: Context, call: Call) -> list[Json]:
    """``GET /fapi/v1/symbolConfig``: the leverage and margin type each symbol trades at (all without ``symbol``)."""
    market = ctx.market
    return [
        {"symbol": exchange_id(symbol), "marginType": "CROSSED", "isAutoAddMargin": "false",
         "leverage": market.sim.leverage(symbol), "maxNotionalValue": "1000000000"}
        for symbol in _wanted(ctx, call)
    ]


def get_position_mode(ctx: Context, call: Call) -> Json:
    return {"dualSidePosition": False}


def set_position_mode(ctx: Context, call: Call) -> Json:
    if required(call.params, "dualSidePosition").lower() == "false":
        raise errors.no_need_position_side()
    raise errors.unsupported("hedge mode")


def get_multi_assets(ctx: Context, call: Call) -> Json:
    return {"multiAssetsMargin": False}


def set_multi_assets(ctx: Context, call: Call) -> Json:
    if required(call.params, "multiAssetsMargin").lower() == "false":
        return {"code": 200, "msg": "success"}
    raise errors.unsupported("multi-assets margin")


def leverage_bracket(ctx: Context, call: Call) -> list[Json]:
    market = ctx.market
    config = market.sim.config
    rows = [
        {
            "symbol": exchange_id(symbol),
            "notionalCoef": 1.0,
            "brackets": [{
                "bracket": 1, "initialLeverage": config.max_leverage, "notionalCap": 1_000_000_000,
                "notionalFloor": 0, "maintMarginRatio": float(config.maintenance_margin_rate), "cum": 0.0,
            }],
        }
        for symbol in _wanted(ctx, call)
    ]
    return rows


def commission_rate(ctx: Context, call: Call) -> Json:
    market = ctx.market
    symbol = market.book.symbol(call.params)
    rules = market.book.rules(symbol)
    return {"symbol": exchange_id(symbol), "makerCommissionRate": shapes.fmt(rules.maker_fee),
            "takerCommissionRate": shapes.fmt(rules.taker_fee)}


def spot_commission(ctx: Context, call: Call) -> Json:
    """``GET /api/v3/account/commission``: the symbol's rates and the BNB discount (off: no BNB on the venue)."""
    market = ctx.market
    symbol = market.book.symbol(call.params)
    rules = market.book.rules(symbol)
    zero = {"maker": "0", "taker": "0", "buyer": "0", "seller": "0"}
    return {
        "symbol": exchange_id(symbol),
        "standardCommission": {"maker": shapes.fmt(rules.maker_fee), "taker": shapes.fmt(rules.taker_fee),
                               "buyer": "0", "seller": "0"},
        "specialCommission": zero,
        "taxCommission": zero,
        "discount": {"enabledForAccount": False, "enabledForSymbol": False, "discountAsset": "BNB",
                     "discount": "0.75000000"},
    }


def fee_burn(ctx: Context, call: Call) -> Json:
    """``GET /fapi/v1/feeBurn``: BNB fee payment off (futures fees are taken in USDT)."""
    return {"feeBurn": False}


# ---------------------------------------------------------------- USDⓈ-M listen keys (USER_STREAM)


def new_listen_key(ctx: Context, call: Call) -> Json:
    return {"listenKey": ctx.keys.create(call.wall_ms)}


def keep_listen_key(ctx: Context, call: Call) -> Json:
    live = sorted(ctx.keys.valid(call.wall_ms))
    key = call.params.get("listenKey") or (live[0] if live else "")
    ctx.keys.keepalive(key, call.wall_ms)
    return {"listenKey": key}


def close_listen_key(ctx: Context, call: Call) -> Json:
    live = sorted(ctx.keys.valid(call.wall_ms))
    key = call.params.get("listenKey") or (live[0] if live else "")
    ctx.keys.delete(key)
    return {}
