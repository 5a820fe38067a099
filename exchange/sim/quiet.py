"""The prices at which the next bar of a symbol makes the simulated exchange act (``core.quiet.QuietBand``). Pure.

The rules of ``exchange.sim.matching`` turned around: a resting stop triggers when the bar's range reaches it,
a take-profit likewise, a resting limit when price trades through it; a market order, a triggered conditional
and an order that has not met the market yet act on the next bar whatever its prices. A futures account with
one open position is liquidated when the bar's worst price crosses the price solved from
``FuturesAccount.needs_liquidation``; with several, every bar of their symbols may be the one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from core.ids import Symbol
from core.quiet import EVERY_CANDLE, QUIET, QuietBand
from core.types import OrderType, Side
from exchange.sim.accounts import FuturesAccount, SpotAccount
from exchange.sim.book import SimOrder


def order_band(order: SimOrder) -> QuietBand:
    """Where the next bar makes ``order`` trigger or fill."""
    intent = order.intent
    if intent.type is OrderType.MARKET or order.triggered or order.fresh:
        return EVERY_CANDLE
    sell = intent.side is Side.SELL
    match intent.type:
        case OrderType.STOP_MARKET | OrderType.STOP_LIMIT:
            level = intent.stop_price
            return QuietBand(range_low=level) if sell else QuietBand(range_high=level)
        case OrderType.TAKE_PROFIT:
            level = intent.stop_price
            return QuietBand(range_high=level) if sell else QuietBand(range_low=level)
        case OrderType.LIMIT:
            return QuietBand(range_high=intent.price) if sell else QuietBand(range_low=intent.price)
        case _:
            return EVERY_CANDLE


def liquidation_band(
    account: SpotAccount | FuturesAccount, symbol: Symbol, maintenance_rate: Decimal
) -> QuietBand:
    """Where the next bar of ``symbol`` liquidates the account (never on spot)."""
    if not isinstance(account, FuturesAccount) or symbol not in account.open:
        return QUIET
    if len(account.open) > 1:
        return EVERY_CANDLE
    position = account.open[symbol]
    q, entry, wallet = position.quantity, position.entry_price, account.wallet
    if q > 0:  # wallet + q (p - e) < q p r  <=>  p < (q e - wallet) / (q (1 - r))
        denominator = q * (1 - maintenance_rate)
        return QuietBand(range_low=(q * entry - wallet) / denominator) if denominator > 0 else EVERY_CANDLE
    size = -q  # wallet - size (p - e) < size p r  <=>  p > (wallet + size e) / (size (1 + r))
    return QuietBand(range_high=(wallet + size * entry) / (size * (1 + maintenance_rate)))


def symbol_band(orders: Iterable[SimOrder], account: SpotAccount | FuturesAccount, symbol: Symbol,
                maintenance_rate: Decimal) -> QuietBand:  # fmt: skip
    """Every open order of ``symbol`` and the account's liquidation, together."""
    band = liquidation_band(account, symbol, maintenance_rate)
    for order in orders:
        if order.is_open:
            band = band.merge(order_band(order))
    return band


def exchange_bands(open_by_symbol: Mapping[Symbol, list[SimOrder]], account: SpotAccount | FuturesAccount,
                   symbols: Iterable[Symbol], maintenance_rate: Decimal) -> dict[Symbol, QuietBand]:  # fmt: skip
    return {s: symbol_band(open_by_symbol.get(s, ()), account, s, maintenance_rate) for s in symbols}
