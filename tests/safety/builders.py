"""Plain-value builders shared by the safety tests (real types, no mocks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.ids import PositionId, Symbol
from core.money import MarketRules
from core.settings import RiskSettings, RunMode
from core.types import Position, PositionSide, Signal
from exchange.liquidation import MaintenanceBracket, MarginType
from safety.breakers import BreakerBoard
from safety.proposals import EntryProposal
from safety.views import AccountTerms, Limits, Portfolio, Quote

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
SPOT = Symbol("BTC/USDT")
PERP = Symbol("BTC/USDT:USDT")
ETH = Symbol("ETH/USDT")

SPOT_RULES = MarketRules(
    symbol=SPOT,
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.01"),
    step_size=Decimal("0.00001"),
    min_qty=Decimal("0.00001"),
    min_notional=Decimal("5"),
)
PERP_RULES = MarketRules(
    symbol=PERP,
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.1"),
    step_size=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    min_notional=Decimal("100"),
    contract=True,
)
ETH_RULES = MarketRules(
    symbol=ETH,
    base="ETH",
    quote="USDT",
    tick_size=Decimal("0.01"),
    step_size=Decimal("0.0001"),
    min_qty=Decimal("0.0001"),
    min_notional=Decimal("5"),
)


BTC_BRACKETS = (
    MaintenanceBracket(Decimal(0), Decimal(50_000), Decimal("0.004"), Decimal(0), 125),
    MaintenanceBracket(Decimal(50_000), Decimal(600_000), Decimal("0.005"), Decimal(50), 100),
)
"""Binance's first two BTCUSDT brackets (``GET /fapi/v1/leverageBracket``)."""
ISOLATED_20X = AccountTerms(20, MarginType.ISOLATED, BTC_BRACKETS)
CROSS_3X = AccountTerms(3, MarginType.CROSS, BTC_BRACKETS)


def market(
    price: Decimal = Decimal("50000"),
    as_of: datetime = T0,
    eth: Decimal = Decimal("3000"),
    perp_terms: AccountTerms | None = None,
) -> dict[Symbol, Quote]:
    return {
        SPOT: Quote(SPOT_RULES, price, as_of),
        PERP: Quote(PERP_RULES, price, as_of, perp_terms),
        ETH: Quote(ETH_RULES, eth, as_of),
    }


def board(equity: Decimal = Decimal("10000"), **update: Any) -> BreakerBoard:
    fresh = BreakerBoard.fresh(equity, T0).model_copy(update={"reconciled_at": T0 - timedelta(minutes=5)})
    return fresh.model_copy(update=update) if update else fresh


def limits(mode: RunMode = RunMode.PAPER, **risk: Any) -> Limits:
    return Limits(RiskSettings(**risk), mode)


def entry(**kw: Any) -> EntryProposal:
    base: dict[str, Any] = {
        "symbol": SPOT,
        "side": "long",
        "size_pct": 10.0,
        "stop_loss": Decimal("49000"),
        "signals": (Signal.TREND_FOLLOW,),
        "idempotency_key": "call-1",
    }
    base.update(kw)
    return EntryProposal.model_validate(base)


def position(
    symbol: Symbol = SPOT,
    side: PositionSide = PositionSide.LONG,
    quantity: Decimal = Decimal("0.02"),
    entry_price: Decimal = Decimal("50000"),
    stop: Decimal = Decimal("49000"),
    pid: str = "p0000000001",
    **kw: Any,
) -> Position:
    return Position(
        id=PositionId(pid),
        symbol=symbol,
        side=side,
        quantity=quantity,
        entry_price=entry_price,
        opened_at=T0,
        stop_price=stop,
        initial_stop_price=stop,
        **kw,
    )


def portfolio(*positions: Position, equity: Decimal = Decimal("10000"), **kw: Any) -> Portfolio:
    return Portfolio(equity=equity, positions=positions, **kw)
