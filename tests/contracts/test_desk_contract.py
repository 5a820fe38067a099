"""What every ``tools.context.TradingDesk`` must do (the static desk now; the engine's desk joins the
``DESKS`` list when it lands): reads are JSON, ``check`` and ``check_schedule`` have no side effects,
only ``execute`` acts, refusals carry safety's and the gate's reasons."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest

from core.ids import Symbol
from core.types import PositionSide, Signal, Veto
from engine.static_gate import gate_schedule_check
from safety.proposals import AdjustStopProposal, CloseProposal, EntryProposal
from safety.verdicts import Approved
from tests.tools.helpers import make_snapshot
from tools.context import TradingDesk
from tools.static_desk import StaticDesk

SYMBOL = Symbol("BTC/USDT")
DESKS: dict[str, Callable[[], TradingDesk]] = {
    "static": lambda: StaticDesk(snapshots={SYMBOL: make_snapshot()}, schedule_check=gate_schedule_check),
}


def entry(stop: str = "49000", key: str = "contract-1") -> EntryProposal:
    return EntryProposal(symbol=SYMBOL, side=PositionSide.LONG, size_pct=10, stop_loss=Decimal(stop),
                         signals=(Signal.TREND_FOLLOW,), idempotency_key=key)


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
    assert verdict.position_id is not None and verdict.quantity is not None and verdict.stop_price == 49_000
    report = await desk.execute(verdict)
    assert report.status in ("filled", "open") and report.symbol == SYMBOL
    after = await desk.portfolio()
    assert [p["symbol"] for p in after["positions"]] == [SYMBOL]
    again = await desk.check(entry(key="contract-2"))
    assert isinstance(again, Veto) and again.code == "position_exists"


async def test_refusals_are_vetoes_with_safetys_codes(desk: TradingDesk) -> None:
    wrong_side = await desk.check(entry(stop="50500"))
    assert isinstance(wrong_side, Veto) and wrong_side.code == "stop_wrong_side" and wrong_side.message
    too_tight = await desk.check(entry(stop="49999"))
    assert isinstance(too_tight, Veto) and too_tight.code == "stop_too_close"
    no_position = await desk.check(CloseProposal(symbol=SYMBOL, fraction=1))
    assert isinstance(no_position, Veto) and no_position.code == "no_position"


async def test_stops_only_tighten(desk: TradingDesk) -> None:
    opened = await desk.check(entry())
    assert isinstance(opened, Approved)
    await desk.execute(opened)
    looser = await desk.check(AdjustStopProposal(symbol=SYMBOL, new_stop=Decimal(48_000)))
    assert isinstance(looser, Veto) and looser.code == "stop_loosening"
    tighter = await desk.check(AdjustStopProposal(symbol=SYMBOL, new_stop=Decimal(49_500)))
    assert isinstance(tighter, Approved) and tighter.stop_price == 49_500


def test_check_schedule_returns_the_gates_problems(desk: TradingDesk) -> None:
    assert desk.check_schedule(3600, [{"kind": "price_below", "price": 48_000}]) == []
    problems = desk.check_schedule(3600, [{"kind": "price_above", "price": 45_000}, {"kind": "volume_z_above"}])
    assert len(problems) == 1 and problems[0].startswith("wake_conditions[1].z: Field required")
    crossed = desk.check_schedule(3600, [{"kind": "price_above", "price": 45_000}])
    assert crossed and "already true now" in crossed[0]
