"""Liquidation prices (Binance USDⓈ-M one-way formula) and the stop-before-liquidation check safety will veto with.

Binance: ``LP = (WB - TMM + UPNL + cum - side*Q*EP) / (Q*MMR - side*Q)``; isolated ``WB`` is the position's
margin, cross ``WB`` the wallet. On an isolated 20x long the liquidation price is about 4.6 % under the
entry, inside an 8 % stop distance: the stop never fills, the position is liquidated first.
"""

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from core.clock import SimClock
from core.ids import Symbol
from core.types import PositionSide, Side
from exchange.liquidation import (
    MaintenanceBracket,
    MarginType,
    bracket_for,
    entry_liquidation_price,
    liquidation_price,
    stop_versus_liquidation,
)
from exchange.sim import SimConfig, SimExchange, binance_futures_markets
from tests.exchange.simkit import T0, intent

BTC_BRACKETS = [
    MaintenanceBracket(D(0), D(50_000), D("0.004"), D(0), 125),
    MaintenanceBracket(D(50_000), D(600_000), D("0.005"), D(50), 100),
]
FBTC = Symbol("BTC/USDT:USDT")


def test_an_isolated_20x_long_is_liquidated_inside_an_8_percent_stop() -> None:
    """Binance's one-way formula, isolated 20x long: the liquidation price sits 4.6 % under the entry."""
    lp = entry_liquidation_price(
        PositionSide.LONG, D("0.1"), D(40_000), leverage=D(20), margin_type=MarginType.ISOLATED, brackets=BTC_BRACKETS
    )
    assert lp is not None and D("38152.6") < lp < D("38152.7")  # 4.62 % under the entry
    wide = stop_versus_liquidation(PositionSide.LONG, D(36_800), lp, D(40_000), margin_pct=D("0.5"))
    assert not wide.ok and wide.gap_pct is not None and wide.gap_pct < 0
    assert "does not clear the liquidation price 38152.6" in wide.message
    tight = stop_versus_liquidation(PositionSide.LONG, D(39_200), lp, D(40_000), margin_pct=D("0.5"))
    assert tight.ok and tight.gap_pct is not None and D("2.6") < tight.gap_pct < D("2.7")
    close = stop_versus_liquidation(PositionSide.LONG, D(38_300), lp, D(40_000), margin_pct=D("0.5"))
    assert not close.ok  # beyond the liquidation price by less than the margin


def test_a_short_mirrors_a_long() -> None:
    """The same formula with side -1: a short's liquidation price is above its entry."""
    lp = entry_liquidation_price(
        PositionSide.SHORT, D("0.1"), D(40_000), leverage=D(20), margin_type=MarginType.ISOLATED, brackets=BTC_BRACKETS
    )
    assert lp is not None and D("41832.6") < lp < D("41832.7")
    assert stop_versus_liquidation(PositionSide.SHORT, D(40_800), lp, D(40_000), margin_pct=D("0.5")).ok
    assert not stop_versus_liquidation(PositionSide.SHORT, D(42_000), lp, D(40_000), margin_pct=D("0.5")).ok


def test_a_fully_collateralised_long_cannot_be_liquidated() -> None:
    """At 1x isolated the formula gives a price of 0: no liquidation price (Binance reports 0)."""
    assert (
        entry_liquidation_price(
            PositionSide.LONG, D(1), D(40_000), leverage=D(1), margin_type=MarginType.ISOLATED, brackets=BTC_BRACKETS
        )
        is None
    )
    check = stop_versus_liquidation(PositionSide.LONG, D(1), None, D(40_000), margin_pct=D(1))
    assert check.ok and "cannot be liquidated" in check.message


def test_the_bracket_follows_the_notional_and_cum_keeps_it_continuous() -> None:
    """Maintenance rate by notional bracket; ``cum`` keeps the maintenance margin continuous at a bracket edge."""
    assert bracket_for(D(49_999), BTC_BRACKETS).maintenance_rate == D("0.004")
    assert bracket_for(D(50_000), BTC_BRACKETS).maintenance_rate == D("0.005")
    assert bracket_for(D(10**9), BTC_BRACKETS).maintenance_rate == D("0.005")  # above the last cap: the last one
    at_cap = D(50_000)
    assert at_cap * D("0.004") - 0 == at_cap * D("0.005") - 50  # maintenance margin is continuous at the edge


def test_the_cross_liquidation_price_is_where_the_simulated_exchange_liquidates() -> None:
    """The simulated exchange liquidates when equity falls below maintenance (0.4 %): the same point."""
    entry_fill = D(40_000)

    def venue() -> SimExchange:
        ex = SimExchange(
            binance_futures_markets(),
            SimClock(T0),
            SimConfig(market_type="future", initial_balances={"USDT": D(10_000)}, default_leverage=10),
        )
        ex.on_price(entry_fill, symbol=FBTC)
        ex.place(intent("tw-in", quantity="1", symbol=FBTC))
        ex.on_price(entry_fill, symbol=FBTC)
        return ex

    probe = venue()
    lp = liquidation_price(PositionSide.LONG, D(1), entry_fill, probe.wallet(), BTC_BRACKETS[0])
    assert lp is not None
    above, below = venue(), venue()
    above.on_price(lp + D("0.2"), symbol=FBTC)
    below.on_price(lp - D("0.2"), symbol=FBTC)
    assert above.positions() and not below.positions()


leverages = st.integers(min_value=2, max_value=125)
quantities = st.decimals(min_value=D("0.001"), max_value=D(10), places=3)
prices = st.decimals(min_value=D(100), max_value=D(100_000), places=1)
sides = st.sampled_from(list(PositionSide))


@given(side=sides, quantity=quantities, entry=prices, low=leverages, high=leverages)
def test_more_leverage_never_moves_the_isolated_liquidation_price_away_from_the_entry(
    side: PositionSide, quantity: D, entry: D, low: int, high: int
) -> None:
    """Less margin per unit of notional: the liquidation price only comes closer to the entry."""
    low, high = min(low, high), max(low, high)

    def lp(leverage: int) -> D:
        price = entry_liquidation_price(
            side, quantity, entry, leverage=D(leverage), margin_type=MarginType.ISOLATED, brackets=BTC_BRACKETS
        )
        assert price is not None
        return price

    assert abs(lp(high) - entry) <= abs(lp(low) - entry)
    assert (lp(low) < entry) if side is PositionSide.LONG else (lp(low) > entry)


@given(side=sides, entry=prices, leverage=leverages, margin=st.decimals(min_value=D("0.01"), max_value=5, places=2))
def test_the_check_passes_exactly_the_stops_that_fill_before_the_liquidation_price_with_the_margin(
    side: PositionSide, entry: D, leverage: int, margin: D
) -> None:
    """A stop must trigger before the mark price reaches liquidation, with a margin for mark/last gaps and slippage."""
    lp = entry_liquidation_price(
        side, D(1), entry, leverage=D(leverage), margin_type=MarginType.ISOLATED, brackets=BTC_BRACKETS
    )
    assert lp is not None
    toward_entry = D(1) if side is PositionSide.LONG else D(-1)

    def stop_at(gap_pct: D) -> D:
        return lp + toward_entry * entry * gap_pct / 100

    clear = stop_versus_liquidation(side, stop_at(margin + D("0.01")), lp, entry, margin_pct=margin)
    short_of = stop_versus_liquidation(side, stop_at(margin - D("0.01")), lp, entry, margin_pct=margin)
    assert clear.ok and not short_of.ok
    triggers_first = clear.stop_price > lp if side.exit_side is Side.SELL else clear.stop_price < lp
    assert triggers_first
