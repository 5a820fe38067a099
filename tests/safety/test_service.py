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
    await world.ex.refresh_equity(world.now)

    view = world.ex.portfolio_view(world.now)
    [position] = view.positions
    assert position.id == opened.position_id and position.symbol == BTC and position.side is PositionSide.LONG
    assert position.stop_price == Decimal(49_000) and position.take_profit_price == Decimal(53_000)
    pnl = (Decimal(51_000) - position.entry_price) * position.quantity
    assert position.unrealized_pnl == pnl > 0 and position.last_price == Decimal(51_000)
    risk = (position.entry_price - position.initial_stop_price) * position.quantity
    assert position.unrealized_r == pytest.approx(float(pnl / risk), abs=1e-4)
    assert position.stop_live and position.take_profit_kind == "order", "futures: stop and take-profit orders rest"
    assert position.break_even_price is not None and position.break_even_price > position.entry_price
    assert not position.break_even_done and position.take_profit_fraction_pct == 50.0
    assert position.opened_at <= world.now and position.held_s == int((world.now - position.opened_at).total_seconds())
    [pending] = view.pending_entries
    assert pending.symbol == ETH and pending.side is PositionSide.SHORT and pending.notional > 0
    assert pending.entry_price == Decimal(3050) and pending.stop_price == Decimal(3150)
    account = view.account
    assert account.exposure == position.quantity * Decimal(51_000) + pending.notional
    assert account.exposure_pct == pytest.approx(float(account.exposure / account.equity * 100), abs=1e-3)
    assert account.market_type == "future" and account.leverage_in_use == pytest.approx(account.exposure_pct / 100, abs=1e-4)
    assert account.orders_today == 2 and account.max_orders_per_day == 60 and account.free_cash is not None
    assert view.controls.halted and view.controls.halt_reason == "news"
    assert view.entries_blocked is not None and "halted" in view.entries_blocked
    assert {b.name: b.state for b in view.breakers} == {
        "trading": "closed", "exchange": "closed", "persistence": "closed", "reconciliation": "closed"}
    btc_quote = view.quote(BTC)
    assert btc_quote is not None and btc_quote.taker_fee_pct > 0 and btc_quote.cooldown_remaining_s == 0
    assert [(f.symbol, f.action, f.side.value) for f in view.recent_fills] == [(BTC, "entry", "buy")]
    body = view.model_dump(mode="json")
    assert body["positions"][0]["stop_price"] == "49000" and "E" not in body["account"]["equity"], "plain decimals"


async def test_the_view_shows_exits_cooldown_and_the_day_counters(world: World) -> None:
    assert (await world.reconcile()).ok
    entry = EntryProposal(symbol=BTC, side=PositionSide.LONG, size_pct=10, stop_loss=Decimal(49_000),
                          signals=(Signal.MOMENTUM,), idempotency_key="k1")
    await world.ex.execute(await approve(world, entry), world.now)
    world.move(BTC, Decimal(48_500))  # through the stop: the exchange fills it, the guard finalizes
    await world.step()
    await world.step()
    view = world.ex.portfolio_view(world.now)
    assert view.positions == ()
    assert [f.action for f in view.recent_fills] == ["entry", "stop_loss"]
    assert view.account.trades_today == 1 and view.account.consecutive_losses == 1
    assert view.account.realized_pnl_today < 0 and view.account.daily_loss_used_pct > 0
    btc = view.quote(BTC)
    assert btc is not None and 0 < btc.cooldown_remaining_s <= RiskSettings().cooldown_after_exit_s


async def test_the_engine_tells_the_service_and_it_alerts(world: World) -> None:
    from core.types import Alert

    await world.ex.alert(Alert(severity="warning", kind="feed_stale", message="no data for 5 min", at=world.now))
    assert [a.message for a in world.notifier.alerts] == ["no data for 5 min"]
    assert world.ex.agent_blocked(world.now) is None
