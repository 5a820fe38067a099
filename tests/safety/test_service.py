"""The safety service as the engine and the desk see it: one object that marks prices, judges, acts, and
builds the agent's typed view of the book (on the real simulated exchange and a real SQLite store)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from core.ids import Symbol
from core.ports import OperatorCommand
from core.settings import RiskSettings
from core.types import PositionSide, Signal
from safety.proposals import EntryOrderType, EntryProposal
from safety.verdicts import Approved
from tests.safety.simworld import World

BTC, ETH = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World.create(tmp_path / "v.sqlite3", market_type="future", symbols=2, risk=RiskSettings())
    yield w
    w.store.close()


async def approve(world: World, proposal: EntryProposal) -> Approved:
    verdict = world.ex.check(proposal, world.now)
    assert isinstance(verdict, Approved), verdict
    return verdict


async def test_the_portfolio_view_is_the_book_marked_at_the_latest_prices(world: World) -> None:
    assert (await world.reconcile()).ok
    long_btc = EntryProposal(symbol=BTC, side=PositionSide.LONG, size_pct=10, stop_loss=Decimal(49_000),
                             take_profit=Decimal(53_000), signals=(Signal.MOMENTUM,), idempotency_key="k1")
    opened = await world.ex.execute(await approve(world, long_btc), world.now)
    eth_entry = EntryProposal(symbol=ETH, side=PositionSide.SHORT, size_pct=5, order_type=EntryOrderType.LIMIT,
                              limit_price=Decimal(3050), stop_loss=Decimal(3150), signals=(Signal.BREAKOUT,),
                              idempotency_key="k2")
    await world.ex.execute(await approve(world, eth_entry), world.now)
    world.move(BTC, Decimal(51_000))
    world.store.submit_command(OperatorCommand(idempotency_key="h1", kind="halt", args={"reason": "news"},
                                               submitted_at=world.now))
    await world.step()

    view = world.ex.portfolio_view()
    [position] = view.positions
    assert position.id == opened.position_id and position.symbol == BTC and position.side is PositionSide.LONG
    assert position.stop_price == Decimal(49_000) and position.take_profit_price == Decimal(53_000)
    assert position.unrealized_pnl == (Decimal(51_000) - position.entry_price) * position.quantity > 0
    assert position.opened_at <= world.now
    [pending] = view.pending_entries
    assert pending.symbol == ETH and pending.side is PositionSide.SHORT and pending.notional > 0
    assert view.exposure == position.quantity * Decimal(51_000) + pending.notional
    assert view.exposure_pct == pytest.approx(float(view.exposure / view.equity * 100))
    assert view.controls.halted and view.controls.halt_reason == "news"
    assert view.market_type == "future"
    body = view.model_dump(mode="json")
    assert body["positions"][0]["stop_price"] == "49000" and body["equity"] == "10000", "money as plain decimals"


async def test_the_engine_tells_the_service_and_it_alerts(world: World) -> None:
    from core.types import Alert

    await world.ex.alert(Alert(severity="warning", kind="feed_stale", message="no data for 5 min", at=world.now))
    assert [a.message for a in world.notifier.alerts] == ["no data for 5 min"]
    assert world.ex.agent_blocked(world.now) is None
