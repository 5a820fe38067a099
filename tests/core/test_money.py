from decimal import Decimal

import pytest

from core.errors import OrderRejected
from core.ids import Symbol
from core.money import MarketRules, quantize_step, to_decimal

RULES = MarketRules(
    symbol=Symbol("BTC/USDT"),
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.01"),
    step_size=Decimal("0.00001"),
    min_qty=Decimal("0.00001"),
    min_notional=Decimal("5"),
)


def test_quantity_rounds_down_never_up() -> None:
    assert RULES.quantity(Decimal("0.123456789")) == Decimal("0.12345")
    assert RULES.quantity(Decimal("0.000019999")) == Decimal("0.00001")


def test_price_rounds_to_nearest_tick_or_given_direction() -> None:
    assert RULES.price(Decimal("100.005")) == Decimal("100.00")  # half-even
    assert RULES.price(Decimal("100.0051")) == Decimal("100.01")
    assert RULES.price(Decimal("100.019"), "down") == Decimal("100.01")
    assert RULES.price(Decimal("100.011"), "up") == Decimal("100.02")


def test_non_power_of_ten_step() -> None:
    assert quantize_step(Decimal("17"), Decimal("5")) == Decimal("15")
    assert quantize_step(Decimal("0.37"), Decimal("0.25")) == Decimal("0.25")


def test_checked_order_rejects_below_min_notional_with_reason() -> None:
    with pytest.raises(OrderRejected) as info:
        RULES.checked_order(Decimal("0.0001"), Decimal("30000"))
    assert info.value.code == "below_min_notional"
    assert "is below the minimum 5 USDT" in info.value.message


def test_checked_order_rejects_quantity_that_rounds_to_zero() -> None:
    with pytest.raises(OrderRejected) as info:
        RULES.checked_order(Decimal("0.000001"), Decimal("30000"))
    assert info.value.code == "below_min_qty"


def test_checked_order_accepts_and_quantizes() -> None:
    qty, px = RULES.checked_order(Decimal("0.0123456"), Decimal("30000.004"))
    assert (qty, px) == (Decimal("0.01234"), Decimal("30000.00"))


@pytest.mark.parametrize("bad", [Decimal(0), Decimal(-1)])
def test_checked_order_rejects_non_positive(bad: Decimal) -> None:
    with pytest.raises(OrderRejected):
        RULES.checked_order(bad, Decimal(1))
    with pytest.raises(OrderRejected):
        RULES.checked_order(Decimal(1), bad)


def test_to_decimal_uses_shortest_repr() -> None:
    assert to_decimal(0.1) == Decimal("0.1")
    with pytest.raises(ValueError):
        to_decimal(float("nan"))
    with pytest.raises(ValueError):
        to_decimal("abc")


def test_rules_refuse_non_positive_tick() -> None:
    with pytest.raises(ValueError):
        MarketRules(symbol=Symbol("X/Y"), base="X", quote="Y", tick_size=Decimal(0), step_size=Decimal(1))
