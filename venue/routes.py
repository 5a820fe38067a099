"""The REST endpoints the venue serves, with Binance's security type and request weight for each.

Spot serves ``/api/v3/*``; USDⓈ-M serves ``/fapi/v1|v2|v3/*`` and ``/futures/data/*``. These are
the endpoints ccxt calls for what tradewake does (markets, klines, tickers, balances, positions,
leverage and margin settings and their read-back, fee terms, orders in both books, trades, listen keys)
plus their siblings that cost nothing to add. Weights are Binance's published ones at the time of writing.
"""

from __future__ import annotations

from venue import rest_account as account
from venue import rest_private as private
from venue import rest_public as public
from venue.calls import Route, by_symbol, fixed
from venue.errors import MarketKind

Table = dict[tuple[str, str], Route]


SPOT: Table = {
    ("GET", "/api/v3/ping"): Route(public.ping, "NONE", fixed(1)),
    ("GET", "/api/v3/time"): Route(public.server_time, "NONE", fixed(1)),
    ("GET", "/api/v3/exchangeInfo"): Route(public.exchange_info, "NONE", fixed(20)),
    ("GET", "/api/v3/klines"): Route(public.get_klines, "NONE", fixed(2)),
    ("GET", "/api/v3/ticker/price"): Route(public.ticker_price, "NONE", by_symbol(2, 4)),
    ("GET", "/api/v3/ticker/24hr"): Route(public.ticker_24hr, "NONE", by_symbol(2, 80)),
    ("GET", "/api/v3/account"): Route(account.spot_account, "SIGNED", fixed(20)),
    ("GET", "/api/v3/account/commission"): Route(account.spot_commission, "SIGNED", fixed(20)),
    ("POST", "/api/v3/order"): Route(private.spot_new_order, "SIGNED", fixed(1), order=True),
    ("POST", "/api/v3/order/test"): Route(private.spot_test_order, "SIGNED", fixed(1)),
    ("GET", "/api/v3/order"): Route(private.get_order, "SIGNED", fixed(4)),
    ("DELETE", "/api/v3/order"): Route(private.cancel_order, "SIGNED", fixed(1)),
    ("GET", "/api/v3/openOrders"): Route(private.open_orders, "SIGNED", by_symbol(6, 80)),
    ("DELETE", "/api/v3/openOrders"): Route(private.cancel_all_regular, "SIGNED", fixed(1)),
    ("GET", "/api/v3/allOrders"): Route(private.all_orders, "SIGNED", fixed(20)),
    ("GET", "/api/v3/myTrades"): Route(private.my_trades, "SIGNED", fixed(20)),
}

