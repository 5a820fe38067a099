"""The book as the model reads it: futures leverage, blocked entries, the operator's halt, a trailing stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from agent.book_text import render_book
from agent.prompting import TradingFacts, system_prompt, user_message
from agent.tokens import example_book
from core.ids import PositionId, Symbol
from core.portfolio import BreakerView, ControlsView, PositionView
from core.settings import RiskSettings
from core.types import PositionSide
from tests.tools.helpers import make_request

AT = datetime(2024, 3, 1, 12, tzinfo=UTC)


def test_a_futures_book_with_a_halt_an_open_breaker_and_a_trailing_short() -> None:
    request = make_request()
    book = example_book(request, RiskSettings())
    short = PositionView(
        id=PositionId("p1"), symbol=Symbol("BTC/USDT:USDT"), side=PositionSide.SHORT, quantity=Decimal("0.1"),
        entry_price=Decimal(50_000), stop_price=Decimal(50_500), stop_live=True, initial_stop_price=Decimal(51_000),
        take_profit_price=None, take_profit_kind=None, take_profit_fraction_pct=50.0, break_even_price=None,
        break_even_done=False, trailing_activation_pct=1.0, trailing_distance_pct=0.8, trailing_active=True,
        best_price=Decimal(49_100), last_price=Decimal(49_400), unrealized_pnl=Decimal(60), unrealized_r=0.6,
        opened_at=AT - timedelta(hours=5, minutes=7), held_s=5 * 3600 + 7 * 60,
    )
    portfolio = book.portfolio.model_copy(update={
        "account": book.portfolio.account.model_copy(update={"market_type": "future", "leverage_in_use": 0.49,
                                                             "max_leverage": 3.0}),
        "positions": (short,),
        "breakers": (BreakerView(name="trading", state="open", detail="open: daily_loss", until=AT + timedelta(hours=12)),),
        "entries_blocked": "trading breaker open (daily_loss) until ...; exits only",
        "controls": ControlsView(halted=True, halt_reason="news", halted_at=AT, sleep_until=None, sleep_reason=None),
    })
    text = render_book(book.model_copy(update={"portfolio": portfolio}))
    assert "leverage in use 0.49x of 3x" in text and "spot: no leverage" not in text
    assert "entries: BLOCKED: trading breaker open" in text and "trading open until 03-02 00:00Z (open: daily_loss)" in text
    assert "operator: HALTED since 03-01 12:00Z (news): exits only" in text
    assert "- p1 BTC/USDT:USDT short 0.1 @ entry 50000, held 5h07m" in text
    assert "unrealized P&L +60.00 = +0.60R" in text and "1R = 1000" in text
    assert "no take-profit set; trailing 0.8% behind the best price once +1% (active, best 49100)" in text
    assert "a price above the stop exits" in text and "POSITIONS: none" not in text


def test_spot_prompt_has_no_leverage_line_and_the_message_quotes_the_book() -> None:
    spot = system_prompt(RiskSettings(), 2000, TradingFacts("spot")).text
    futures = system_prompt(RiskSettings(), 2000, TradingFacts("future", 600, 7200)).text
    assert "leverage at most" not in spot and "long only" in spot
    assert "leverage at most 3.0x" in futures and "clamped to 600..7200" in futures
    request = make_request()
    message = user_message(request.model_copy(update={"book": example_book(request, RiskSettings())}), "note")
    assert "<book>\nACCOUNT (USDT, spot)" in message and "POSITIONS: none (flat)" in message
    assert message.index("<book>") < message.index("<market_data>") < message.index("<memory>")
