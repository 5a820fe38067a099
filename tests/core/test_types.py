from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from core.ids import ClientOrderId, PositionId, Symbol
from core.types import Candle, ClosedTrade, ExitReason, OrderIntent, OrderType, PositionSide, Side, Signal

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def intent(**kw: object) -> OrderIntent:
    base: dict[str, object] = {
        "client_order_id": ClientOrderId("tw-1"),
        "symbol": Symbol("BTC/USDT"),
        "side": Side.BUY,
        "type": OrderType.MARKET,
        "quantity": Decimal("0.1"),
    }
    base.update(kw)
    return OrderIntent.model_validate(base)


def test_order_intent_prices_must_match_type() -> None:
    intent()
    intent(type=OrderType.LIMIT, price=Decimal(100))
    intent(type=OrderType.STOP_MARKET, stop_price=Decimal(90), reduce_only=True)
    intent(type=OrderType.STOP_LIMIT, stop_price=Decimal(90), price=Decimal(89))
    with pytest.raises(ValidationError, match="needs a limit price"):
        intent(type=OrderType.LIMIT)
    with pytest.raises(ValidationError, match="needs a stop"):
        intent(type=OrderType.TAKE_PROFIT)
    with pytest.raises(ValidationError, match="takes no limit price"):
        intent(price=Decimal(1))
    with pytest.raises(ValidationError, match="post-only"):
        intent(post_only=True)
    with pytest.raises(ValidationError):
        intent(quantity=Decimal(0))


def test_intent_is_frozen() -> None:
    with pytest.raises(ValidationError):
        intent().quantity = Decimal(2)  # type: ignore[misc]


def test_candle_rejects_inconsistent_ohlc() -> None:
    Candle(symbol=Symbol("X"), timeframe="5m", open_at=T0, open=1, high=2, low=0.5, close=1.5, volume=3)
    with pytest.raises(ValidationError, match="inconsistent"):
        Candle(symbol=Symbol("X"), timeframe="5m", open_at=T0, open=1, high=1.2, low=0.5, close=1.5, volume=3)
    with pytest.raises(ValidationError):
        Candle(symbol=Symbol("X"), timeframe="5m", open_at=datetime(2024, 1, 1), open=1, high=1, low=1, close=1, volume=0)


def test_closed_trade_net_pnl_and_win() -> None:
    trade = ClosedTrade(
        position_id=PositionId("p1"),
        symbol=Symbol("BTC/USDT"),
        side=PositionSide.LONG,
        quantity=Decimal(1),
        entry_price=Decimal(100),
        exit_price=Decimal(101),
        opened_at=T0,
        closed_at=T0,
        gross_pnl=Decimal(1),
        fees=Decimal("1.2"),
        exit_reason=ExitReason.TAKE_PROFIT,
        signals=(Signal.BREAKOUT,),
    )
    assert trade.net_pnl == Decimal("-0.2") and not trade.is_win


def test_side_helpers() -> None:
    assert PositionSide.LONG.exit_side is Side.SELL
    assert PositionSide.SHORT.entry_side is Side.SELL
    assert OrderType.STOP_MARKET.is_conditional and not OrderType.LIMIT.is_conditional
