"""Pure bar-range matching rules: when an order triggers or fills within one bar, and at what price.

A bar is only a range (open, high, low, close), not a path, so the rules are conservative:

- a **stop** triggers when the range reaches its trigger and fills at the trigger, or at the
  **open** when the bar opened already through it (a gap never fills at the better stop price);
- a **take-profit** triggers the same way and fills at its trigger, or at the open when gapped
  (a gap in our favour is real: the first trade was at the open);
- a **resting limit** fills only when price trades *through* it (strictly beyond), at its limit
  price, as maker; a limit that is marketable when it first meets the market fills at that price
  as taker;
- **priority inside one bar**: market orders at the open first, then stops, then take-profits,
  then limits. When one bar reaches both a position's stop and its take-profit the stop is
  assumed first, so the simulated result is never better than what really happened.

A tick is a bar whose open, high, low and close are the same price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum

from core.types import OrderType, Side


@dataclass(frozen=True, slots=True)
class Bar:
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal | None = None
    """Base-asset volume; ``None`` (a bare tick) means unlimited liquidity."""

    @classmethod
    def tick(cls, price: Decimal, volume: Decimal | None = None) -> Bar:
        return cls(price, price, price, price, volume)


class Priority(IntEnum):
    """Processing order inside one bar (lower first)."""

    MARKET = 0
    STOP = 1
    TAKE_PROFIT = 2
    LIMIT = 3


def priority(order_type: OrderType, triggered: bool) -> Priority:
    if order_type is OrderType.MARKET or (triggered and order_type is not OrderType.STOP_LIMIT):
        return Priority.MARKET
    if order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT) and not triggered:
        return Priority.STOP
    if order_type is OrderType.TAKE_PROFIT:
        return Priority.TAKE_PROFIT
    return Priority.LIMIT


def stop_trigger(side: Side, stop: Decimal, bar: Bar) -> Decimal | None:
    """Price at which a stop (sell below / buy above the market) triggers in ``bar``, or None."""
    if side is Side.SELL:
        if bar.open <= stop:
            return bar.open
        return stop if bar.low <= stop else None
    if bar.open >= stop:
        return bar.open
    return stop if bar.high >= stop else None


def take_profit_trigger(side: Side, trigger: Decimal, bar: Bar) -> Decimal | None:
    """Price at which a take-profit (sell above / buy below the market) triggers in ``bar``, or None."""
    if side is Side.SELL:
        if bar.open >= trigger:
            return bar.open
        return trigger if bar.high >= trigger else None
    if bar.open <= trigger:
        return bar.open
    return trigger if bar.low <= trigger else None


def marketable(side: Side, limit: Decimal, price: Decimal) -> bool:
    """Would a limit order at ``limit`` trade immediately against ``price``?"""
    return price <= limit if side is Side.BUY else price >= limit


def resting_limit_fills(side: Side, limit: Decimal, bar: Bar) -> bool:
    """A resting limit fills (at its limit, as maker) when the bar trades strictly through it."""
    return bar.low < limit if side is Side.BUY else bar.high > limit


def would_trigger_now(order_type: OrderType, side: Side, trigger: Decimal, last: Decimal) -> bool:
    """Binance refuses a conditional order whose trigger the last price already reached (-2021)."""
    as_bar = Bar.tick(last)
    if order_type is OrderType.TAKE_PROFIT:
        return take_profit_trigger(side, trigger, as_bar) is not None
    return stop_trigger(side, trigger, as_bar) is not None