FUTURES: Table = {
    ("GET", "/fapi/v1/ping"): Route(public.ping, "NONE", fixed(1)),
    ("GET", "/fapi/v1/time"): Route(public.server_time, "NONE", fixed(1)),
    ("GET", "/fapi/v1/exchangeInfo"): Route(public.exchange_info, "NONE", fixed(1)),
    ("GET", "/fapi/v1/klines"): Route(public.get_klines, "NONE", public.kline_weight),
    ("GET", "/fapi/v1/ticker/price"): Route(public.ticker_price, "NONE", by_symbol(1, 2)),
    ("GET", "/fapi/v2/ticker/price"): Route(public.ticker_price, "NONE", by_symbol(1, 2)),
    ("GET", "/fapi/v1/ticker/24hr"): Route(public.ticker_24hr, "NONE", by_symbol(1, 40)),
    ("GET", "/fapi/v1/premiumIndex"): Route(public.premium_index, "NONE", by_symbol(1, 10)),
    ("GET", "/fapi/v1/openInterest"): Route(public.open_interest, "NONE", fixed(1)),
    ("GET", "/fapi/v1/fundingRate"): Route(public.funding_history, "NONE", fixed(1)),
    ("GET", "/futures/data/globalLongShortAccountRatio"): Route(public.no_crowd, "NONE", fixed(1)),
    ("GET", "/futures/data/openInterestHist"): Route(public.no_crowd, "NONE", fixed(1)),
    ("GET", "/fapi/v2/account"): Route(account.futures_account_v2, "SIGNED", fixed(5)),
    ("GET", "/fapi/v3/account"): Route(account.futures_account_v3, "SIGNED", fixed(5)),
    ("GET", "/fapi/v2/balance"): Route(account.futures_balance, "SIGNED", fixed(5)),
    ("GET", "/fapi/v3/balance"): Route(account.futures_balance, "SIGNED", fixed(5)),
    ("GET", "/fapi/v2/positionRisk"): Route(account.position_risk_v2, "SIGNED", fixed(5)),
    ("GET", "/fapi/v3/positionRisk"): Route(account.position_risk_v3, "SIGNED", fixed(5)),
    ("POST", "/fapi/v1/leverage"): Route(account.set_leverage, "SIGNED", fixed(1)),
    ("POST", "/fapi/v1/marginType"): Route(account.margin_type, "SIGNED", fixed(1)),
    ("GET", "/fapi/v1/positionSide/dual"): Route(account.get_position_mode, "SIGNED", fixed(30)),
    ("POST", "/fapi/v1/positionSide/dual"): Route(account.set_position_mode, "SIGNED", fixed(1)),
    ("GET", "/fapi/v1/multiAssetsMargin"): Route(account.get_multi_assets, "SIGNED", fixed(30)),
    ("POST", "/fapi/v1/multiAssetsMargin"): Route(account.set_multi_assets, "SIGNED", fixed(1)),
    ("GET", "/fapi/v1/leverageBracket"): Route(account.leverage_bracket, "SIGNED", fixed(1)),
    ("GET", "/fapi/v1/commissionRate"): Route(account.commission_rate, "SIGNED", fixed(20)),
    ("GET", "/fapi/v1/symbolConfig"): Route(account.symbol_config, "SIGNED", fixed(5)),
    ("GET", "/fapi/v1/feeBurn"): Route(account.fee_burn, "SIGNED", fixed(30)),
    ("POST", "/fapi/v1/order"): Route(private.futures_new_order, "SIGNED", fixed(0), order=True),
    ("GET", "/fapi/v1/order"): Route(private.get_order, "SIGNED", fixed(1)),
    ("DELETE", "/fapi/v1/order"): Route(private.cancel_order, "SIGNED", fixed(1)),
    ("GET", "/fapi/v1/openOrder"): Route(private.open_order, "SIGNED", fixed(1)),
    ("GET", "/fapi/v1/openOrders"): Route(private.open_orders, "SIGNED", by_symbol(1, 40)),
    ("DELETE", "/fapi/v1/allOpenOrders"): Route(private.cancel_all_regular, "SIGNED", fixed(1)),
    ("GET", "/fapi/v1/allOrders"): Route(private.all_orders, "SIGNED", fixed(5)),
    ("POST", "/fapi/v1/algoOrder"): Route(private.new_algo_order, "SIGNED", fixed(0), order=True),
    ("GET", "/fapi/v1/algoOrder"): Route(private.get_algo_order, "SIGNED", fixed(1)),
    ("DELETE", "/fapi/v1/algoOrder"): Route(private.cancel_algo_order, "SIGNED", fixed(1)),
    ("GET", "/fapi/v1/openAlgoOrders"): Route(private.open_algo_orders, "SIGNED", by_symbol(1, 40)),
    ("GET", "/fapi/v1/allAlgoOrders"): Route(private.all_algo_orders, "SIGNED", fixed(5)),
    ("DELETE", "/fapi/v1/algoOpenOrders"): Route(private.cancel_all_algo, "SIGNED", fixed(1)),
    ("GET", "/fapi/v1/userTrades"): Route(private.my_trades, "SIGNED", fixed(5)),
    ("POST", "/fapi/v1/listenKey"): Route(account.new_listen_key, "USER_STREAM", fixed(1)),
    ("PUT", "/fapi/v1/listenKey"): Route(account.keep_listen_key, "USER_STREAM", fixed(1)),
    ("DELETE", "/fapi/v1/listenKey"): Route(account.close_listen_key, "USER_STREAM", fixed(1)),
}


def routes_for(market: MarketKind) -> Table:
    return SPOT if market == "spot" else FUTURES
