"""What every ``tools.context.TradingDesk`` must do: reads are typed models with a JSON form, ``check`` and
``check_schedule`` have no side effects, only ``execute`` acts, refusals carry safety's and the gate's
reasons. Run against the engine's desk over the simulated exchange (the one desk there is: live, backtest
and ``tradewake decide`` all use it); a desk whose ``check`` acts is shown to fail it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from core.ids import Symbol
from core.types import PositionSide, Signal, Veto
from safety.proposals import AdjustStopProposal, CloseProposal, EntryProposal, Proposal
from safety.verdicts import Approved
from tests.engine_desk import RecordingDesk, engine_desk
from tools.context import TradingDesk

SYMBOL = Symbol("BTC/USDT")


@dataclass
class ActingCheckDesk(RecordingDesk):
    """Deliberately broken: its ``check`` carries out what it approves."""

    async def check(self, proposal: Proposal) -> Approved | Veto:
        verdict = await super().check(proposal)
        if isinstance(verdict, Approved):
            await self.inner.execute(verdict)
        return verdict


async def _engine(path: Path) -> RecordingDesk:
    return await engine_desk(path)


async def _acting(path: Path) -> RecordingDesk:
    real = await engine_desk(path)
    return ActingCheckDesk(real.inner, real.engine, real.venue, real.store)


DESKS: dict[str, Callable[[Path], Awaitable[RecordingDesk]]] = {"engine": _engine}


def entry(stop: str = "49000", key: str = "contract-1") -> EntryProposal:
    return EntryProposal(symbol=SYMBOL, side=PositionSide.LONG, size_pct=10, stop_loss=Decimal(stop),
                         signals=(Signal.TREND_FOLLOW,), idempotency_key=key)


@pytest.fixture(params=sorted(DESKS))
async def desk(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TradingDesk]:
    made = await DESKS[request.param](tmp_path / "desk.sqlite3")
    yield made
    made.close()


async def test_reads_are_typed_and_json(desk: TradingDesk) -> None:
    snapshot = await desk.snapshot(SYMBOL)
    assert snapshot.symbol == SYMBOL
    regime = await desk.regime(SYMBOL)
    assert regime is None or regime.symbol == SYMBOL
    for value in (snapshot, regime, await desk.portfolio(), await desk.learner_weights(None)):
        json.dumps(value.model_dump(mode="json") if value is not None else None)


async def test_check_has_no_side_effects_and_execute_acts(desk: TradingDesk) -> None:
    assert await check_has_no_side_effects_and_execute_acts(desk)


async def check_has_no_side_effects_and_execute_acts(desk: TradingDesk) -> bool:
    before = await desk.portfolio()
    verdict = await desk.check(entry())
    assert isinstance(verdict, Approved)
    if await desk.portfolio() != before:
        return False
    assert verdict.position_id is not None and verdict.quantity is not None and verdict.stop_price == 49_000
    report = await desk.execute(verdict)
    assert report.status in ("filled", "working") and report.symbol == SYMBOL
    after = await desk.portfolio()
    assert [p.symbol for p in after.positions] == [SYMBOL]
    again = await desk.check(entry(key="contract-2"))
    assert isinstance(again, Veto) and again.code == "position_exists"
    return True


async def test_a_desk_whose_check_acts_fails_the_contract(tmp_path: Path) -> None:
    broken = await _acting(tmp_path / "broken.sqlite3")
    try:
        assert not await check_has_no_side_effects_and_execute_acts(broken)
    finally:
        broken.close()


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


def test_check_schedule_returns_the_gates_problems_or_what_it_would_apply(desk: TradingDesk) -> None:
    accepted = desk.check_schedule(3600, [{"kind": "price_below", "price": 48_000}])
    assert accepted.problems == () and accepted.applied_seconds == 3600 and accepted.notes == ()
    problems = desk.check_schedule(3600, [{"kind": "price_above", "price": 45_000}, {"kind": "volume_z_above"}])
    assert len(problems.problems) == 1 and problems.problems[0].startswith("wake_conditions[1].z: Field required")
    crossed = desk.check_schedule(3600, [{"kind": "price_above", "price": 45_000}])
    assert crossed.problems and "already true now" in crossed.problems[0]
    clamped = desk.check_schedule(60, [])
    assert clamped.applied_seconds == 900 and clamped.notes == ("next check 60 s raised to the minimum 900 s",)
