"""The pure bar-range rules of the simulated exchange."""

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from core.types import OrderType, Side
from exchange.sim.matching import (
    Bar,
    Priority,
    marketable,
    priority,
    resting_limit_fills,
    stop_trigger,
    take_profit_trigger,
    would_trigger_now,
)

BAR = Bar(D(100), D(110), D(90), D(105))


def test_sell_stop_triggers_at_the_stop_when_the_range_reaches_it() -> None:
    assert stop_trigger(Side.SELL, D(95), BAR) == D(95)
    assert stop_trigger(Side.SELL, D(90), BAR) == D(90)  # touching the low is enough
    assert stop_trigger(Side.SELL, D(89), BAR) is None


def test_a_gap_through_a_stop_fills_at_the_open_not_the_stop() -> None:
    gap_down = Bar(D(80), D(85), D(78), D(84))
    assert stop_trigger(Side.SELL, D(95), gap_down) == D(80)
    gap_up = Bar(D(120), D(125), D(118), D(121))
    assert stop_trigger(Side.BUY, D(105), gap_up) == D(120)


def test_buy_stop_mirrors_the_sell_stop() -> None:
    assert stop_trigger(Side.BUY, D(108), BAR) == D(108)
    assert stop_trigger(Side.BUY, D(111), BAR) is None


def test_take_profit_triggers_at_its_price_or_at_a_favourable_gap() -> None:
    assert take_profit_trigger(Side.SELL, D(108), BAR) == D(108)
    assert take_profit_trigger(Side.SELL, D(111), BAR) is None
    assert take_profit_trigger(Side.SELL, D(95), BAR) == D(100)  # opened above the target: the open
    assert take_profit_trigger(Side.BUY, D(92), BAR) == D(92)
    assert take_profit_trigger(Side.BUY, D(105), BAR) == D(100)


def test_resting_limits_need_price_to_trade_through() -> None:
    assert resting_limit_fills(Side.BUY, D(91), BAR)
    assert not resting_limit_fills(Side.BUY, D(90), BAR)  # touch only
    assert resting_limit_fills(Side.SELL, D(109), BAR)
    assert not resting_limit_fills(Side.SELL, D(110), BAR)
    assert marketable(Side.BUY, D(100), D(100)) and not marketable(Side.SELL, D(101), D(100))


def test_stops_come_before_take_profits_and_limits_in_one_bar() -> None:
    assert priority(OrderType.MARKET, False) < priority(OrderType.STOP_MARKET, False)
    assert priority(OrderType.STOP_MARKET, False) < priority(OrderType.TAKE_PROFIT, False)
    assert priority(OrderType.TAKE_PROFIT, False) < priority(OrderType.LIMIT, False)
    assert priority(OrderType.STOP_MARKET, True) is Priority.MARKET  # a triggered remainder
    assert priority(OrderType.STOP_LIMIT, True) is Priority.LIMIT


def test_would_trigger_now() -> None:
    assert would_trigger_now(OrderType.STOP_MARKET, Side.SELL, D(101), D(100))
    assert not would_trigger_now(OrderType.STOP_MARKET, Side.SELL, D(99), D(100))
    assert would_trigger_now(OrderType.TAKE_PROFIT, Side.SELL, D(99), D(100))
    assert not would_trigger_now(OrderType.TAKE_PROFIT, Side.SELL, D(101), D(100))


prices = st.integers(min_value=1, max_value=10_000).map(D)


@st.composite
def bars(draw: st.DrawFn) -> Bar:
    low, high = sorted([draw(prices), draw(prices)])
    open_, close = draw(st.integers(low, high)), draw(st.integers(low, high))
    return Bar(D(open_), high, low, D(close))


@given(bar=bars(), stop=prices)
def test_a_sell_stop_never_fills_better_than_its_stop_nor_outside_the_bar(bar: Bar, stop: D) -> None:
    fill = stop_trigger(Side.SELL, stop, bar)
    if fill is None:
        assert bar.low > stop
        return
    assert fill <= stop and bar.low <= fill <= bar.high


@given(bar=bars(), stop=prices)
def test_a_buy_stop_never_fills_better_than_its_stop_nor_outside_the_bar(bar: Bar, stop: D) -> None:
    fill = stop_trigger(Side.BUY, stop, bar)
    if fill is None:
        assert bar.high < stop
        return
    assert fill >= stop and bar.low <= fill <= bar.high
