"""What every ``tools.context.TradingDesk`` must do (the static desk now; the engine's desk joins the
``DESKS`` list when it lands): reads are JSON, ``check`` has no side effects, only ``execute`` acts."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from core.ids import Symbol
from core.types import OrderType, PositionSide, Signal, Veto
from tests.tools.helpers import make_snapshot
from tools.context import TradingDesk
from tools.proposals import Approved, CloseProposal, EntryProposal
from tools.static_desk import StaticDesk

SYMBOL = Symbol("BTC/USDT")
DESKS: dict[str, Callable[[], TradingDesk]] = {
    "static": lambda: StaticDesk(snapshots={SYMBOL: make_snapshot()}),
}


def entry(stop: str = "49000") -> EntryProposal:
    from decimal import Decimal

    return EntryProposal(symbol=SYMBOL, side=PositionSide.LONG, size_pct=10, order_type=OrderType.MARKET,
                         stop_loss_price=Decimal(stop), signals=(Signal.TREND_FOLLOW,), confidence=0.5,
                         thesis="contract")


@pytest.fixture(params=sorted(DESKS))
def desk(request: pytest.FixtureRequest) -> TradingDesk:
    return DESKS[request.param]()


async def test_reads_are_json(desk: TradingDesk) -> None:
    for value in (await desk.snapshot(SYMBOL), await desk.regime(SYMBOL), await desk.portfolio(),
                  await desk.learner_weights(None)):
        json.dumps(value)


async def test_check_has_no_side_effects_and_execute_acts(desk: TradingDesk) -> None:
    before = await desk.portfolio()
    verdict = await desk.check(entry())
    assert isinstance(verdict, Approved)
    assert await desk.portfolio() == before
    report = await desk.execute(verdict)
    assert report.status in ("filled", "open") and report.symbol == SYMBOL
    after = await desk.portfolio()
    assert [p["symbol"] for p in after["positions"]] == [SYMBOL]


async def test_refusals_are_vetoes_with_a_code(desk: TradingDesk) -> None:
    too_tight = await desk.check(entry(stop="49999"))
    assert isinstance(too_tight, Veto) and too_tight.code and too_tight.message
    no_position = await desk.check(CloseProposal(symbol=SYMBOL, fraction=1, reason="contract"))
    assert isinstance(no_position, Veto)
