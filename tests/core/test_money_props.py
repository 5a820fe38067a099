"""Properties of ``MarketRules.checked_order``: quantize never rounds a quantity up and never lets an
order below the market's minimums through."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import OrderRejected
from core.ids import Symbol
from core.money import MarketRules

POWERS = [Decimal(1).scaleb(-n) for n in range(0, 9)]
steps = st.sampled_from(POWERS) | st.sampled_from([Decimal("0.5"), Decimal("0.25"), Decimal("5"), Decimal("0.002")])
amounts = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("100000"), places=8, allow_nan=False)


@st.composite
def market_rules(draw: st.DrawFn) -> MarketRules:
    step = draw(steps)
    return MarketRules(
        symbol=Symbol("BTC/USDT"),
        base="BTC",
        quote="USDT",
        tick_size=draw(steps),
        step_size=step,
        min_qty=step * draw(st.integers(min_value=0, max_value=5)),
        min_notional=draw(st.sampled_from([Decimal(0), Decimal(5), Decimal(10), Decimal(100)])),
    )


@settings(max_examples=400, deadline=None)
@given(rules=market_rules(), quantity=amounts, price=amounts)
def test_checked_order_never_rounds_up_and_never_goes_below_the_minimums(
    rules: MarketRules, quantity: Decimal, price: Decimal
) -> None:
    try:
        qty, px = rules.checked_order(quantity, price)
    except OrderRejected as rejection:
        assert rejection.code in {"below_min_qty", "below_min_notional", "invalid_price", "invalid_quantity"}
        return
    assert qty <= quantity
    assert qty > 0 and qty >= rules.min_qty
    assert qty % rules.step_size == 0
    assert quantity - qty < rules.step_size  # rounded down by less than one step
    assert px % rules.tick_size == 0 and abs(px - price) <= rules.tick_size / 2
    assert qty * px >= rules.min_notional


@settings(max_examples=200, deadline=None)
@given(rules=market_rules(), quantity=amounts)
def test_quantity_rounds_down_onto_the_step_grid(rules: MarketRules, quantity: Decimal) -> None:
    qty = rules.quantity(quantity)
    assert qty <= quantity and quantity - qty < rules.step_size and qty % rules.step_size == 0
